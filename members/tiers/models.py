"""Tiers: levels of membership that reward loyalty, and say why a member holds one.

Design overview
---------------
Staff define **Tier** rows (rank, threshold, colour, benefits in English and French, an
earning multiplier) and one **TierPolicy** (the qualification basis, the rolling window,
the grace period). What a member did that counts towards tiers is kept per member and per
program day in **QualifyingDay**, written by the ledger's services in the transaction of
the entry that earned it (earned and bonus points, adjustments marked as qualifying; the
earning engine adds purchase spend the same way). A reversal lowers the day the original
points were earned, not the day of the reversal, so a return moves the window it belongs
to. Recalculation sums this table set-based; nothing reads the ledger's entries for tiers.

A member's current tier is its **MemberTier** row (none: no tier): the tier, the last
program day the member was found to qualify for it (``qualified_on``, where the grace
period starts), and for a tier set by hand, the day it holds until and why. Every change
is a **TierChange** row: from, to, when, why (a code rendered in the reader's language,
with the staff member's note for a tier set by hand).

The rules, in ``rules.py``: a member qualifies for the highest-ranked tier whose threshold
its basis reaches. Upgrades take effect at once; downgrades only at recalculation, once
``grace_months`` have passed since ``qualified_on``, and never below the tier the member
still qualifies for. A tier set by hand holds until its end day whatever the member
qualifies for (an upgrade the member earns still takes effect at once).
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.history import config_history


class QualificationBasis(models.TextChoices):
    ROLLING_POINTS = "rolling_points", _("Points earned in a rolling window")
    LIFETIME_POINTS = "lifetime_points", _("Points earned since joining")
    ROLLING_SPEND = "rolling_spend", _("Spend in a rolling window")


class TierPolicy(models.Model):
    """The program's one tier policy (a single row, id 1)."""

    basis = models.CharField(
        max_length=20, choices=QualificationBasis.choices, default=QualificationBasis.ROLLING_POINTS
    )
    window_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("Length of the rolling window, in months (ignored for lifetime points)."),
    )
    grace_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MaxValueValidator(120)],
        help_text=_("A member keeps a tier this many months after the last day they qualified for it."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = config_history()  # who changed what and when (see the README)

    class Meta:
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policy")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="tier_policy_single_row")]

    def __str__(self):
        return str(_("Tier policy"))


class Tier(models.Model):
    name = models.CharField(max_length=64, unique=True)
    name_fr = models.CharField(max_length=64, blank=True, help_text=_("The name in French; the English one if empty."))
    rank = models.PositiveSmallIntegerField(unique=True, help_text=_("Higher ranks are better tiers."))
    threshold = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_("What the basis must reach: points, or money in the program's currency for spend."),
    )
    colour = models.CharField(
        max_length=7,
        default="#6b7280",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour is # and six hexadecimal digits."))],
    )
    benefits_en = models.TextField(blank=True)
    benefits_fr = models.TextField(blank=True)
    earning_multiplier = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(0)],
        help_text=_("Purchases earn this many times the base points (the earning engine applies it)."),
    )

    history = config_history()  # who changed what and when (see the README)

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0), name="tier_threshold_not_negative"),
            models.CheckConstraint(condition=Q(earning_multiplier__gte=0), name="tier_multiplier_not_negative"),
        ]

    def __str__(self):
        return self.name


class QualifyingDay(models.Model):
    """What counts towards tiers, per member and per program day it was earned."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="qualifying_days")
    day = models.DateField()
    points = models.BigIntegerField(default=0)
    spend_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "day"], name="qualifying_day_unique"),
            models.CheckConstraint(condition=Q(points__gte=0), name="qualifying_points_not_negative"),
            models.CheckConstraint(condition=Q(spend_amount__gte=0), name="qualifying_spend_not_negative"),
        ]

    def __str__(self):
        return f"{self.member_id} {self.day}: {self.points}"


class MemberTier(models.Model):
    """A member's current tier. A member without a row (or with ``tier`` empty) holds no tier."""

    member = models.OneToOneField(
        "members.Member", primary_key=True, on_delete=models.PROTECT, related_name="tier_state"
    )
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="member_tiers")
    qualified_on = models.DateField(
        null=True, blank=True, help_text=_("The last program day the member qualified for this tier.")
    )
    manual_until = models.DateField(
        null=True, blank=True, help_text=_("A tier set by hand holds until the end of this day.")
    )
    manual_reason = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["tier"], name="member_tier_by_tier")]
        permissions = [("set_tier", "Can set a member's tier by hand")]

    def __str__(self):
        return f"{self.member_id}: {self.tier_id}"


class TierChangeReason(models.TextChoices):
    QUALIFIED = "qualified", _("Reached the threshold")
    RECALCULATED = "recalculated", _("Recalculated")
    GRACE_ENDED = "grace_ended", _("Grace period ended")
    MANUAL = "manual", _("Set by staff")
    MANUAL_ENDED = "manual_ended", _("Tier set by staff ended")
    MERGED = "merged", _("Members merged")


class TierChange(models.Model):
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="tier_changes")
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=16, choices=TierChangeReason.choices)
    note = models.CharField(
        max_length=255, blank=True, help_text=_("The staff member's reason, for a tier set by hand.")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["member", "-created_at"], name="tier_change_history"),
            models.Index(fields=["created_at"], name="tier_change_created"),  # the dashboard's movements
        ]

    def __str__(self):
        return f"{self.member_id}: {self.from_tier_id} → {self.to_tier_id}"
