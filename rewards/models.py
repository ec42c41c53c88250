"""Rewards: what points are for.

Design overview
---------------
A **Reward** is one entry of the catalog: its kind (``RewardKind``), names and descriptions
in English and French, an image, its points cost, what the voucher it issues is worth
(``value_amount`` for a fixed discount or a gift card, ``percent`` with a cap
``max_discount_amount`` for a percentage, ``sku`` for a free product, ``charity`` for a
donation, ``starts_at`` for an experience), how long that voucher is valid
(``validity_days`` or a fixed ``valid_until``), who may redeem it (``tiers``: empty is
every tier, and members without one), when (``available_from`` / ``available_until``), how
often (``limit_per_member`` per ``limit_period``), where it is accepted (``partners``: empty
is every partner), and how many are left (``stock``; ``None`` is unlimited). ``stock`` is a
counter changed only by ``F()`` updates under a condition, so it never goes below zero (a
CHECK too) and is never sold twice.

A **Redemption** is one member's redemption of ``quantity`` units: one ledger debit
(``entry``, kind ``redeem``, cause the redemption) and one **Voucher** per unit (a
donation issues none: a **Donation** per unit records the gift to its charity). A voucher
carries a unique, non-guessable ``code`` (generated, or taken from the reward's
**VoucherCode** pool of codes staff imported), a copy of the reward's terms at the moment
of issue (``terms``: staff editing the reward later change no voucher already issued),
its status (issued, used, expired, cancelled), its expiry, and which partner used it.
Cancelling a voucher within the reward's ``cancel_window_hours`` reverses its share of the
debit (``reversal``) and puts its unit back in stock; an unused voucher that expires gives
its points back only if the reward says so (``refund_on_expiry``).

A **PointsPayment** is a till's pay-with-points: the partner's basket, the points that pay
part of it and their value, and the ledger **Hold** that sets the points aside until the
partner captures or voids it.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from loyalty.clock import add_months, program_date
from loyalty.history import config_history
from loyalty.models import TimeStampedModel

MONEY = {"max_digits": 14, "decimal_places": 2}
FRENCH_NAME = _("The name in French; the English one if empty.")


class RewardKind(models.TextChoices):
    FIXED_DISCOUNT = "fixed_discount", _("Discount of a fixed amount")
    PERCENT_DISCOUNT = "percent_discount", _("Percentage discount")
    FREE_PRODUCT = "free_product", _("Free product")
    GIFT_CARD = "gift_card", _("Gift card or voucher")
    EXCLUSIVE = "exclusive", _("Exclusive offer or early access")
    EXPERIENCE = "experience", _("Experience or event")
    DONATION = "donation", _("Charity donation")


# What each kind is: the fields it needs, and the fields of other kinds it may also carry; every other
# kind's field must be empty (``Reward.clean``). One source for the rule, the admin's fieldsets and the guide.
KIND_FIELDS = ["value_amount", "percent", "max_discount_amount", "sku", "charity", "starts_at"]
KIND_REQUIRES = {
    "fixed_discount": ["value_amount"],
    "percent_discount": ["percent"],
    "free_product": ["sku"],
    "gift_card": ["value_amount"],
    "exclusive": [],  # and at least one tier: Reward.clean_tiers
    "experience": ["starts_at", "stock"],
    "donation": ["charity"],
}
KIND_ALLOWS = {
    "percent_discount": ["max_discount_amount"],
    "exclusive": ["sku"],  # the product an early access is for
    "donation": ["value_amount"],  # the gift per unit; empty: the points' value
}
# A donation issues no voucher: these must stay at their defaults.
VOUCHER_FIELDS = ["validity_days", "valid_until", "cancel_window_hours", "refund_on_expiry"]
MAX_VALIDITY_DAYS = 3650  # ten years
MAX_VALIDITY_MONTHS = 120


class LimitPeriod(models.TextChoices):
    DAY = "day", _("Per day")
    WEEK = "week", _("Per week")
    MONTH = "month", _("Per month")
    YEAR = "year", _("Per year")
    EVER = "ever", _("In all")


class Charity(TimeStampedModel):
    name = models.CharField(max_length=120, unique=True)
    name_fr = models.CharField(max_length=120, blank=True, help_text=FRENCH_NAME)
    description = models.TextField(blank=True)
    description_fr = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    history = config_history()  # who changed what and when (see the README)

    class Meta:
        verbose_name_plural = _("charities")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Reward(TimeStampedModel):
    code = models.SlugField(
        max_length=64, unique=True, help_text=_("A short unique name for imports and exports, e.g. coffee-free.")
    )
    kind = models.CharField(max_length=24, choices=RewardKind.choices)
    name = models.CharField(max_length=120)
    name_fr = models.CharField(max_length=120, blank=True, help_text=FRENCH_NAME)
    description = models.TextField(blank=True)
    description_fr = models.TextField(blank=True)
    image = models.ImageField(upload_to="rewards/", blank=True)
    points_cost = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    value_amount = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("What the voucher is worth in the program's currency (a fixed discount, a gift card)."),
    )
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("A percentage discount's rate."),
    )
    max_discount_amount = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(0)], help_text=_("A percentage discount's cap.")
    )
    sku = models.CharField(max_length=64, blank=True, help_text=_("The product a free-product voucher is for."))
    charity = models.ForeignKey(
        Charity, null=True, blank=True, on_delete=models.PROTECT, related_name="rewards", help_text=_("Donations.")
    )
    starts_at = models.DateTimeField(null=True, blank=True, help_text=_("When an experience or event takes place."))
    validity_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("The voucher is valid this many days after it is issued.")
    )
    valid_until = models.DateField(
        null=True, blank=True, help_text=_("Or: the voucher is valid until the end of this day (program time).")
    )
    tiers = models.ManyToManyField(
        "tiers.Tier", blank=True, related_name="rewards", help_text=_("Only these tiers may redeem; none: everyone.")
    )
    partners = models.ManyToManyField(
        "partners.Partner",
        blank=True,
        related_name="rewards",
        help_text=_("Only these partners accept the voucher; none: every partner."),
    )
    stock = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Units left (places of an experience); empty: unlimited.")
    )
    limit_per_member = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("How many a member may redeem per period; empty: no limit.")
    )
    limit_period = models.CharField(max_length=8, choices=LimitPeriod.choices, default=LimitPeriod.EVER)
    available_from = models.DateTimeField(null=True, blank=True)
    available_until = models.DateTimeField(null=True, blank=True)
    cancel_window_hours = models.PositiveSmallIntegerField(
        default=0, help_text=_("A member may cancel an unused voucher this many hours after redeeming; 0: never.")
    )
    refund_on_expiry = models.BooleanField(
        default=False, help_text=_("An unused voucher that expires gives its points back.")
    )
    active = models.BooleanField(default=True)

    history = config_history()  # who changed what and when (see the README)

    class Meta:
        ordering = ["points_cost", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_points_cost_positive"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="reward_stock_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | Q(percent__gt=0, percent__lte=100), name="reward_percent_range"
            ),
            models.CheckConstraint(
                condition=Q(available_from__isnull=True)
                | Q(available_until__isnull=True)
                | Q(available_until__gt=F("available_from")),
                name="reward_availability_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(kind=RewardKind.DONATION) | Q(charity__isnull=False), name="reward_donation_has_charity"
            ),
        ]
        indexes = [models.Index(fields=["active", "points_cost"], name="reward_catalog")]

    def __str__(self):
        return self.name

    def clean(self):
        """The kind's rules on one row: what it needs, what it must leave empty, and sane dates.

        The admin's form and the CSV import both call it (``full_clean``); the tiers, a many-to-many,
        are checked by ``clean_tiers`` with the tiers chosen."""
        errors: dict[str, str] = {}
        kind = self.kind
        if kind in KIND_REQUIRES:
            kind_label = RewardKind(kind).label.lower()
            for name in KIND_REQUIRES[kind]:
                if self._value(name) in (None, ""):
                    errors[name] = _("A reward of the kind “%(kind)s” needs this field.") % {"kind": kind_label}
            allowed = {*KIND_REQUIRES[kind], *KIND_ALLOWS.get(kind, [])}
            for name in KIND_FIELDS:
                if name not in allowed and self._value(name) not in (None, ""):
                    errors[name] = _("This field does not apply to the kind “%(kind)s”: leave it empty.") % {
                        "kind": kind_label
                    }
            if kind == RewardKind.DONATION:
                for name in VOUCHER_FIELDS:
                    if self._value(name) not in (None, 0, False):
                        errors[name] = _("A donation issues no voucher: leave this field empty.")
        for name in ["value_amount", "max_discount_amount", "percent"]:
            if name not in errors and self._value(name) is not None and self._value(name) <= 0:
                errors[name] = _("Enter an amount above zero.")
        if self.limit_per_member == 0:
            errors["limit_per_member"] = _("Enter at least 1, or leave it empty for no limit.")
        errors.update(self._dates_errors())
        if errors:
            raise ValidationError({name: errors[name] for name in errors})

    def _value(self, name: str):
        return self.charity_id if name == "charity" else getattr(self, name)

    def _dates_errors(self) -> dict[str, str]:
        errors = {}
        if self.validity_days is not None and not 1 <= self.validity_days <= MAX_VALIDITY_DAYS:
            errors["validity_days"] = _("A voucher is valid 1 to %(days)d days.") % {"days": MAX_VALIDITY_DAYS}
        if self.valid_until is not None:
            today = program_date()
            if self.valid_until > add_months(today, MAX_VALIDITY_MONTHS):
                errors["valid_until"] = _("A voucher is valid at most ten years.")
            elif self.available_from and self.valid_until < program_date(self.available_from):
                errors["valid_until"] = _("The vouchers would expire before the reward is available.")
        if self.available_from and self.available_until and self.available_until <= self.available_from:
            errors["available_until"] = _("The end of the availability must come after its start.")
        return errors

    def clean_tiers(self, tiers) -> None:
        """An exclusive offer or early access is for some tiers: ``tiers`` are the ones chosen (a form's or an
        import row's), which a many-to-many cannot show ``clean`` before the row is saved."""
        if self.kind == RewardKind.EXCLUSIVE and not tiers:
            raise ValidationError({"tiers": _("An exclusive offer or early access is for at least one tier.")})


class VoucherCode(models.Model):
    """A code of a reward's pool (gift cards bought from their issuer), taken by one voucher."""

    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="pool_codes")
    code = models.CharField(max_length=64, unique=True)
    imported_at = models.DateTimeField()
    taken_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["reward", "id"], condition=Q(taken_at__isnull=True), name="pool_code_free")]
        # The codes are stored value: reading them in full (an export) is a permission of its own.
        permissions = [("export_vouchercode", _("Can export gift card codes in full"))]

    def __str__(self):
        return f"{self.reward_id}: {self.code[:4]}…"


