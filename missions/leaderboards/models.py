"""Leaderboards: members who opt in, ranked over a period by a metric, under a nickname they choose.

A **Leaderboard** is configured by staff: a name (English and French), its period (program
days ``starts_on`` to ``ends_on``; ``starts_at``/``ends_at`` are the same bounds as moments,
written by the service), a metric (``metrics.py``: points earned, purchases, or a mission's
completions, with its ``mission``; a metric is one SQL expression per participant), and a tier
(only members holding that tier are ranked; empty: everyone).

A **LeaderboardEntry** is a member taking part, under a ``nickname`` unique in the leaderboard
(case-insensitive); leaving deletes it, and the member is no longer ranked anywhere. A
nickname reset by staff (``leaderboard_nickname_reset``) is empty: shown as *Player <id>*
until the member chooses another.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from loyalty.history import config_history


class Metric(models.TextChoices):
    POINTS_EARNED = "points_earned", _("Points earned")
    PURCHASES = "purchases", _("Purchases")
    MISSION_COMPLETIONS = "mission_completions", _("A mission's completions")


class Leaderboard(models.Model):
    name = models.CharField(max_length=80)
    name_fr = models.CharField(max_length=80, blank=True, help_text=_("The name in French; the English one if empty."))
    description = models.TextField(blank=True)
    description_fr = models.TextField(blank=True)
    metric = models.CharField(max_length=20, choices=Metric.choices, default=Metric.POINTS_EARNED)
    mission = models.ForeignKey(
        "missions.Mission",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leaderboards",
        help_text=_("For a mission's completions: the mission (one repeated once a day, week or month ranks best)."),
    )
    tier = models.ForeignKey(
        "tiers.Tier",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Only members holding this tier take part; empty for everyone."),
    )
    starts_on = models.DateField()
    ends_on = models.DateField(help_text=_("The last day counted (program time)."))
    starts_at = models.DateTimeField(editable=False)
    ends_at = models.DateTimeField(editable=False, help_text=_("The moment after the last day."))
    active = models.BooleanField(default=True, help_text=_("An inactive leaderboard is not shown to members."))
    created_at = models.DateTimeField(auto_now_add=True)

    history = config_history()

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="leaderboard_period_ordered"),
            models.CheckConstraint(
                condition=Q(metric="mission_completions", mission__isnull=False)
                | (~Q(metric="mission_completions") & Q(mission__isnull=True)),
                name="leaderboard_mission_with_its_metric",
                violation_error_message=_("Name the mission for a mission's completions, and only then."),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def localized_name(self) -> str:
        return self.name_fr if self.name_fr and (get_language() or "").startswith("fr") else self.name

    @property
    def localized_description(self) -> str:
        french = (get_language() or "").startswith("fr")
        return self.description_fr if self.description_fr and french else self.description


class LeaderboardEntry(models.Model):
    leaderboard = models.ForeignKey(Leaderboard, on_delete=models.CASCADE, related_name="entries")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="leaderboard_entries")
    nickname = models.CharField(max_length=20, blank=True)
    joined_at = models.DateTimeField()
    nickname_reset_at = models.DateTimeField(null=True, blank=True)
    nickname_reset_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name_plural = _("leaderboard entries")
        ordering = ["leaderboard", "nickname"]
        constraints = [
            models.UniqueConstraint(fields=["leaderboard", "member"], name="leaderboard_once_per_member"),
            models.UniqueConstraint(
                Lower("nickname"), "leaderboard", condition=~Q(nickname=""), name="leaderboard_nickname_unique"
            ),
        ]

    def __str__(self):
        return self.nickname or f"#{self.pk}"
