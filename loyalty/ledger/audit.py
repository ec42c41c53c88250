"""The ledger's invariants, checked set-based: balances and lots (DESIGN.md 1 and 2) by ``audit``,
every entry's cause (DESIGN.md 4) by ``audit_causes``, what counts towards tiers by
``audit_qualifying``; ``manage.py ledger_audit`` runs them all."""

from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from loyalty.clock import program_date

from .models import QUALIFYING_KINDS, Account, Adjustment, Allocation, Entry, EntryKind, Lot


def _sum(model, field: str, **filters):
    rows = model.objects.filter(**filters).values(next(iter(filters))).annotate(total=Sum(field)).values("total")
    return Coalesce(Subquery(rows), Value(0))


def audit(*, now: datetime | None = None, expiry_grace_days: int = 1) -> list[str]:
    """Every broken invariant, one line each; empty when the ledger is sound.

    Per account: the entries' amounts sum to balance + pending and their debts to the
    debt, the lots hold the balance and the pending points, the lifetime counters add up,
    no figure is negative, and no account holds points beside a debt.

    A lot past its last day still holding points is reported once the daily expiry run
    has had ``expiry_grace_days`` to take them.
    """
    now = now or timezone.now()
    problems = []
    accounts = Account.objects.annotate(
        entries_total=_sum(Entry, "amount", account=OuterRef("pk")),
        available_lots=_sum(Lot, "remaining", account=OuterRef("pk"), pending=False),
        pending_lots=_sum(Lot, "remaining", account=OuterRef("pk"), pending=True),
        entries_debt=_sum(Entry, "debt", account=OuterRef("pk")),
    ).filter(
        ~Q(entries_total=F("balance") + F("pending"))
        | ~Q(available_lots=F("balance"))
        | ~Q(pending_lots=F("pending"))
        | ~Q(lifetime_earned=F("balance") + F("pending") + F("lifetime_spent") + F("lifetime_expired"))
        | Q(balance__lt=0)
        | Q(pending__lt=0)
        | ~Q(entries_debt=F("debt"))
        | Q(debt__lt=0)
        | Q(debt__gt=0, balance__gt=0)
        | Q(debt__gt=0, pending__gt=0)
    )
    for a in accounts.order_by("pk").values():
        problems.append(
            f"account {a['id']}: balance {a['balance']} + pending {a['pending']}; entries sum to "
            f"{a['entries_total']}; available lots hold {a['available_lots']}, pending lots {a['pending_lots']}; "
            f"earned {a['lifetime_earned']} - spent {a['lifetime_spent']} - expired {a['lifetime_expired']}; "
            f"debt {a['debt']}, entries change it by {a['entries_debt']}"
        )
    lots = Lot.objects.annotate(allocated=_sum(Allocation, "points", lot=OuterRef("pk"))).filter(
        ~Q(remaining=F("amount") + F("allocated") - F("expired"))
        | Q(remaining__lt=0)
        | Q(remaining__gt=F("amount"))
        | Q(expired__lt=0)
    )
    for lot in lots.order_by("pk").values("id", "account_id", "amount", "remaining", "allocated", "expired"):
        problems.append(
            f"lot {lot['id']} of account {lot['account_id']}: remaining {lot['remaining']} of {lot['amount']}, "
            f"allocations {lot['allocated']}, expired {lot['expired']}"
        )
    overdue = program_date(now) - timedelta(days=expiry_grace_days)
    for lot in Lot.objects.filter(remaining__gt=0, expires_on__lt=overdue).order_by("pk").values():
        problems.append(
            f"lot {lot['id']} of account {lot['account_id']}: {lot['remaining']} points past their last day "
            f"{lot['expires_on']} were not expired"
        )
    return problems


def audit_causes(*, limit: int = 100) -> list[str]:
    """Entries that name no cause (DESIGN.md invariant 4), at most ``limit`` lines and a count of the rest.

    Every entry the ledger writes names one: the caller's object for a credit or a debit
    (a partner's transaction, a redemption), an ``Adjustment`` for an adjustment, an
    ``ExpiryRun`` for an expiry, the status change for a forfeit, and for a reversal the
    cause of the entry it undoes.
    """
    uncaused = Entry.objects.filter(Q(cause_type__isnull=True) | Q(cause_id="")).order_by("pk")
    total = uncaused.count()
    problems = [
        f"entry {e['id']} of account {e['account_id']}: a {e['kind']} of {e['amount']} names no cause"
        for e in uncaused.values("id", "account_id", "kind", "amount")[:limit]
    ]
    if total > limit:
        problems.append(f"... and {total - limit} more entries name no cause")
    return problems


def audit_qualifying(*, limit: int = 100) -> list[str]:
    """Members whose qualifying points (``QualifyingDay``, members/tiers) are not the points of their
    qualifying credits minus what was reversed of them; at most ``limit`` lines and a count of the rest.

    Qualifying credits: earned and bonus points, adjustments made qualifying; a reversal of
    one takes back what it moved and what it left owed (``amount - debt``). The days of a
    merged member moved to the member it was merged into, so its entries count there.
    """
    from members.tiers.models import QualifyingDay

    def qualifies(prefix: str = "") -> Q:
        adjustments = Adjustment.objects.filter(qualifying=True).values(key=Cast("pk", CharField()))
        return Q(**{f"{prefix}amount__gt": 0}) & (
            Q(**{f"{prefix}kind__in": QUALIFYING_KINDS})
            | Q(
                **{
                    f"{prefix}kind": EntryKind.ADJUST,
                    f"{prefix}cause_type": ContentType.objects.get_for_model(Adjustment),
                    f"{prefix}cause_id__in": adjustments,
                }
            )
        )

    entries = (
        Entry.objects.filter(qualifies() | (Q(kind=EntryKind.REVERSE) & qualifies("reverses__")))
        .values(owner=Coalesce("account__member__merged_into_id", "account__member_id"))
        .annotate(total=Sum(F("amount") - F("debt")))
        .values_list("owner", "total")
    )
    days = QualifyingDay.objects.values("member_id").annotate(total=Sum("points")).values_list("member_id", "total")
    earned, recorded = dict(entries), dict(days)
    wrong = sorted(m for m in earned.keys() | recorded.keys() if earned.get(m, 0) != recorded.get(m, 0))
    problems = [
        f"member {m}: qualifying days hold {recorded.get(m, 0)} points; its qualifying entries minus their"
        f" reversals, {earned.get(m, 0)}"
        for m in wrong[:limit]
    ]
    if len(wrong) > limit:
        problems.append(f"... and {len(wrong) - limit} more members whose qualifying points differ")
    return problems