class Redemption(models.Model):
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    quantity = models.PositiveSmallIntegerField(default=1)
    points = models.PositiveIntegerField(help_text=_("What the redemption debited: quantity times the cost."))
    entry = models.OneToOneField(
        "ledger.Entry", null=True, blank=True, on_delete=models.PROTECT, related_name="redemption"
    )
    partner = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="redemptions",
        help_text=_("The partner that redeemed for a member present; empty: the member, in the portal."),
    )
    idempotency_key = models.CharField(max_length=255)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="redemption_quantity_positive"),
            # The key is scoped by who redeemed: each partner, and the member in the portal.
            models.UniqueConstraint(
                fields=["member", "partner", "idempotency_key"],
                name="redemption_key_unique",
                nulls_distinct=False,
            ),
        ]
        indexes = [models.Index(fields=["member", "reward", "created_at"], name="redemption_limit")]

    def __str__(self):
        return f"Redemption {self.pk}: {self.quantity} × {self.reward_id}"


class VoucherStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    USED = "used", _("Used")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


class Voucher(models.Model):
    redemption = models.ForeignKey(Redemption, on_delete=models.PROTECT, related_name="vouchers")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="vouchers")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="vouchers")
    code = models.CharField(max_length=64, unique=True)
    pool_code = models.OneToOneField(
        VoucherCode, null=True, blank=True, on_delete=models.PROTECT, related_name="voucher"
    )
    points = models.PositiveIntegerField(help_text=_("This voucher's share of the redemption's points."))
    terms = models.JSONField(
        default=dict, help_text=_("The reward's kind and value when the voucher was issued (what the till honours).")
    )
    status = models.CharField(max_length=16, choices=VoucherStatus.choices, default=VoucherStatus.ISSUED)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        "partners.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers_used"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    reversal = models.OneToOneField(
        "ledger.Entry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="voucher_reversed",
        help_text=_("The entry that gave the points back (a cancellation, an expiry with refund)."),
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        permissions = [("export_voucher", _("Can export vouchers as CSV (codes masked)"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=VoucherStatus.USED) | Q(used_at__isnull=False), name="voucher_used_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["member", "-issued_at"], name="voucher_by_member"),
            models.Index(fields=["expires_at"], condition=Q(status=VoucherStatus.ISSUED), name="voucher_open_expiry"),
        ]

    def __str__(self):
        return f"Voucher {self.code[:4]}… ({self.status})"


class Donation(models.Model):
    """Points a member gave to a charity through a donation reward: one per unit redeemed."""

    redemption = models.ForeignKey(Redemption, on_delete=models.PROTECT, related_name="donations")
    charity = models.ForeignKey(Charity, on_delete=models.PROTECT, related_name="donations")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="donations")
    points = models.PositiveIntegerField()
    amount = models.DecimalField(**MONEY, help_text=_("The points' value in the program's currency."))
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["charity", "created_at"], name="donation_by_charity")]

    def __str__(self):
        return f"{self.points} points to {self.charity_id}"


