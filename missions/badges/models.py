"""Badges: marks of what a member has done, earned once each and kept with the day it was earned.

A **Badge** is configured by staff (name and how to get it, in English and French). A member
earns it from a mission's prize or from a milestone; **MemberBadge** is the earned badge, at
most one per member and badge (the database's unique constraint makes a race award it once),
with where it came from (``source``) for the member page and the audit. A badge taken back (the
purchase behind a mission's prize returned) is deleted with its reason in the history of the
service that took it back, not kept revoked: the member simply has not earned it.

A badge's picture is one of the vendored SVG icons (``icons.py``). A badge may be a
**milestone** (``milestone``): the first purchase or ``milestone_count`` purchases, a tier
reached (``milestone_tier`` or a higher-ranked one), ``milestone_count`` years as a member.
``milestones.py`` awards them in the transaction of what reaches them, and a daily task for
anniversaries and for members who reached a milestone before its badge existed.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.history import config_history

from .icons import ICON_CHOICES


class Milestone(models.TextChoices):
    NONE = "", _("None (awarded by missions)")
    PURCHASES = "purchases", _("A number of purchases")
    TIER = "tier", _("A tier reached")
    YEARS = "years", _("Years as a member")


class Badge(models.Model):
    code = models.SlugField(max_length=40, unique=True, help_text=_("A stable name for the API and webhooks."))
    name = models.CharField(max_length=80)
    name_fr = models.CharField(max_length=80, blank=True, help_text=_("The name in French; the English one if empty."))
    description = models.TextField(blank=True, help_text=_("How to earn it, as members read it."))
    description_fr = models.TextField(blank=True)
    icon = models.CharField(max_length=20, choices=ICON_CHOICES, default="star")
    active = models.BooleanField(default=True, help_text=_("An inactive badge is not awarded nor shown to earn."))
    milestone = models.CharField(max_length=16, choices=Milestone.choices, default=Milestone.NONE, blank=True)
    milestone_count = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100000)],
        help_text=_("Purchases (1: the first one) or years as a member, for those milestones."),
    )
    milestone_tier = models.ForeignKey(
        "tiers.Tier",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For a tier milestone: reaching this tier or a higher one."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = config_history()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(milestone="", milestone_count=None, milestone_tier=None)
                | Q(milestone__in=["purchases", "years"], milestone_count__gte=1, milestone_tier=None)
                | Q(milestone="tier", milestone_count=None, milestone_tier__isnull=False),
                name="badge_milestone_complete",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.milestone in (Milestone.PURCHASES, Milestone.YEARS) and not self.milestone_count:
            raise ValidationError({"milestone_count": _("Say how many purchases or years earn it.")})
        if self.milestone == Milestone.TIER and self.milestone_tier_id is None:
            raise ValidationError({"milestone_tier": _("Choose the tier that earns it.")})
        if self.milestone != Milestone.TIER:
            self.milestone_tier = None
        if self.milestone not in (Milestone.PURCHASES, Milestone.YEARS):
            self.milestone_count = None

    @property
    def localized_name(self) -> str:
        from django.utils.translation import get_language

        return self.name_fr if self.name_fr and (get_language() or "").startswith("fr") else self.name

    @property
    def localized_description(self) -> str:
        from django.utils.translation import get_language

        french = (get_language() or "").startswith("fr")
        return self.description_fr if self.description_fr and french else self.description


class MemberBadge(models.Model):
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="badges")
    badge = models.ForeignKey(Badge, on_delete=models.PROTECT, related_name="awards")
    earned_at = models.DateTimeField()
    source = models.CharField(
        max_length=80, help_text=_("What awarded it: mission:<id>, milestone:<code> or staff:<user id>.")
    )

    class Meta:
        ordering = ["-earned_at"]
        constraints = [models.UniqueConstraint(fields=["member", "badge"], name="badge_once_per_member")]

    def __str__(self):
        return f"{self.badge} for {self.member_id}"
