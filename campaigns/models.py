"""Earning: the rules staff configure, and the purchases and events that partners post.

Design overview
---------------
The **EarningPolicy** (one row) holds the program's base rate (points per currency unit), the
tolerance within which a purchase's items must add up to its amount, and what a return does
when the member already spent the points (a debt paid by the next earnings, or a write-off).
A **RateOverride** replaces the base rate for a partner, a category or a SKU.

A **Campaign** says when (dates, days of week, hours in the program's time zone), to whom
(tiers, a segment by join date, an uploaded member list: **CampaignMember**), where
(partners, channels) and how much (a per-member cap per day, week or campaign; a total
budget, counted in ``points_awarded``). Its **Rule** rows say what it gives: a multiplier, a
fixed bonus (first purchase, a basket over an amount, N of a SKU or category) or event
points; each with a priority and whether it is exclusive. The engine
(``campaigns/engine.py``) is pure: these rows are turned into its dataclasses by the
services.

A **Purchase** is one partner transaction (unique per partner by ``external_id``), with its
**PurchaseLine** rows. Whatever it earned is one ledger entry (``entry``, kind ``earn``, cause
the purchase) and, per line and source, an **Award** (base, a campaign's rule, the tier
multiplier), so the member reads the breakdown and a return reverses exactly what its lines
earned. A purchase of a member who cannot earn is still recorded, with ``outcome`` saying why
it earned nothing. **CampaignUsage** counts a member's points per campaign and cap period.

A **PurchaseReturn** gives back lines or an amount: its **ReturnLine** rows, the points it
reversed, what the member no longer held (``shortfall``) and what the policy did with it.

An **EventType** (sign-up, birthday, review, ... or one staff create) has its points, its
limit and whether staff or the partner must approve it; an **Event** is one occurrence for a
member, awarded (an entry of kind ``bonus``, its Awards), pending approval, declined, or
recorded without points with why.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from loyalty.history import config_history
from loyalty.models import TimeStampedModel

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 12, "decimal_places": 3}
RATE = {"max_digits": 10, "decimal_places": 4}


class ReturnPolicy(models.TextChoices):
    DEBT = "debt", _("Record a debt that the next earnings pay first")
    WRITE_OFF = "write_off", _("Write the shortfall off")


class EarningPolicy(models.Model):
    """The program's one earning policy (a single row, id 1, created by a migration)."""

    points_per_unit = models.DecimalField(
        **RATE,
        default=1,
        validators=[MinValueValidator(0)],
        help_text=_("Points per currency unit paid; a basket's base points are rounded down."),
    )
    amount_tolerance = models.DecimalField(
        **MONEY,
        default="0.05",
        validators=[MinValueValidator(0)],
        help_text=_("How far a purchase's items may differ from its amount (rounding at the till)."),
    )
    return_policy = models.CharField(max_length=16, choices=ReturnPolicy.choices, default=ReturnPolicy.DEBT)
    updated_at = models.DateTimeField(auto_now=True)
    # A new random number each time the earning rules change (``campaigns.signals``): what a process
    # keeps of the rules is good while the policy row, read by every purchase, still says this number.
    rules_version = models.BigIntegerField(default=0, editable=False)

    history = config_history()  # who changed what and when (see the README)

    class Meta:
        verbose_name = _("earning policy")
        verbose_name_plural = _("earning policy")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="earning_policy_single_row"),
            models.CheckConstraint(condition=Q(points_per_unit__gte=0), name="earning_rate_not_negative"),
        ]

    def __str__(self):
        return str(_("Earning policy"))


class RateOverride(models.Model):
    """A rate that replaces the base one where it matches: the most specific wins (SKU, then category, then
    partner; the engine's docstring)."""

    partner = models.ForeignKey("partners.Partner", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=64, blank=True)
    sku = models.CharField(max_length=64, blank=True)
    points_per_unit = models.DecimalField(**RATE, validators=[MinValueValidator(0)])
    active = models.BooleanField(default=True)

    history = config_history()  # who changed what and when (see the README)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(partner__isnull=False) | ~Q(category="") | ~Q(sku=""), name="rate_override_names_a_scope"
            ),
            models.CheckConstraint(condition=Q(points_per_unit__gte=0), name="rate_override_not_negative"),
            models.UniqueConstraint(fields=["partner", "category", "sku"], name="rate_override_unique_scope"),
        ]

    def __str__(self):
        scope = " / ".join(str(part) for part in (self.partner, self.category, self.sku) if part)
        return f"{scope}: {self.points_per_unit}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ARCHIVED = "archived", _("Archived")


