"""The point ledger: the only place where points are written.

Design overview
---------------
An **Account** holds one member's points. ``balance`` (spendable) and ``pending``
(earned but not yet available) are caches of the entries, changed only by
``loyalty.ledger.services`` with the account row locked. The lifetime counters keep
``lifetime_earned - lifetime_spent - lifetime_expired == balance + pending + held``.

An **Entry** is one immutable change: a signed amount, the balance after it, who made it
(``actor``: a staff user, a partner, or none for the system), what caused it (``cause``:
a partner's transaction, an **Adjustment** for a manual correction, an **ExpiryRun** for
points that expired, a member's status change for a forfeit; a reversal names the cause
of the entry it undoes) and an optional idempotency key, unique per account and actor.
What a member reads of a system entry is a code with parameters (``memo_code``,
``memo_params``) rendered in the reader's language (``memos.py``); ``memo`` holds the free
text of a person (an adjustment's reason). Entries are never updated or deleted (a
trigger refuses it on PostgreSQL and on SQLite); a mistake is corrected by a ``reverse``
entry that points at the one it undoes.

A **Lot** is opened by every credit: its amount, what remains of it, whether it is still
pending, when it becomes available and the last day it can be spent (``expires_on``, in
the program's time zone; ``None`` never expires). Debits consume available lots soonest
expiry first and record an **Allocation** per lot (negative points); reversing a debit
gives the points back to the same lots (positive points). Expiry moves a lot's remainder
to its ``expired`` counter. So for every lot, at all times::

    remaining == amount + sum(allocation points) - expired,   0 <= remaining <= amount

Debt
----
A return may reverse a credit whose points the member already spent. ``reverse(...,
shortfall="debt")`` then takes what is left (the credit's lot, the other available lots,
then the pending ones) and records the rest as ``Account.debt``: the reversal entry has
``amount = -taken`` (maybe 0) and ``debt = +shortfall``. ``shortfall="write_off"`` adds a
``write_off`` entry (amount 0, ``debt = -shortfall``) caused by the reversal, so the
account owes nothing but the loss is on record; ``"refuse"`` (the default) raises
``InsufficientPoints``. Whenever points then arrive (a credit, a debit's reversal, a gift or
a merge received), the same transaction writes a ``repay`` entry caused by the incoming
entry: ``amount = debt = -min(debt, balance + pending)``, taken from the lots just
credited, and ``lifetime_earned`` goes down by what was repaid. The member reads both in
the history ("Debt repaid", "Written off", with a memo saying what is still owed), and the
debt on the dashboard. The database keeps ``debt >= 0`` and ``debt == 0 or balance ==
pending == 0`` (never points beside a debt). So, for every account::

    sum(entry.amount) == balance + pending,   sum(entry.debt) == debt

Holds
-----
Pay with points at a till runs in two phases, like TigerBeetle's pending transfers. A
**Hold** sets points aside: a ``hold`` entry takes them from the available lots soonest
expiry first, exactly like a debit (``amount = -points``, Allocations negative), and adds
them to ``Account.held`` (``held = +points``): they leave the spendable balance but are not
spent. One capture or one void closes the hold: a ``capture`` entry (``amount = 0``, ``held
= -captured``) spends them (``lifetime_spent``), and a ``release`` entry (``amount = +r``,
``held = -r``, pointing at the hold entry with ``reverses``) gives the rest back to the lots
they came from, latest taken first, as a debit's reversal does (points landing in a lot past
its last day expire at once). A refund of a capture is ``reverse`` of the capture entry: the
points go back to the hold's lots, net of what was released. Held points sit in no lot's
remainder, so nothing held can expire, and nothing is both held and spent. So::

    sum(entry.amount) == balance + pending,   sum(entry.debt) == debt,   sum(entry.held) == held
    held == sum(points of open holds)
    lifetime_earned - lifetime_spent - lifetime_expired == balance + pending + held
"""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models import TimeStampedModel


class Account(TimeStampedModel):
    member = models.OneToOneField("members.Member", on_delete=models.PROTECT, related_name="account")
    balance = models.BigIntegerField(default=0, help_text=_("Spendable points."))
    pending = models.BigIntegerField(default=0, help_text=_("Earned points not yet available."))
    lifetime_earned = models.BigIntegerField(default=0)
    lifetime_spent = models.BigIntegerField(default=0)
    lifetime_expired = models.BigIntegerField(default=0, help_text=_("Points lost: expired or forfeited."))
    debt = models.BigIntegerField(default=0, help_text=_("Points owed after a return of spent points."))
    held = models.BigIntegerField(default=0, help_text=_("Points set aside by open holds (pay with points)."))

    class Meta:
        permissions = [("adjust_points", "Can adjust points with a reason")]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="account_balance_not_negative"),
            models.CheckConstraint(condition=Q(pending__gte=0), name="account_pending_not_negative"),
            models.CheckConstraint(condition=Q(debt__gte=0), name="account_debt_not_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="account_held_not_negative"),
            # An account never holds both a balance and a debt: pending points count too.
            models.CheckConstraint(condition=Q(debt=0) | Q(balance=0, pending=0), name="account_debt_without_points"),
        ]

    def __str__(self):
        return f"Account of {self.member}"


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    BONUS = "bonus", _("Bonus")
    REDEEM = "redeem", _("Redeemed")
    ADJUST = "adjust", _("Adjustment")
    EXPIRE = "expire", _("Expired")
    REVERSE = "reverse", _("Reversal")
    FORFEIT = "forfeit", _("Forfeited")
    GIFT = "gift", _("Gift")
    MERGE = "merge", _("Merged")
    REPAY = "repay", _("Debt repaid")
    WRITE_OFF = "write_off", _("Written off")
    HOLD = "hold", _("Held")
    CAPTURE = "capture", _("Paid with held points")
    RELEASE = "release", _("Released")


