"""Partners: the organisations that call the API, their API keys, and their idempotent responses.

An API key is shown once when it is created and stored hashed (djangorestframework-api-key);
its prefix stays visible so staff can tell keys apart, and revoking it cannot be undone.
A key carries ``scopes`` (see ``SCOPES``) that the API's views require.

An **IdempotentResponse** is the first successful answer to a POST that carried an
``Idempotency-Key``: it is written in the same transaction as the POST's effect, so a
repeat either finds it (and gets the same status and body) or the effect never happened.
Stored responses are kept ``IDEMPOTENCY_KEY_RETENTION_DAYS`` and then purged by a daily task.

A **PartnerAPIKeyEvent** records a key's creation and its revocation: who (a staff user, or
nobody for a command), when, the key's name and scopes. It names the key by its prefix,
never by its primary key, which holds the hash: configuration history cannot record keys.

A **PresenceCode** is a member's proof of being at a partner's till: the portal shows a
short-lived one-time code (and its QR) that a partner passes with a debit of a member it
did not enrol. Only its keyed hash is stored; it is bound to one member, expires after
``PRESENCE_CODE_TTL_MINUTES``, is used once, and ``PRESENCE_CODE_MAX_ATTEMPTS`` wrong
codes lock it. It lives here, beside the partners that consume it, rather than in
``members``: only partner doors (adjustments today; redemptions and pay with points at
tills later) read it.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from loyalty.history import config_history
from loyalty.models import TimeStampedModel

SCOPES = {
    "members:read": _("Read members and their point history"),
    "members:write": _("Enrol members"),
    "points:adjust": _("Adjust members' points"),
    "transactions:read": _("Read the partner's own purchases and returns"),
    "transactions:write": _("Post purchases and returns"),
    "events:write": _("Post members' events and approve or decline them"),
    "rewards:read": _("Read the rewards catalog"),
    "rewards:redeem": _("Redeem rewards and hold points for a member who is present"),
    "vouchers:use": _("Validate and use vouchers that members show"),
    "webhooks:manage": _("Register, read and delete the partner's webhook endpoints"),
}


def default_scopes() -> list[str]:
    return ["members:read", "members:write"]


class Partner(TimeStampedModel):
    name = models.CharField(max_length=120, unique=True)
    active = models.BooleanField(default=True, help_text=_("An inactive partner's keys are refused."))
    return_window_days = models.PositiveSmallIntegerField(
        default=0, help_text=_("Points of this partner's purchases stay pending this many days (its return window).")
    )

    history = config_history()  # who changed what and when (see the README)

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


class KeyEventAction(models.TextChoices):
    CREATED = "created", _("Created")
    REVOKED = "revoked", _("Revoked")


class PartnerAPIKeyEvent(models.Model):
    """A key created or revoked, by whom: written by ``partner_api_key_create`` and ``partner_api_key_revoke`` only."""

    key = models.ForeignKey(
        PartnerAPIKey,
        to_field="prefix",  # the column holds the prefix, not the primary key (which holds the hash)
        db_column="key_prefix",
        on_delete=models.PROTECT,
        related_name="events",
    )
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="api_key_events")
    action = models.CharField(max_length=16, choices=KeyEventAction.choices)
    name = models.CharField(max_length=50, help_text=_("The key's name at the time."))
    scopes = models.JSONField(default=list, blank=True, help_text=_("The key's scopes at the time."))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "partner API key event"
        verbose_name_plural = "partner API key events"
        indexes = [models.Index(fields=["partner", "-created_at"], name="key_event_by_partner")]

    def __str__(self):
        return f"{self.key_id} {self.action}"


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


class PresenceCode(models.Model):
    """One code a member's portal showed. Written by ``presence_code_issue`` and the check/consume services only."""

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="presence_codes")
    code_hash = models.CharField(max_length=64, help_text=_("Keyed hash (HMAC-SHA256) of the code and the member."))
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["member", "-created_at", "-id"], name="presence_code_latest")]

    def __str__(self):
        return f"{self.member_id} @ {self.created_at:%Y-%m-%d %H:%M}"
