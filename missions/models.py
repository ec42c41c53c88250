"""Missions: challenges of one or more steps that pay a prize when a member completes them.

A **Mission** is configured by staff: names (English and French), dates, an audience (tiers and a
segment by join date, read by the campaigns' engine: ``engine.campaign_applies``), its steps in an
order that counts or not (``ordered``: a journey), how often a member may complete it
(``completion_limit``: once, or once per program day, week or month), a total budget in points
and/or completions, and a prize (points, a voucher of a reward, a badge). A **MissionStep** is one
condition over what the member does in the mission's window (``StepKind``).

Progress is written by ``missions.services`` in the transaction of the purchase or event that
makes it, under the member's account lock: a **MissionProgress** per member, mission and
completion period (``period_start``: the program day, the week's Monday, the month's first day,
or ``2000-01-01`` for a mission completed once) holds each step's value and what each purchase
or event added to it (a return takes it back); a **MissionCompletion** is one
completion and its prize, at most one standing per progress row (a partial unique constraint),
and reversed (``reversed_at``) when a return undoes a step.
"""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from loyalty.history import config_history
from loyalty.models import TimeStampedModel

MONEY = {"max_digits": 14, "decimal_places": 2}


class MissionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")


class CompletionLimit(models.TextChoices):
    ONCE = "once", _("Once")
    DAY = "day", _("Once per day")
    WEEK = "week", _("Once per week")
    MONTH = "month", _("Once per month")


class Mission(TimeStampedModel):
    name = models.CharField(max_length=120)
    name_fr = models.CharField(
        max_length=120, blank=True, help_text=_("The name in French; the English one if empty.")
    )
    description = models.TextField(blank=True)
    description_fr = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=MissionStatus.choices, default=MissionStatus.DRAFT)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True, help_text=_("Excluded: the mission ends at this moment."))
    tiers = models.ManyToManyField("tiers.Tier", blank=True, related_name="+", help_text=_("Empty: every member."))
    joined_after = models.DateField(null=True, blank=True, help_text=_("Members who joined on or after this day."))
    joined_before = models.DateField(null=True, blank=True, help_text=_("Members who joined before this day."))
    ordered = models.BooleanField(
        default=False, help_text=_("A journey: each step counts only once the steps before it are done.")
    )
    completion_limit = models.CharField(max_length=8, choices=CompletionLimit.choices, default=CompletionLimit.ONCE)
    budget_points = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=_("Most prize points it pays in all; it stops when they are spent.")
    )
    budget_completions = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Most completions it pays in all; it stops after the last.")
    )
    # What the budget counts, net of returns (a mission without a budget counts nothing here: its completions
    # lock no row, so members completing it at once never wait on each other; the admin counts its completions).
    points_paid = models.BigIntegerField(default=0, editable=False, help_text=_("Prize points the budget paid."))
    completions = models.IntegerField(default=0, editable=False, help_text=_("Completions the budget paid."))
    prize_points = models.PositiveIntegerField(default=0, help_text=_("Points credited at completion."))
    prize_reward = models.ForeignKey(
        "rewards.Reward",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("A voucher of this reward is issued at completion, at no points cost."),
    )
    prize_badge = models.ForeignKey(
        "badges.Badge", null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text=_("A badge.")
    )

    history = config_history()

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(points_paid__gte=0), name="mission_points_paid_not_negative"),
            models.CheckConstraint(condition=Q(completions__gte=0), name="mission_completions_not_negative"),
            models.CheckConstraint(
                condition=Q(budget_points__isnull=True) | Q(points_paid__lte=F("budget_points")),
                name="mission_within_points_budget",
            ),
            models.CheckConstraint(
                condition=Q(budget_completions__isnull=True) | Q(completions__lte=F("budget_completions")),
                name="mission_within_completions_budget",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="mission_ends_after_it_starts",
            ),
        ]

    def __str__(self):
        return self.name


class StepKind(models.TextChoices):
    PURCHASES = "purchases", _("N purchases")
    SPEND = "spend", _("Spend at least an amount")
    CATEGORY = "category", _("A purchase in a category")
    PARTNER = "partner", _("A purchase at a partner")
    EVENTS = "events", _("N events of a type")
    STREAK = "streak", _("A purchase on N consecutive days or weeks")


class StreakUnit(models.TextChoices):
    DAY = "day", _("Days")
    WEEK = "week", _("Weeks")


class MissionStep(models.Model):
    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=16, choices=StepKind.choices)
    count = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("How many purchases, events, or consecutive days or weeks."),
    )
    amount = models.DecimalField(
        **MONEY, default=0, validators=[MinValueValidator(0)], help_text=_("Spend: the least.")
    )
    category = models.CharField(max_length=64, blank=True)
    partner = models.ForeignKey("partners.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    event_type = models.ForeignKey(
        "campaigns.EventType", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    streak_unit = models.CharField(max_length=8, choices=StreakUnit.choices, default=StreakUnit.DAY)

    history = config_history()

    class Meta:
        ordering = ["mission", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(count__gte=1), name="mission_step_count_positive"),
            models.CheckConstraint(
                condition=~Q(kind="category") | ~Q(category=""), name="mission_step_names_category"
            ),
            models.CheckConstraint(
                condition=~Q(kind="partner") | Q(partner__isnull=False), name="mission_step_names_partner"
            ),
            models.CheckConstraint(
                condition=~Q(kind="events") | Q(event_type__isnull=False), name="mission_step_names_event_type"
            ),
        ]

    def __str__(self):
        return f"{self.mission_id}#{self.position} {self.get_kind_display()}"


class MissionProgress(models.Model):
    """A member's progress on a mission in one completion period: ``values`` per step id (a count, an amount
    as a string, or a streak's ``{"current", "longest", "last"}``), and ``records``: what each purchase
    (``p<id>``) or event (``e<id>``) added, per step id, which a return takes back. Kept in the row, so a
    purchase that advances missions writes one statement for all of them."""

    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="progress")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="mission_progress")
    period_start = models.DateField()
    values = models.JSONField(default=dict)
    records = models.JSONField(default=dict)
    completed_at = models.DateTimeField(null=True, blank=True, help_text=_("When its standing completion was paid."))
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mission", "member", "period_start"], name="mission_progress_unique"),
        ]
        indexes = [models.Index(fields=["member", "-period_start"], name="mission_progress_by_member")]

    def __str__(self):
        return f"{self.mission_id}/{self.member_id} {self.period_start}"


class MissionCompletion(models.Model):
    progress = models.ForeignKey(MissionProgress, on_delete=models.PROTECT, related_name="completions")
    mission = models.ForeignKey(Mission, on_delete=models.PROTECT, related_name="completion_rows")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="mission_completions")
    completed_at = models.DateTimeField()
    points = models.PositiveIntegerField(default=0)
    entry = models.OneToOneField(
        "ledger.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="mission_completion"
    )
    voucher = models.OneToOneField(
        "rewards.Voucher", null=True, blank=True, on_delete=models.PROTECT, related_name="mission_completion"
    )
    badge = models.ForeignKey("badges.Badge", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal = models.OneToOneField(
        "ledger.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="mission_completion_reversed"
    )
    shortfall = models.BigIntegerField(default=0, help_text=_("Prize points the member no longer held at the return."))

    class Meta:
        ordering = ["-completed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["progress"], condition=Q(reversed_at__isnull=True), name="mission_completed_once_per_period"
            ),
        ]
        indexes = [models.Index(fields=["member", "-completed_at"], name="mission_completion_by_member")]

    def __str__(self):
        return f"{self.mission_id} by {self.member_id} at {self.completed_at}"