class Shortfall(models.TextChoices):
    """What ``reverse`` does with the points of a credit that the member no longer holds."""

    REFUSE = "refuse", _("Refuse the reversal")
    DEBT = "debt", _("Take what is left, the rest is a debt the next points pay")
    WRITE_OFF = "write_off", _("Take what is left, write the rest off")


CREDIT_KINDS = frozenset({EntryKind.EARN, EntryKind.BONUS, EntryKind.ADJUST})
DEBIT_KINDS = frozenset({EntryKind.REDEEM, EntryKind.ADJUST})
# Credits that count towards tiers (members/tiers); an adjustment counts when made qualifying.
QUALIFYING_KINDS = frozenset({EntryKind.EARN, EntryKind.BONUS})
# A gift or a merge moves points between two accounts in a pair of entries: undone as a pair, never one side.
# A repayment and a write-off follow the entry that caused them: that one is reversed, if anything.
# A hold is voided or captured, never reversed, and its release is final; its capture is refunded by ``reverse``.
NOT_REVERSIBLE_KINDS = frozenset(
    {
        EntryKind.EXPIRE,
        EntryKind.REVERSE,
        EntryKind.FORFEIT,
        EntryKind.GIFT,
        EntryKind.MERGE,
        EntryKind.REPAY,
        EntryKind.WRITE_OFF,
        EntryKind.HOLD,
        EntryKind.RELEASE,
    }
)


class Entry(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = models.BigIntegerField(help_text=_("Signed points: positive credits, negative debits."))
    debt = models.BigIntegerField(default=0, help_text=_("Signed change to the points the account owes."))
    held = models.BigIntegerField(default=0, help_text=_("Signed change to the points the account holds aside."))
    balance_after = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    actor_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_id = models.CharField(max_length=64, blank=True, default="")
    actor = GenericForeignKey("actor_type", "actor_id")
    cause_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cause_id = models.CharField(max_length=64, blank=True, default="")
    cause = GenericForeignKey("cause_type", "cause_id")
    memo = models.CharField(max_length=255, blank=True, help_text=_("Free text of a person: a reason."))
    memo_code = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text=_("What a system entry says, rendered in the reader's language."),
    )
    memo_params = models.JSONField(default=dict, blank=True)
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals")
    idempotency_key = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        verbose_name_plural = "entries"
        ordering = ["-created_at", "-id"]
        permissions = [("export_entry", "Can export entries as CSV")]
        constraints = [
            # A write-off moves no points, only debt; a capture only held points.
            models.CheckConstraint(condition=~Q(amount=0, debt=0, held=0), name="entry_amount_not_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="entry_balance_after_not_negative"),
            # A key is the caller's: scoped by the actor (none for the system), so partners
            # and staff cannot collide on one account.
            models.UniqueConstraint(
                F("account"),
                F("idempotency_key"),
                Coalesce(F("actor_type"), Value(0)),
                F("actor_id"),
                condition=~Q(idempotency_key=""),
                name="entry_idempotency_key_unique_per_actor",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="entry_account_history"),
            # Covering: the dashboard's sums over a period read the index only (loyalty/reports/selectors.py).
            models.Index(fields=["kind", "created_at"], include=["amount", "account"], name="entry_kind_created"),
            models.Index(fields=["cause_type", "cause_id"], name="entry_cause"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount:+d}"

    @property
    def memo_display(self) -> str:
        """What the entry says, in the active language (see ``memos.entry_memo_display``)."""
        from .memos import entry_memo_display

        return entry_memo_display(self)

    memo_display.fget.short_description = _("Memo")


class Lot(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots")
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="lots")
    amount = models.BigIntegerField()
    remaining = models.BigIntegerField()
    expired = models.BigIntegerField(default=0)
    pending = models.BooleanField(default=False)
    available_at = models.DateTimeField()
    expires_on = models.DateField(null=True, blank=True, help_text=_("Last day the points can be spent."))

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="lot_amount_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0, remaining__lte=F("amount")), name="lot_remaining_within_amount"
            ),
            models.CheckConstraint(condition=Q(expired__gte=0), name="lot_expired_not_negative"),
        ]
        indexes = [
            models.Index(fields=["account", "expires_on"], condition=Q(remaining__gt=0), name="lot_open_by_account"),
            models.Index(fields=["account", "available_at"], condition=Q(pending=True), name="lot_pending_by_account"),
            # The dashboard's expiry forecast (and the expiry task's ``expires_on < today``) across all accounts.
            models.Index(fields=["expires_on"], condition=Q(remaining__gt=0), name="lot_open_by_expiry"),
        ]

    def __str__(self):
        return f"Lot {self.pk}: {self.remaining}/{self.amount}"


