"""The outbox: every change that members or partners must hear of, written in the transaction that makes it.

An **OutboxEvent** is written by the service that makes the change (``services.event_record``),
in the same transaction: a change that rolls back sends nothing, and a change that commits
is never lost, even if the process dies between the commit and the enqueue of its dispatch,
because a periodic sweep dispatches what is left (``dispatched_at`` empty). Dispatching hands
the event to each consumer of ``settings.LOYALTY_OUTBOX_CONSUMERS`` (webhook deliveries to
partners, notifications to members) in one transaction with marking it dispatched, so each
consumer sees each event once. ``id`` is the event id receivers de-duplicate by.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    MEMBER_ENROLLED = "member.enrolled", _("Member enrolled")
    POINTS_EARNED = "points.earned", _("Points earned")
    POINTS_REDEEMED = "points.redeemed", _("Points redeemed")
    POINTS_EXPIRED = "points.expired", _("Points expired")
    TIER_CHANGED = "tier.changed", _("Tier changed")
    VOUCHER_ISSUED = "voucher.issued", _("Voucher issued")
    VOUCHER_USED = "voucher.used", _("Voucher used")
    REFERRAL_CREDITED = "referral.credited", _("Referral credited")
    MISSION_COMPLETED = "mission.completed", _("Mission completed")
    BADGE_EARNED = "badge.earned", _("Badge earned")


class OutboxEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="outbox_events"
    )
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outbox_events",
        help_text=_("The partner that caused the change, if one did."),
    )
    data = models.JSONField(default=dict, help_text=_("What receivers read: plain JSON, no secrets."))
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at"]
        indexes = [
            models.Index(fields=["occurred_at"], condition=Q(dispatched_at__isnull=True), name="outbox_undispatched"),
            models.Index(fields=["member", "type", "occurred_at"], name="outbox_by_member"),
        ]

    def __str__(self):
        return f"{self.type} {self.id}"
