"""Rate limits per partner API key, counted in Django's cache (Redis in production)."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .models import PartnerAPIKey


class PartnerKeyRateThrottle(SimpleRateThrottle):
    """At most ``settings.API_RATE_LIMIT`` requests (e.g. ``"1200/min"``) per API key.

    Over the limit a key gets 429 ``throttled`` with ``Retry-After``. Requests without a
    valid key never get this far: authentication answers them with 401 first.
    """

    scope = "partner_key"

    def get_rate(self) -> str | None:
        return settings.API_RATE_LIMIT or None

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, PartnerAPIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