class Allocation(models.Model):
    """Points taken from (negative) or given back to (positive) a lot by an entry."""

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="allocations")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="allocations")
    points = models.BigIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(points=0), name="allocation_points_not_zero")]

    def __str__(self):
        return f"{self.points:+d} on lot {self.lot_id}"


class ExpiryRun(models.Model):
    """The cause of ``expire`` entries: one run that expired points.

    The daily task (``expire_due``, or ``release_pending`` when a released lot is already
    past its last day) writes one run for all the accounts it settles; a debit, reversal
    or forfeit that settles its account first writes one for that account.
    """

    class Source(models.TextChoices):
        SCHEDULE = "schedule", _("Scheduled task")
        SETTLE = "settle", _("Settled before a move")

    created_at = models.DateTimeField(help_text=_("The moment the run used as now."))
    program_day = models.DateField(help_text=_("Points whose last day is before this day expired."))
    source = models.CharField(max_length=16, choices=Source.choices)

    def __str__(self):
        return f"Expiry run {self.pk} of {self.program_day}"


class Adjustment(models.Model):
    """The cause of an ``adjust`` entry made without another cause: a person's decision to correct points.

    Its reason is the one the member reads; the entry records who made it (``actor``).
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="adjustments")
    points = models.BigIntegerField(help_text=_("Signed points."))
    reason = models.CharField(max_length=255)
    qualifying = models.BooleanField(
        default=False, help_text=_("Counts towards tiers like earned points (a goodwill gesture for a lost receipt).")
    )
    created_at = models.DateTimeField()

    def __str__(self):
        return f"Adjustment {self.pk}: {self.points:+d}"


class HoldStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CAPTURED = "captured", _("Captured")
    VOIDED = "voided", _("Voided")
    EXPIRED = "expired", _("Expired")


class Hold(models.Model):
    """Points set aside for a payment not yet complete (pay with points at a till), in two phases.

    ``ledger.hold`` takes the points from the available lots (a ``hold`` entry: amount
    ``-points``, held ``+points``); one capture or void closes it: ``hold_capture`` spends
    all or part (a ``capture`` entry, amount 0, held ``-captured``) and gives the rest back in
    a ``release`` entry to the lots they came from, ``hold_void`` gives all back, and past
    ``expires_at`` the task ``holds_release_expired`` does (status ``expired``). ``refunded``:
    the captured points given back since by ``reverse`` of the capture entry.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds")
    points = models.BigIntegerField(help_text=_("Points held when the hold was placed."))
    captured = models.BigIntegerField(default=0)
    released = models.BigIntegerField(default=0, help_text=_("Points given back unspent (void, rest, expiry)."))
    refunded = models.BigIntegerField(default=0, help_text=_("Captured points given back since (a refund)."))
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.OPEN)
    expires_at = models.DateTimeField(help_text=_("Released by the scheduled task if not captured by then."))
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="hold")
    capture_entry = models.OneToOneField(
        Entry, null=True, blank=True, on_delete=models.PROTECT, related_name="captured_hold"
    )
    actor_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_id = models.CharField(max_length=64, blank=True, default="")
    actor = GenericForeignKey("actor_type", "actor_id")
    cause_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cause_id = models.CharField(max_length=64, blank=True, default="")
    cause = GenericForeignKey("cause_type", "cause_id")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="hold_points_positive"),
            models.CheckConstraint(
                condition=Q(captured__gte=0, released__gte=0, captured__lte=F("points") - F("released")),
                name="hold_captured_released_within_points",
            ),
            # Open: nothing moved yet. Closed: every point captured or released, once.
            models.CheckConstraint(
                condition=Q(status="open", captured=0, released=0, closed_at__isnull=True)
                | (Q(status="captured", captured__gt=0) | Q(status__in=["voided", "expired"], captured=0))
                & Q(captured=F("points") - F("released"), closed_at__isnull=False),
                name="hold_closed_all_at_once",
            ),
            models.CheckConstraint(
                condition=Q(refunded__gte=0, refunded__lte=F("captured")), name="hold_refunded_within_captured"
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(status="open"), name="hold_open_by_expiry"),
            models.Index(fields=["account"], condition=Q(status="open"), name="hold_open_by_account"),
        ]

    def __str__(self):
        return f"Hold {self.pk}: {self.points} points, {self.get_status_display().lower()}"
