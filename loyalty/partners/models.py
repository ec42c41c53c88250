"""Partners: the organisations that call the API, their API keys, and their idempotent responses.

An API key is shown once when it is created and stored hashed (djangorestframework-api-key);
its prefix stays visible so staff can tell keys apart, and revoking it cannot be undone.
A key carries ``scopes`` (see ``SCOPES``) that the API's views require.

An **IdempotentResponse** is the first successful answer to a POST that carried an
``Idempotency-Key``: it is written in the same transaction as the POST's effect, so a
repeat either finds it (and gets the same status and body) or the effect never happened.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from loyalty.models import TimeStampedModel

SCOPES = {
    "members:read": _("Read members and their point history"),
    "members:write": _("Enrol members"),
    "points:adjust": _("Adjust members' points"),
}


def default_scopes() -> list[str]:
    return ["members:read", "members:write"]


class Partner(TimeStampedModel):
    name = models.CharField(max_length=120, unique=True)
    active = models.BooleanField(default=True, help_text=_("An inactive partner's keys are refused."))

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    # Authenticated API requests carry the partner as ``request.user``.
    is_authenticated = True
    is_anonymous = False


class PartnerAPIKeyManager(APIKeyManager):
    def get_usable_keys(self):
        """Keys not revoked, of active partners, with their partner joined."""
        return super().get_usable_keys().filter(partner__active=True).select_related("partner")


class PartnerAPIKey(AbstractAPIKey):
    objects = PartnerAPIKeyManager()

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    scopes = models.JSONField(default=default_scopes, blank=True, help_text=_("E.g. members:read, points:adjust."))
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class IdempotentResponse(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="idempotent_responses")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64, help_text=_("SHA-256 of the method, path and JSON body."))
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "key"], name="idempotent_response_unique_per_partner"),
        ]

    def __str__(self):
        return f"{self.partner_id}:{self.key} → {self.status}"
