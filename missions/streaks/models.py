"""Streaks: how many days (or weeks) in a row a member was active, and the member's count of purchases.

The **StreakPolicy** (one row, id 1, like the tier policy) sets the unit, days or ISO weeks of
the program's calendar, and the grace: how many missed periods in a row a streak survives
(they do not count in its length). ``missions/runs.py`` is the one rule.

**MemberActivity** is one row per member, written in the transaction of each purchase and
accepted event (``services.activity_record``, under the member's account lock): the current
and longest streak, the last active period (an index of ``runs.period_of`` in ``streak_unit``),
and the number of purchases the member made (the purchase milestones read it; a return does
not lower it). The current streak is shown only while ``runs.is_alive``. Changing the unit
starts every streak again at the member's next activity.
"""

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.history import config_history
from missions import runs


class StreakUnit(models.TextChoices):
    DAY = runs.DAY, _("Days")
    WEEK = runs.WEEK, _("Weeks")


class StreakPolicy(models.Model):
    """The program's one streak policy (a single row, id 1)."""

    unit = models.CharField(max_length=8, choices=StreakUnit.choices, default=StreakUnit.DAY)
    grace = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(7)],
        help_text=_("Missed days (or weeks) in a row a streak survives: 0 for none, 1 for a grace day."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = config_history()

    class Meta:
        verbose_name = _("streak policy")
        verbose_name_plural = _("streak policy")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="streak_policy_single_row"),
            models.CheckConstraint(condition=Q(grace__lte=7), name="streak_grace_at_most_7"),
        ]

    def __str__(self):
        return str(_("Streak policy"))


class MemberActivity(models.Model):
    member = models.OneToOneField(
        "members.Member", primary_key=True, on_delete=models.PROTECT, related_name="activity"
    )
    purchases = models.PositiveIntegerField(default=0, help_text=_("Purchases the member made (returns included)."))
    streak_unit = models.CharField(max_length=8, choices=StreakUnit.choices, default=StreakUnit.DAY)
    streak_current = models.PositiveIntegerField(default=0)
    streak_longest = models.PositiveIntegerField(default=0)
    streak_last = models.IntegerField(null=True, blank=True, help_text=_("The last active period (its index)."))
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = _("member activity")
        constraints = [
            models.CheckConstraint(
                condition=Q(streak_current__lte=models.F("streak_longest")), name="streak_current_le_longest"
            ),
        ]

    def __str__(self):
        return f"{self.member_id}: {self.streak_current}/{self.streak_longest}"