class CapPeriod(models.TextChoices):
    DAY = "day", _("Per day")
    WEEK = "week", _("Per week")
    CAMPAIGN = "campaign", _("Per campaign")


class Campaign(TimeStampedModel):
    name = models.CharField(max_length=120)
    name_fr = models.CharField(
        max_length=120, blank=True, help_text=_("The name in French; the English one if empty.")
    )
    description = models.TextField(blank=True)
    description_fr = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True, help_text=_("Excluded: the campaign ends at this moment."))
    weekdays = models.JSONField(
        default=list, blank=True, help_text=_("Days of the week it runs (0 = Monday); empty: every day.")
    )
    start_time = models.TimeField(null=True, blank=True, help_text=_("In the program's time zone."))
    end_time = models.TimeField(
        null=True, blank=True, help_text=_("Excluded; before the start time, the hours run past midnight.")
    )
    tiers = models.ManyToManyField("tiers.Tier", blank=True, related_name="+", help_text=_("Empty: every member."))
    joined_after = models.DateField(null=True, blank=True, help_text=_("Members who joined on or after this day."))
    joined_before = models.DateField(null=True, blank=True, help_text=_("Members who joined before this day."))
    uses_member_list = models.BooleanField(
        default=False, help_text=_("Only the members of the campaign's uploaded list.")
    )
    partners = models.ManyToManyField(
        "partners.Partner", blank=True, related_name="+", help_text=_("Empty: every partner.")
    )
    channels = models.JSONField(default=list, blank=True, help_text=_("E.g. store, web, app; empty: every channel."))
    member_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Most points one member gets from it per cap period; empty: no cap.")
    )
    cap_period = models.CharField(max_length=16, choices=CapPeriod.choices, default=CapPeriod.CAMPAIGN)
    budget = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=_("Most points it gives in all; it stops when they are spent.")
    )
    points_awarded = models.BigIntegerField(
        default=0, editable=False, help_text=_("Points it gave, net of returns: what the budget counts.")
    )

    history = config_history()  # who changed what and when (see the README)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(points_awarded__gte=0), name="campaign_awarded_not_negative"),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(points_awarded__lte=F("budget")),
                name="campaign_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="campaign_ends_after_start",
            ),
        ]

    def __str__(self):
        return self.name


