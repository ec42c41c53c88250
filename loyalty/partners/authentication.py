"""Partner authentication for the API: ``Authorization: Bearer <key>`` and per-key scopes."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from .models import PartnerAPIKey

LAST_USED_RESOLUTION = timedelta(minutes=1)


class PartnerKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates ``request.user`` as the key's ``Partner``, ``request.auth`` as the key.

    No ``Authorization`` header: anonymous (the permission then answers 401). A wrong,
    revoked or expired key, or a key of an inactive partner: 401. ``last_used_at`` is
    written at most once a minute per key, so reads rarely write.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Bearer <key>'.")
        try:
            key = header[1].decode()
            api_key = PartnerAPIKey.objects.get_from_key(key)
        except (UnicodeDecodeError, PartnerAPIKey.DoesNotExist):
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.") from None
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            PartnerAPIKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return api_key.partner, api_key

    def authenticate_header(self, request):
        return self.keyword


class HasScope(permissions.BasePermission):
    """The request is made with a partner key that holds the view's ``required_scopes[method]``.

    Fails closed: a method the view answers but does not map to a scope (``HEAD``, ``OPTIONS``
    included: map ``HEAD`` to the ``GET`` scope to offer it) is refused with 403, and so is
    every method of a view without ``required_scopes``. Only a method the view has no handler
    for passes, to be answered 405 without touching any data.
    """

    message = "This API key does not have the scope this operation needs."

    def has_permission(self, request, view):
        if not isinstance(request.auth, PartnerAPIKey):
            raise exceptions.NotAuthenticated()
        method = request.method.lower()
        if method not in view.http_method_names or not hasattr(view, method):
            return True  # the view answers 405
        scope = getattr(view, "required_scopes", {}).get(request.method)
        return scope is not None and request.auth.has_scope(scope)


class PartnerKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = PartnerKeyAuthentication
    name = "PartnerKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A partner API key, `Authorization: Bearer <prefix>.<secret>`: the program's staff "
            "create it (admin or `manage.py partner_create`) and hand it over once.",
        }
