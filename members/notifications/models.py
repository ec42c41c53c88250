"""What the program tells its members: in the portal, and by e-mail.

A **Notification** is one message to one member: a ``kind`` and its ``params`` (codes and
numbers, never words: ``kinds.py`` renders them in the reader's language, in the portal's
list and in the e-mail). It comes from an outbox event (``event``: the consumer in
``services.py`` turns events into notifications) or from the weekly expiry reminder.
``(event, kind)`` is unique, so a dispatch can never write two. ``send_email`` says whether
the member gets it by e-mail too (the rule of ``kinds.py``: preferences, consent, status);
``email_sent_at`` is set once it is sent.

A **NotificationPreference** holds the member's choices; a member without one has the
defaults of ``kinds.KINDS``. An **ExpiryReminder** is the one reminder a member gets for
the points of one expiry date: unique per (member, expires_on), so it is never sent twice.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    WELCOME = "welcome", _("Welcome")
    POINTS_EARNED = "points_earned", _("Points earned")
    EXPIRY_REMINDER = "expiry_reminder", _("Points about to expire")
    TIER_UP = "tier_up", _("Tier up")
    TIER_DOWN = "tier_down", _("Tier down")
    VOUCHER_ISSUED = "voucher_issued", _("Voucher issued")
    REFERRAL_CREDITED = "referral_credited", _("Referral credited")
    MISSION_COMPLETED = "mission_completed", _("Challenge completed")
    BADGE_EARNED = "badge_earned", _("Badge earned")


class ExpiryReminder(models.Model):
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="expiry_reminders")
    expires_on = models.DateField(help_text=_("The last day of the points the reminder is about."))
    points = models.BigIntegerField(help_text=_("The points that expired on that day when the reminder was written."))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "expires_on"], name="expiry_reminder_once_per_date"),
        ]

    def __str__(self):
        return f"{self.member_id}: {self.points} on {self.expires_on}"


class Notification(models.Model):
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    params = models.JSONField(default=dict, help_text=_("Numbers and names the text is rendered from."))
    event = models.ForeignKey(
        "outbox.OutboxEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    reminder = models.OneToOneField(
        ExpiryReminder, null=True, blank=True, on_delete=models.PROTECT, related_name="notification"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    send_email = models.BooleanField(default=False, help_text=_("Whether the member gets it by e-mail too."))
    email_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "kind"], name="notification_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["member", "-created_at"], name="notification_by_member"),
            models.Index(fields=["member"], condition=Q(read_at__isnull=True), name="notification_unread"),
            models.Index(
                fields=["created_at"],
                condition=Q(send_email=True, email_sent_at__isnull=True),
                name="notification_email_due",
            ),
        ]

    def __str__(self):
        return f"{self.kind} for {self.member_id}"


class NotificationPreference(models.Model):
    """Which notifications the member wants; the defaults are those of ``kinds.KINDS`` (the fields' defaults)."""

    member = models.OneToOneField(
        "members.Member", primary_key=True, on_delete=models.PROTECT, related_name="notification_preference"
    )
    points_earned = models.BooleanField(default=False)
    expiry_reminder = models.BooleanField(default=True)
    tier_up = models.BooleanField(default=True)
    tier_down = models.BooleanField(default=True)
    voucher_issued = models.BooleanField(default=True)
    referral_credited = models.BooleanField(default=True)
    badge_earned = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Preferences of {self.member_id}"
