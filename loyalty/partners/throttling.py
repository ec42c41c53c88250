"""Rate limits per partner API key, counted in Django's cache (Redis in production)."""

import math

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .models import PartnerAPIKey


class PartnerKeyRateThrottle(SimpleRateThrottle):
    """At most ``settings.API_RATE_LIMIT`` requests (e.g. ``"1200/min"``) per API key.

    Over the limit a key gets 429 ``throttled`` with ``Retry-After``. Requests without a
    valid key never get this far: authentication answers them with 401 first. Every answer
    to a counted request carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and
    ``RateLimit-Reset`` (seconds until the oldest counted request leaves the window).
    """

    scope = "partner_key"

    def get_rate(self) -> str | None:
        return settings.API_RATE_LIMIT or None

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, PartnerAPIKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

    def allow_request(self, request, view) -> bool:
        allowed = super().allow_request(request, view)
        if getattr(self, "history", None) is not None and hasattr(view, "headers"):
            reset = self.history[-1] - self.now + self.duration if self.history else self.duration
            view.headers.update(
                {
                    "RateLimit-Limit": str(self.num_requests),
                    "RateLimit-Remaining": str(max(self.num_requests - len(self.history), 0)),
                    "RateLimit-Reset": str(max(math.ceil(reset), 0)),
                }
            )
        return allowed
