"""The ledger's invariants, checked set-based: balances and lots (DESIGN.md 1 and 2) by ``audit``,
every entry's cause (DESIGN.md 4) by ``audit_causes``, what counts towards tiers by
``audit_qualifying``; ``manage.py ledger_audit`` runs them all."""

from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from loyalty.clock import program_date

from .models import QUALIFYING_KINDS, Account, Adjustment, Allocation, Entry, EntryKind, Hold, HoldStatus, Lot


def _sum(model, field: str, **filters):
    rows = model.objects.filter(**filters).values(next(iter(filters))).annotate(total=Sum(field)).values("total")
    return Coalesce(Subquery(rows), Value(0))


def audit(*, now: datetime | None = None, expiry_grace_days: int = 1) -> list[str]:
    """Every broken invariant, one line each; empty when the ledger is sound.

    Per account: the entries' amounts sum to balance + pending, their debts to the debt and
    their held points to the held figure, which is also the points of the open holds; the
    lots hold the balance and the pending points, the lifetime counters add up (earned -
    spent - expired == balance + pending + held), no figure is negative, and no account
    holds points beside a debt. Per hold: its entry took its points from the lots, and what
    it captured, released and refunded is what its entries moved (``_hold_problems``).

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
        entries_held=_sum(Entry, "held", account=OuterRef("pk")),
        open_holds=_sum(Hold, "points", account=OuterRef("pk"), status=HoldStatus.OPEN),
    ).filter(
        ~Q(entries_total=F("balance") + F("pending"))
        | ~Q(available_lots=F("balance"))
        | ~Q(pending_lots=F("pending"))
        | ~Q(lifetime_earned=F("balance") + F("pending") + F("held") + F("lifetime_spent") + F("lifetime_expired"))
        | Q(balance__lt=0)
        | Q(pending__lt=0)
        | ~Q(entries_debt=F("debt"))
        | Q(debt__lt=0)
        | Q(debt__gt=0, balance__gt=0)
        | Q(debt__gt=0, pending__gt=0)
        | ~Q(entries_held=F("held"))
        | ~Q(open_holds=F("held"))
        | Q(held__lt=0)
    )
    for a in accounts.order_by("pk").values():
        problems.append(
            f"account {a['id']}: balance {a['balance']} + pending {a['pending']} + held {a['held']}; entries sum to "
            f"{a['entries_total']}; available lots hold {a['available_lots']}, pending lots {a['pending_lots']}; "
            f"earned {a['lifetime_earned']} - spent {a['lifetime_spent']} - expired {a['lifetime_expired']}; "
            f"debt {a['debt']}, entries change it by {a['entries_debt']}; "
            f"entries hold {a['entries_held']}, open holds {a['open_holds']}"
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
    problems += _hold_problems()
    overdue = program_date(now) - timedelta(days=expiry_grace_days)
    for lot in Lot.objects.filter(remaining__gt=0, expires_on__lt=overdue).order_by("pk").values():
        problems.append(
            f"lot {lot['id']} of account {lot['account_id']}: {lot['remaining']} points past their last day "
            f"{lot['expires_on']} were not expired"
        )
    return problems


def _hold_problems() -> list[str]:
    """Holds whose figures are not what their entries moved: the hold entry took ``points`` from the lots
    and held them; the capture entry spent ``captured``; the release gave ``released`` back; the
    reversals of the capture gave back ``refunded``."""
    holds = Hold.objects.annotate(
        taken=_sum(Allocation, "points", entry=OuterRef("entry_id")),
        entry_held=Subquery(Entry.objects.filter(pk=OuterRef("entry_id")).values("held")),
        entry_amount=Subquery(Entry.objects.filter(pk=OuterRef("entry_id")).values("amount")),
        given_back=_sum(Entry, "amount", reverses=OuterRef("entry_id")),
        spent=Coalesce(Subquery(Entry.objects.filter(pk=OuterRef("capture_entry_id")).values("held")), Value(0)),
        refunds=_sum(Entry, "amount", reverses=OuterRef("capture_entry_id")),
    ).filter(
        ~Q(taken=-F("points"))
        | ~Q(entry_held=F("points"))
        | ~Q(entry_amount=-F("points"))
        | ~Q(given_back=F("released"))
        | ~Q(spent=-F("captured"))
        | ~Q(refunds=F("refunded"))
    )
    return [
        f"hold {h['id']} of account {h['account_id']} ({h['status']}): {h['points']} points held, its entry took "
        f"{-h['taken']} from the lots and held {h['entry_held']}; captured {h['captured']} (entries {-h['spent']}), "
        f"released {h['released']} (entries {h['given_back']}), refunded {h['refunded']} (entries {h['refunds']})"
        for h in holds.order_by("pk").values(
            "id", "account_id", "status", "points", "taken", "entry_held", "captured", "spent", "released",
            "given_back", "refunded", "refunds",
        )
    ]  # fmt: skip


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