class PointsPayment(models.Model):
    """A till's pay-with-points (``rewards.payments``): a basket, the points that pay part of it, and their hold.

    ``points`` are what the hold set aside and ``discount_amount`` their value off the basket
    (``LOYALTY_POINT_VALUE`` a point, rounded down to the cent); what was captured, released and
    refunded since is the hold's. ``body_hash``: what was posted, so that a repeat of
    ``external_id`` is told from a conflict, as for purchases. ``hold`` is set in the
    transaction that creates the payment (the hold's cause is the payment, so it comes second).
    """

    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="points_payments")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="points_payments")
    external_id = models.CharField(max_length=64, help_text=_("The partner's own id of the basket."))
    body_hash = models.CharField(max_length=64, help_text=_("SHA-256 of what was posted: a repeat must match."))
    basket_amount = models.DecimalField(**MONEY, help_text=_("What the basket costs before points pay part of it."))
    currency = models.CharField(max_length=3)
    points = models.BigIntegerField(help_text=_("The points held to pay part of the basket."))
    discount_amount = models.DecimalField(**MONEY, help_text=_("What the held points take off the basket."))
    hold = models.OneToOneField(
        "ledger.Hold", null=True, blank=True, on_delete=models.PROTECT, related_name="points_payment"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "external_id"], name="points_payment_external_id_per_partner"),
            models.CheckConstraint(condition=Q(basket_amount__gt=0), name="points_payment_basket_positive"),
            models.CheckConstraint(condition=Q(points__gt=0), name="points_payment_points_positive"),
            models.CheckConstraint(
                condition=Q(discount_amount__gte=0, discount_amount__lte=F("basket_amount")),
                name="points_payment_discount_within_basket",
            ),
        ]
        indexes = [models.Index(fields=["partner", "-created_at", "-id"], name="points_payment_by_partner")]

    def __str__(self):
        return f"{self.partner_id}:{self.external_id}"
