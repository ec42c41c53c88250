"""The program dashboard's figures: each one aggregate query over the ledger, members and campaigns.

A period is ``[start, end]`` in program days (loyalty/clock.py); its moments run from the
start day's midnight to the midnight after the end day, excluded.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum

from loyalty.clock import program_day_start
from loyalty.ledger.models import Account, Entry, EntryKind
from members.models import Member

ISSUED_KINDS = (EntryKind.EARN, EntryKind.BONUS)


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def since(self):
        return program_day_start(self.start)

    @property
    def until(self):
        return program_day_start(self.end + timedelta(days=1))

    def previous(self) -> "Period":
        length = (self.end - self.start).days + 1
        return Period(self.start - timedelta(days=length), self.start - timedelta(days=1))


def ledger_totals(period: Period) -> dict:
    """Points issued (earn, bonus), redeemed, expired, and the active members, in one query."""
    window = Q(created_at__gte=period.since, created_at__lt=period.until)
    row = Entry.objects.filter(window).aggregate(
        issued=Sum("amount", filter=Q(kind__in=ISSUED_KINDS)),
        redeemed=Sum("amount", filter=Q(kind=EntryKind.REDEEM)),
        expired=Sum("amount", filter=Q(kind__in=(EntryKind.EXPIRE, EntryKind.FORFEIT))),
        active=Count("account__member", distinct=True),
    )
    issued = row["issued"] or 0
    redeemed = -(row["redeemed"] or 0)
    expired = -(row["expired"] or 0)
    return {
        "issued": issued,
        "redeemed": redeemed,
        "expired": expired,
        "active": row["active"],
        "redemption_rate": _ratio(redeemed, issued),
        "breakage": _ratio(expired, issued),
    }


def member_totals(period: Period) -> dict:
    """All members (joined before the period's end) and those who joined in it, in one query."""
    return Member.objects.filter(joined_at__lt=period.until).aggregate(
        members=Count("pk"), new=Count("pk", filter=Q(joined_at__gte=period.since))
    )


def outstanding() -> dict:
    """Spendable points on all accounts now, and what they are worth at LOYALTY_POINT_VALUE."""
    points = Account.objects.aggregate(points=Sum("balance"))["points"] or 0
    return {"points": points, "liability": (Decimal(points) * settings.LOYALTY_POINT_VALUE).quantize(Decimal("0.01"))}


def issued_by_kind(period: Period) -> list[dict]:
    """Credits in the period (every kind with a positive amount), summed by kind."""
    rows = (
        Entry.objects.filter(created_at__gte=period.since, created_at__lt=period.until, amount__gt=0)
        .values("kind")
        .annotate(points=Sum("amount"))
        .order_by("kind")
    )
    labels = dict(EntryKind.choices)
    return [
        {"kind": row["kind"], "label": str(labels.get(row["kind"], row["kind"])), "points": row["points"]}
        for row in rows
    ]


def dashboard(period: Period) -> dict:
    """Every figure of the period and of the previous one of equal length."""
    previous = period.previous()
    figures = {}
    for name, chosen in (("current", period), ("previous", previous)):
        totals = ledger_totals(chosen)
        members = member_totals(chosen)
        totals.update(members)
        totals["participation"] = _ratio(totals["active"], members["members"])
        figures[name] = totals
    return {"figures": figures, "outstanding": outstanding(), "by_kind": issued_by_kind(period), "previous": previous}


def _ratio(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))