class CampaignMember(models.Model):
    """A member of a campaign's uploaded list."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="listed_members")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "member"], name="campaign_member_unique")]

    def __str__(self):
        return f"{self.campaign_id}: {self.member_id}"


class RuleKind(models.TextChoices):
    MULTIPLIER = "multiplier", _("Multiplier")
    FIRST_PURCHASE_BONUS = "first_purchase_bonus", _("Bonus on a first purchase")
    BASKET_BONUS = "basket_bonus", _("Bonus on a basket of at least an amount")
    QUANTITY_BONUS = "quantity_bonus", _("Bonus for buying at least N")
    EVENT_POINTS = "event_points", _("Points for an event")


class Rule(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=24, choices=RuleKind.choices)
    priority = models.IntegerField(default=0, help_text=_("Higher priorities apply first."))
    exclusive = models.BooleanField(
        default=False, help_text=_("Once it applies, no rule after it applies to the same lines.")
    )
    multiplier = models.DecimalField(
        max_digits=6, decimal_places=2, default=1, validators=[MinValueValidator(1)], help_text=_("E.g. 2 for x2.")
    )
    points = models.PositiveIntegerField(default=0, help_text=_("The fixed bonus, or the event's extra points."))
    skus = models.JSONField(default=list, blank=True, help_text=_("The SKUs it applies to; empty: any."))
    categories = models.JSONField(default=list, blank=True, help_text=_("The categories it applies to; empty: any."))
    min_amount = models.DecimalField(
        **MONEY, default=0, validators=[MinValueValidator(0)], help_text=_("Basket bonus: the least paid.")
    )
    min_quantity = models.DecimalField(
        **QUANTITY, default=0, validators=[MinValueValidator(0)], help_text=_("Quantity bonus: the least bought.")
    )
    event_type = models.ForeignKey(
        "EventType", null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text=_("Event points.")
    )

    history = config_history()  # who changed what and when (see the README)

    class Meta:
        ordering = ["-priority", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(multiplier__gte=1), name="rule_multiplier_at_least_one"),
            models.CheckConstraint(
                condition=~Q(kind="event_points") | Q(event_type__isnull=False), name="rule_event_points_names_a_type"
            ),
        ]

    def __str__(self):
        return f"{self.campaign}: {self.get_kind_display()}"


class Outcome(models.TextChoices):
    """What a purchase or an event earned."""

    EARNED = "earned", _("Earned points")
    NOTHING = "nothing", _("Earned nothing under the rules")
    MEMBER_SUSPENDED = "member_suspended", _("Nothing: the member is suspended")
    MEMBER_CLOSED = "member_closed", _("Nothing: the member's account is closed")
    LIMIT_REACHED = "limit_reached", _("Nothing: the event's limit is reached")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    DECLINED = "declined", _("Declined")


class Purchase(models.Model):
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="purchases")
    external_id = models.CharField(max_length=64, help_text=_("The partner's own id of the transaction."))
    body_hash = models.CharField(max_length=64, help_text=_("SHA-256 of what was posted: a repeat must match."))
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="purchases")
    occurred_at = models.DateTimeField()
    amount = models.DecimalField(**MONEY, help_text=_("What the basket cost after discounts."))
    currency = models.CharField(max_length=3)
    discount_amount = models.DecimalField(**MONEY, default=0, help_text=_("A discount on the whole basket."))
    points_amount = models.DecimalField(**MONEY, default=0, help_text=_("The part of the amount paid with points."))
    channel = models.CharField(max_length=32, blank=True)
    store = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    points = models.BigIntegerField(default=0)
    pending_points = models.BigIntegerField(default=0, help_text=_("Of the points, those held for the return window."))
    available_at = models.DateTimeField(null=True, blank=True)
    entry = models.OneToOneField(
        "ledger.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="purchase"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "external_id"], name="purchase_external_id_per_partner"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="purchase_amount_positive"),
            models.CheckConstraint(condition=Q(points__gte=0), name="purchase_points_not_negative"),
        ]
        indexes = [
            models.Index(fields=["partner", "-created_at", "-id"], name="purchase_by_partner"),
            models.Index(fields=["member", "-occurred_at"], name="purchase_by_member"),
            models.Index(fields=["occurred_at"], name="purchase_by_occurred_at"),  # the dashboard's baskets
        ]

    def __str__(self):
        return f"{self.partner_id}:{self.external_id}"


class PurchaseLine(models.Model):
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    sku = models.CharField(max_length=64)
    category = models.CharField(max_length=64, blank=True)
    quantity = models.DecimalField(**QUANTITY)
    unit_price = models.DecimalField(**MONEY)
    discount_amount = models.DecimalField(**MONEY, default=0)
    paid_amount = models.DecimalField(**MONEY, help_text=_("What the member paid for the line: what earned."))
    points = models.BigIntegerField(default=0, help_text=_("Everything the line earned: base, campaigns, tier."))
    returned_quantity = models.DecimalField(**QUANTITY, default=0)
    returned_amount = models.DecimalField(**MONEY, default=0)
    returned_points = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["purchase", "position"]
        constraints = [
            models.UniqueConstraint(fields=["purchase", "position"], name="purchase_line_position_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="purchase_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(returned_quantity__gte=0, returned_quantity__lte=F("quantity")),
                name="purchase_line_returned_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(returned_points__gte=0, returned_points__lte=F("points")),
                name="purchase_line_returned_within_points",
            ),
        ]

    def __str__(self):
        return f"{self.purchase_id}#{self.position} {self.sku}"


class EventLimit(models.TextChoices):
    NONE = "none", _("No limit")
    ONCE = "once", _("Once ever")
    PER_PERIOD = "per_period", _("Once per period")
    PER_DAY = "per_day", _("A number per day")


class LimitPeriod(models.TextChoices):
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")


class EventType(models.Model):
    """A kind of behaviour that earns points. The built-in ones (sign-up, birthday, ...) are created by a
    migration and cannot be deleted; staff add custom ones."""

    code = models.SlugField(max_length=40, unique=True, help_text=_("What partners post as the event's type."))
    name = models.CharField(max_length=80)
    name_fr = models.CharField(max_length=80, blank=True)
    points = models.PositiveIntegerField(default=0)
    limit = models.CharField(max_length=16, choices=EventLimit.choices, default=EventLimit.ONCE)
    limit_period = models.CharField(max_length=8, choices=LimitPeriod.choices, default=LimitPeriod.YEAR)
    per_day = models.PositiveSmallIntegerField(default=1, help_text=_("For a limit per day: how many."))
    requires_approval = models.BooleanField(
        default=False, help_text=_("Its points wait until staff or the partner approve them.")
    )
    active = models.BooleanField(default=True)
    builtin = models.BooleanField(default=False, editable=False)

    history = config_history()  # who changed what and when (see the README)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Event(models.Model):
    event_type = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="events")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="loyalty_events")
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        help_text=_("Empty for the program's own events (sign-up, birthday)."),
    )
    external_id = models.CharField(max_length=64)
    body_hash = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField()
    attributes = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=24, choices=Outcome.choices)
    points = models.BigIntegerField(default=0, help_text=_("What it earned, or will earn once approved."))
    entry = models.OneToOneField("ledger.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="event")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by_partner = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(max_length=255, blank=True, help_text=_("Why it was declined."))
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        permissions = [("approve_event", "Can approve or decline events awaiting approval")]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "external_id"],
                condition=Q(partner__isnull=False),
                name="event_external_id_per_partner",
            ),
            models.UniqueConstraint(
                fields=["member", "event_type", "external_id"],
                condition=Q(partner__isnull=True),
                name="program_event_unique",
            ),
            models.CheckConstraint(condition=Q(points__gte=0), name="event_points_not_negative"),
        ]
        indexes = [
            models.Index(fields=["member", "event_type", "-occurred_at"], name="event_by_member_type"),
            models.Index(fields=["outcome", "created_at"], name="event_by_outcome"),
        ]

    def __str__(self):
        return f"{self.event_type_id}:{self.external_id}"


class AwardSource(models.TextChoices):
    BASE = "base", _("Base rate")
    CAMPAIGN = "campaign", _("Campaign")
    TIER = "tier", _("Tier multiplier")


class Award(models.Model):
    """Points one line of a purchase (or an event) earned from one source: the breakdown, and what returns reverse."""

    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="awards")
    line = models.ForeignKey(PurchaseLine, null=True, blank=True, on_delete=models.PROTECT, related_name="awards")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.PROTECT, related_name="awards")
    source = models.CharField(max_length=16, choices=AwardSource.choices)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="awards")
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="awards")
    points = models.BigIntegerField()
    returned_points = models.BigIntegerField(default=0)
    reason = models.CharField(max_length=32, help_text=_("A code rendered in the reader's language."))
    params = models.JSONField(default=dict, blank=True)
    cap_period_start = models.DateField(
        null=True, blank=True, help_text=_("The campaign cap period the points counted in (returns give them back).")
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="award_points_positive"),
            models.CheckConstraint(
                condition=Q(returned_points__gte=0, returned_points__lte=F("points")),
                name="award_returned_within_points",
            ),
            models.CheckConstraint(
                condition=Q(purchase__isnull=False, event__isnull=True)
                | Q(purchase__isnull=True, event__isnull=False, line__isnull=True),
                name="award_of_a_purchase_or_an_event",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "source"], name="award_by_campaign")]

    def __str__(self):
        return f"{self.source} {self.points}"


class CampaignUsage(models.Model):
    """Points a member got from a campaign in one cap period (``period_start``: the program day, the week's
    Monday, or the campaign's fixed day ``2000-01-01`` for a cap per campaign). Written under the member's
    account lock."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="usages")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    points = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "member", "period_start"], name="campaign_usage_unique"),
            models.CheckConstraint(condition=Q(points__gte=0), name="campaign_usage_not_negative"),
        ]

    def __str__(self):
        return f"{self.campaign_id}/{self.member_id} {self.period_start}: {self.points}"


