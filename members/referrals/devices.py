"""The portal's device cookie: a long-lived random value, signed, that tells one browser from another.

It is set by the sign-up, referral-link and log-in pages (HttpOnly, SameSite=Lax, Secure
when the session cookie is) and recorded hashed against the member at sign-up and log-in
(``services.member_device_record``), so that a friend "joining" from the referrer's own
browser is caught as a self-referral. It proves nothing about a person: clearing cookies
gets a new one; it is one guard of several.
"""

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps

from django.conf import settings

DEVICE_COOKIE = "loyalty_device"
DEVICE_COOKIE_AGE = 5 * 365 * 24 * 3600
_SALT = "members.referrals.device"


def device_hash(request) -> str:
    """The hash of the request's device cookie (see ``with_device_cookie``); blank without one."""
    value = getattr(request, "device_id", "") or request.get_signed_cookie(DEVICE_COOKIE, default="", salt=_SALT)
    return hashlib.sha256(value.encode()).hexdigest() if value else ""


def with_device_cookie(view: Callable) -> Callable:
    """Give the browser a device cookie if it has none (or a forged one), on whatever the view answers."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.device_id = request.get_signed_cookie(DEVICE_COOKIE, default="", salt=_SALT)
        new = not request.device_id
        if new:
            request.device_id = secrets.token_urlsafe(32)
        response = view(request, *args, **kwargs)
        if new:
            response.set_signed_cookie(
                DEVICE_COOKIE,
                request.device_id,
                salt=_SALT,
                max_age=DEVICE_COOKIE_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    return wrapper
