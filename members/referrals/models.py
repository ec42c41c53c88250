"""Referrals: a member brings a friend in with their code, and both are credited once the friend buys.

Design overview
---------------
Every member has one **ReferralCode** (8 characters from an alphabet without look-alikes,
about 6.5 * 10^11 possibilities, drawn by ``secrets``), made at enrolment and, for members
enrolled before referrals existed, on first read. A new member who joins with a code
gets a **Referral** (one at most per referee): its ``status`` moves

    invited → joined → qualified → credited
    joined|invited → flagged → approved → (qualified →) credited
    flagged|joined|approved → declined

``invited``: the referrer sent the friend an invitation by e-mail from the portal (the
row keeps the friend's normalised address); it becomes ``joined`` when that friend signs up
with the code. A self-referral (same normalised e-mail, phone or device cookie) is
``declined`` at once with its reasons; a suspicious one (too many sign-ups from one client
address in a day, a referrer whose referees never buy) is ``flagged`` and waits for staff.
The friend's first purchase of at least the policy's minimum (``ReferralPolicy``) makes it
``qualified`` and, unless flagged, ``credited`` in the same transaction: two ``bonus``
entries whose cause is the referral (``referrer_entry``, ``referee_entry``). What was not
paid, and why (the referrer's monthly cap, a suspended or closed member), is in
``unpaid_reasons``. Every write is in ``services.py``.

A **MemberDevice** is a hash of the portal's device cookie seen at a member's sign-up or
log-in: a sign-up from the referrer's own browser is a self-referral.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models import TimeStampedModel


class ReferralCode(models.Model):
    member = models.OneToOneField("members.Member", on_delete=models.PROTECT, related_name="referral_code")
    code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.code


class ReferralStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    JOINED = "joined", _("Joined")
    FLAGGED = "flagged", _("Flagged for review")
    APPROVED = "approved", _("Approved")
    QUALIFIED = "qualified", _("Qualified")
    CREDITED = "credited", _("Credited")
    DECLINED = "declined", _("Declined")


class Referral(TimeStampedModel):
    referrer = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="referrals_made")
    referee = models.OneToOneField(
        "members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="referral"
    )
    status = models.CharField(max_length=16, choices=ReferralStatus.choices, db_index=True)
    invited_email = models.CharField(
        max_length=255, blank=True, help_text=_("The invited friend's address, normalised (invitations only).")
    )
    joined_at = models.DateTimeField(null=True, blank=True)
    signup_address = models.GenericIPAddressField(
        null=True, blank=True, help_text=_("The client address the friend signed up from (portal).")
    )
    signup_device = models.CharField(max_length=64, blank=True, help_text=_("Hash of the sign-up's device cookie."))
    flag_reasons = models.JSONField(default=list, blank=True, help_text=_("Why it was flagged (codes)."))
    decline_reasons = models.JSONField(default=list, blank=True, help_text=_("Why it was declined (codes)."))
    review_note = models.CharField(max_length=255, blank=True, help_text=_("The reviewer's reason."))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    first_purchase_at = models.DateTimeField(null=True, blank=True, help_text=_("The friend's first purchase."))
    qualified_at = models.DateTimeField(null=True, blank=True)
    purchase_ref = models.CharField(max_length=128, blank=True, help_text=_("The purchase that qualified it."))
    purchase_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    purchase_currency = models.CharField(max_length=3, blank=True)
    credited_at = models.DateTimeField(null=True, blank=True)
    referrer_entry = models.ForeignKey(
        "ledger.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    referee_entry = models.ForeignKey(
        "ledger.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unpaid_reasons = models.JSONField(default=list, blank=True, help_text=_("What was not paid, and why (codes)."))

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("review_referral", "Can approve and decline flagged referrals")]
        constraints = [
            models.CheckConstraint(condition=~Q(referrer=models.F("referee")), name="referral_not_to_oneself"),
            models.CheckConstraint(
                condition=Q(status="invited", referee__isnull=True) | Q(~Q(status="invited"), referee__isnull=False),
                name="referral_referee_unless_invited",
            ),
        ]
        indexes = [
            models.Index(fields=["referrer", "credited_at"], name="referral_referrer_credited"),
            models.Index(fields=["signup_address", "joined_at"], name="referral_address_joined"),
            models.Index(fields=["referrer", "status", "created_at"], name="referral_referrer_status"),
        ]

    def __str__(self):
        return f"Referral {self.pk}: {self.referrer_id} → {self.referee_id or self.invited_email}"


class MemberDevice(models.Model):
    """A device (the portal's signed cookie, hashed) a member signed up or logged in from."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="devices")
    device_hash = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "device_hash"], name="member_device_unique")]
        indexes = [models.Index(fields=["device_hash"], name="member_device_hash")]

    def __str__(self):
        return f"Device {self.device_hash[:8]} of {self.member_id}"


class ReferralPolicy(models.Model):
    """The program's referral rules: one row, id 1, created by a migration, edited by program managers."""

    referrer_points = models.PositiveIntegerField(
        default=500, help_text=_("Points to the member who referred the friend.")
    )
    referee_points = models.PositiveIntegerField(default=250, help_text=_("Points to the friend who joined."))
    min_purchase_amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("20.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("The friend's first purchase of at least this amount (program currency) qualifies."),
    )
    monthly_cap = models.PositiveIntegerField(
        default=10,
        help_text=_("Rewarded referrals per referrer per calendar month; beyond it the referrer earns nothing."),
    )
    signups_per_address_per_day = models.PositiveIntegerField(
        default=3,
        validators=[MinValueValidator(1)],
        help_text=_("Sign-ups with a code from one client address in a day; more are flagged for review."),
    )
    dormant_referees = models.PositiveIntegerField(
        default=3,
        validators=[MinValueValidator(1)],
        help_text=_("A referrer with this many referees who joined long ago and none of whom bought is flagged."),
    )
    dormant_days = models.PositiveIntegerField(
        default=30,
        validators=[MaxValueValidator(3650)],
        help_text=_("How many days ago those referees joined, at least."),
    )
    invitations_per_day = models.PositiveIntegerField(
        default=10, help_text=_("Invitations by e-mail a member may send in a day.")
    )

    class Meta:
        verbose_name = _("referral policy")
        verbose_name_plural = _("referral policy")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="referral_policy_single_row")]

    def __str__(self):
        return str(_("Referral policy"))