class PurchaseReturn(models.Model):
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="returns")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(max_length=64)
    body_hash = models.CharField(max_length=64)
    amount = models.DecimalField(**MONEY, help_text=_("The money given back."))
    points = models.BigIntegerField(default=0, help_text=_("The points its lines had earned, reversed."))
    shortfall = models.BigIntegerField(default=0, help_text=_("Of them, points the member no longer held."))
    policy = models.CharField(max_length=16, choices=ReturnPolicy.choices, blank=True)
    entry = models.OneToOneField(
        "ledger.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="purchase_return"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "external_id"], name="return_external_id_per_partner"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="return_amount_positive"),
            models.CheckConstraint(condition=Q(shortfall__gte=0, shortfall__lte=F("points")), name="return_shortfall"),
        ]

    def __str__(self):
        return f"Return {self.external_id} of {self.purchase_id}"


class ReturnLine(models.Model):
    purchase_return = models.ForeignKey(PurchaseReturn, on_delete=models.PROTECT, related_name="lines")
    line = models.ForeignKey(PurchaseLine, on_delete=models.PROTECT, related_name="returns")
    quantity = models.DecimalField(**QUANTITY, default=0)
    amount = models.DecimalField(**MONEY)
    points = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.line_id}: {self.amount} / {self.points}"
