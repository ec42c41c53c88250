"""The program dashboard's figures: aggregate queries over the rollups of closed days and the ledger's live days.

A period is ``[start, end]`` in program days (loyalty/clock.py); its moments run from the
start day's midnight to the midnight after the end day, excluded. The days up to
``RollupState.closed_through`` are read from the rollups (models.py, written by rollup.py), the
days after it live from the ledger, members and purchases: each figure is the sum of both parts,
so it is exact at any moment (before any rollup, every day is live). The tier distribution and
the expiry forecast are the hourly task's snapshots, shown with their time.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, DateField, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Trunc, TruncMonth
from django.utils.translation import gettext as _

from campaigns.breakdown import localized
from campaigns.models import Award, AwardSource, Campaign, Event, Purchase
from loyalty.clock import add_months, program_date, program_day_start, program_timezone
from loyalty.ledger.models import Account, Entry, EntryKind, Lot
from members.models import Member, MemberStatus
from members.referrals.models import Referral, ReferralStatus
from members.tiers.models import MemberTier, Tier, TierChange
from rewards.models import Redemption, Reward

from . import rollup
from .models import DayActivity, DayBuyer, DayJoined, DayKindTotal, DayReward, DaySource, RollupState, Snapshot

ISSUED_KINDS = (EntryKind.EARN, EntryKind.BONUS)
# Every kind, named so that a period's entries are read through ``entry_kind_created`` (kind, created_at): one
# range per kind rather than the whole table (there is no index on ``created_at`` alone).
ALL_KINDS = tuple(EntryKind.values)


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


@dataclass(frozen=True)
class Split:
    """A period cut where the rollups end: the days ``[start, rolled_end]`` from the rollups (the last one maybe
    in part, up to ``closed_until``), the moments from ``live_since`` to the period's end live (either may be
    empty: a ``rolled_end`` before ``start``, a ``live_since`` at the period's end)."""

    start: date
    end: date
    rolled_end: date
    closed_until: datetime | None
    purchase_id: int
    version: str = ""  # the rollups' computation (``RollupState.computed_at``): what their sums are as of

    @classmethod
    def of(cls, period: "Period", state: RollupState) -> "Split":
        closed = state.closed_through
        if closed is None or closed < period.start:
            return cls(period.start, period.end, period.start - timedelta(days=1), None, state.purchase_id)
        version = state.computed_at.isoformat() if state.computed_at else ""
        return cls(period.start, period.end, min(period.end, closed), state.until, state.purchase_id, version)

    def live_from(self, day: date):
        """The first live moment on or after ``day``'s start, up to the period's end."""
        moment = program_day_start(day)
        if self.closed_until is not None:
            moment = max(moment, self.closed_until)
        return min(moment, self.until)

    @property
    def live_since(self):
        return self.live_from(self.start)

    @property
    def until(self):
        return program_day_start(self.end + timedelta(days=1))


def _split(period: Period, state: RollupState | None) -> Split:
    return Split.of(period, state if state is not None else rollup.state())


def kind_totals(period: Period, state: RollupState | None = None) -> dict:
    """Entries of the period per kind: ``{kind: (points, credits, entries)}``, rollups and live, in two queries."""
    split = _split(period, state)
    totals = {}
    for row in _kind_rows(split, None):
        _add(totals, row["kind"], (row["points"] or 0, row["credits"] or 0, row["entries"] or 0))
    return totals


def _kind_rows(split: Split, step: str | None) -> list[dict]:
    """The period's entries summed per kind (and per bucket of ``step``): the closed days' rollups, then the live
    days' entries (index ``entry_kind_created``), two queries; buckets as dates (``bucket``)."""
    rolled = DayKindTotal.objects.filter(day__gte=split.start, day__lte=split.rolled_end)
    live = Entry.objects.filter(created_at__gte=split.live_since, created_at__lt=split.until, kind__in=ALL_KINDS)
    keys = ["kind"]
    if step is not None:
        keys.append("bucket")
        day = "day" if step == "day" else Trunc("day", step, output_field=DateField())
        rolled = rolled.annotate(bucket=F(day) if isinstance(day, str) else day)
        live = live.annotate(bucket=Trunc("created_at", step, output_field=DateField(), tzinfo=program_timezone()))
    rows = list(
        rolled.values(*keys).annotate(points=Sum("points"), credits=Sum("credits"), entries=Sum("entries")).order_by()
    )
    rows += (
        live.values(*keys)
        .annotate(points=Sum("amount"), credits=Sum("amount", filter=Q(amount__gt=0)), entries=Count("pk"))
        .order_by()
    )
    return rows


def _add(totals: dict, key, values: tuple) -> None:
    before = totals.get(key)
    totals[key] = values if before is None else tuple(a + b for a, b in zip(before, values, strict=True))


def _sums(totals: dict, kinds) -> int:
    return sum(totals.get(kind, (0, 0, 0))[0] for kind in kinds)


def ledger_totals(period: Period, state: RollupState | None = None, kinds: dict | None = None) -> dict:
    """Points issued (earn, bonus), redeemed, expired, and the active members (``active_members``)."""
    split = _split(period, state)
    kinds = kinds if kinds is not None else kind_totals(period, state)
    issued = _sums(kinds, ISSUED_KINDS)
    redeemed = -_sums(kinds, (EntryKind.REDEEM,))
    expired = -_sums(kinds, (EntryKind.EXPIRE, EntryKind.FORFEIT))
    return {
        "issued": issued,
        "redeemed": redeemed,
        "expired": expired,
        "active": active_members(split, period.start),
        "redemption_rate": _ratio(redeemed, issued),
        "breakage": _ratio(expired, issued),
    }


def active_members(split: Split, first: date, joined_before: bool = False) -> int:
    """Accounts with an entry in ``[first, split.end]`` (``first`` on or after ``split.start``), in two queries.

    Closed days: the ``DayActivity`` rows of those days whose ``since`` is before ``first`` (or the account's
    first entry), each account once. Live days: the accounts with an entry in them whose latest entry before
    them is before ``first`` (or that have none), one probe of ``entry_account_history`` each. With
    ``joined_before``, only members who joined before ``first`` (churn)."""
    counted = Q(since__lt=first) if joined_before else Q(first=True) | Q(since__lt=first)
    rolled = DayActivity.objects.filter(day__gte=first, day__lte=split.rolled_end).aggregate(
        active=Sum("members", filter=counted)
    )["active"]
    since = split.live_from(first)
    previous = Entry.objects.filter(account=OuterRef("pk"), created_at__lt=since).order_by("-created_at")
    live = Account.objects.filter(
        pk__in=Entry.objects.filter(kind__in=ALL_KINDS, created_at__gte=since, created_at__lt=split.until).values(
            "account_id"
        )
    ).annotate(previous=Subquery(previous.values("created_at")[:1]))
    before = program_day_start(first)
    if joined_before:
        live_counted = Q(previous__lt=before) | Q(previous__isnull=True, member__joined_at__lt=before)
    else:
        live_counted = Q(previous__isnull=True) | Q(previous__lt=before)
    return (rolled or 0) + live.aggregate(members=Count("pk", filter=live_counted))["members"]


def member_totals(period: Period, state: RollupState | None = None, *, before: date | None = None) -> dict:
    """All members (joined before the period's end), those who joined in it and, with ``before``, those who joined
    before that day (churn), in two queries: the closed days' ``DayJoined``, then the members who joined after."""
    state = state if state is not None else rollup.state()
    closed, before = state.closed_through, before or period.start
    rolled = DayJoined.objects.filter(day__lte=min(closed or EARLIEST, period.end)).aggregate(
        all_members=Sum("members"),
        new=Sum("members", filter=Q(day__gte=period.start)),
        before=Sum("members", filter=Q(day__lt=before)),
    )
    rolled["members"] = rolled.pop("all_members")
    live = Member.objects.filter(joined_at__lt=period.until)
    if closed is not None:
        live = live.filter(joined_at__gte=state.until)
    live = live.aggregate(
        members=Count("pk"),
        new=Count("pk", filter=Q(joined_at__gte=period.since)),
        before=Count("pk", filter=Q(joined_at__lt=program_day_start(before))),
    )
    return {name: (rolled[name] or 0) + live[name] for name in ("members", "new", "before")}


EARLIEST = date(1, 1, 1)


def outstanding(state: RollupState | None = None) -> dict:
    """Spendable points on all accounts now, and what they are worth at LOYALTY_POINT_VALUE, in three queries: the
    entries' amounts sum to ``balance + pending`` (the ledger's invariant, ``ledger_audit``), so the closed days'
    ``DayKindTotal``, plus the entries since, less the pending lots' points (index ``lot_pending_by_account``)."""
    state = state if state is not None else rollup.state()
    closed = state.closed_through
    rolled = DayKindTotal.objects.filter(day__lte=closed).aggregate(p=Sum("points"))["p"] if closed else None
    since = state.until
    live = Entry.objects.filter(kind__in=ALL_KINDS, **({"created_at__gte": since} if since else {}))
    pending = Lot.objects.filter(pending=True).aggregate(p=Sum("remaining"))["p"] or 0
    points = (rolled or 0) + (live.aggregate(p=Sum("amount"))["p"] or 0) - pending
    return {"points": points, "liability": (Decimal(points) * settings.LOYALTY_POINT_VALUE).quantize(Decimal("0.01"))}


def issued_by_kind(period: Period, state: RollupState | None = None, kinds: dict | None = None) -> list[dict]:
    """Credits in the period (every kind with a positive amount), summed by kind."""
    kinds = kinds if kinds is not None else kind_totals(period, state)
    labels = dict(EntryKind.choices)
    return [
        {"kind": kind, "label": str(labels.get(kind, kind)), "points": credits}
        for kind, (_points, credits, _entries) in sorted(kinds.items())
        if credits
    ]


def dashboard(period: Period, *, inactive_days: int = 90) -> dict:
    """Every figure of the period and of the previous one of equal length, in 30 queries whatever the data
    (29 once the snapshots exist; the
    page adds 4: session, user, permissions)."""
    state = rollup.state()
    previous = period.previous()
    figures = {}
    series = None
    for name, chosen in (("current", period), ("previous", previous)):
        split = Split.of(chosen, state)
        step = series_step(chosen)
        rows = _kind_rows(split, step)
        kinds = {}
        for row in rows:
            _add(kinds, row["kind"], (row["points"] or 0, row["credits"] or 0, row["entries"] or 0))
        if name == "current":
            series, by_kind = _series(chosen, step, rows), issued_by_kind(chosen, kinds=kinds)
        totals = ledger_totals(chosen, state, kinds)
        totals.update(purchase_totals(chosen, state))
        churned = churn(chosen, inactive_days, state, with_members=True)
        totals.update(churned.pop("members_of_period"))
        totals["participation"] = _ratio(totals["active"], totals["members"])
        totals["churn"] = churned
        totals["tier_movements"] = tier_movements(chosen)
        totals["referrals"] = referral_funnel(chosen)
        figures[name] = totals
    by_source = points_by_source(period, state)
    snapshots = _snapshots()
    return {
        "figures": figures,
        "outstanding": outstanding(state),
        "by_kind": by_kind,
        "previous": previous,
        "series": series,
        "by_source": by_source,
        "top_campaigns": top_campaigns(by_source),
        "top_rewards": top_rewards(period, state),
        "tiers": snapshots["tiers"],
        "forecast": snapshots["forecast"],
        "as_of": snapshots["as_of"],
        "rollup": {"closed_until": state.until, "computed_at": state.computed_at},
    }


def _ratio(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


# --- Issue 12: the figures that were missing --------------------------------------------------------

CENT = Decimal("0.01")
TOP = 10  # rows of each "top" table
REDEEMED_KINDS = (EntryKind.REDEEM,)
EXPIRED_KINDS = (EntryKind.EXPIRE, EntryKind.FORFEIT)
DAILY_UP_TO = 92  # days: a longer period is drawn per week, one over two years per month
WEEKLY_UP_TO = 731


def series_step(period: Period) -> str:
    """How the chart over time groups the period: ``day``, ``week`` (from Monday) or ``month``."""
    days = (period.end - period.start).days + 1
    if days <= DAILY_UP_TO:
        return "day"
    return "week" if days <= WEEKLY_UP_TO else "month"


def _bucket_of(day: date, step: str) -> date:
    if step == "week":
        return day - timedelta(days=day.weekday())
    if step == "month":
        return day.replace(day=1)
    return day


def ledger_series(period: Period, state: RollupState | None = None) -> dict:
    """Points issued, redeemed and expired per day (week, month: ``series_step``) of the period, program time, in
    two queries (``_kind_rows``); buckets without entries are zeros. A week or month that the period cuts is
    counted only within the period (its first bucket starts at the period's start)."""
    step = series_step(period)
    return _series(period, step, _kind_rows(_split(period, state), step))


def _series(period: Period, step: str, rows: list[dict]) -> dict:
    found = {}
    for row in rows:
        day = row["bucket"] if isinstance(row["bucket"], date) else date.fromisoformat(str(row["bucket"])[:10])
        slot = found.setdefault(max(_bucket_of(day, step), _bucket_of(period.start, step)), {})
        slot[row["kind"]] = slot.get(row["kind"], 0) + (row["points"] or 0)
    points, day = [], _bucket_of(period.start, step)
    while day <= period.end:
        slot = found.get(day, {})
        points.append(
            {
                "start": max(day, period.start),
                "issued": sum(slot.get(kind, 0) for kind in ISSUED_KINDS),
                "redeemed": -sum(slot.get(kind, 0) for kind in REDEEMED_KINDS),
                "expired": -sum(slot.get(kind, 0) for kind in EXPIRED_KINDS),
            }
        )
        day = _bucket_of(day + timedelta(days={"day": 1, "week": 7, "month": 31}[step]), step)
    return {"step": step, "points": points}


BUYERS_CACHE_SECONDS = 2 * 3600  # the task runs hourly: a newer run has a new key


def purchase_totals(period: Period, state: RollupState | None = None) -> dict:
    """Average basket of the buyers with and without a redemption in the period, and the repeat purchase rate, in
    one query. The members the live moments touch (a purchase that occurred after the closed days or that the rollup
    has not seen, its id after ``purchase_id``: an import of an earlier day; a ``redeem`` entry in the live days)
    are summed per member from their ``DayBuyer`` rows and the live rows. Every other member is counted from its
    ``DayBuyer`` rows alone, without a per-member pass: the chain columns say which row is its first in the period
    (a buyer), its second (a repeat buyer) and whether it redeemed in the period (``DayBuyer``): the sums over
    every member's rows, less those of the touched members. The first sum changes only when the task runs: it is
    kept in the cache for that run (``BUYERS_CACHE_SECONDS``), so a later GET reads only the touched members."""
    split = _split(period, state)
    purchase, entry, account, buyer = (
        Purchase._meta.db_table, Entry._meta.db_table, Account._meta.db_table, DayBuyer._meta.db_table
    )  # fmt: skip
    live_purchases = (
        f"FROM {purchase} p WHERE p.occurred_at >= %(since)s AND p.occurred_at < %(until)s"
        " AND (p.occurred_at >= %(live_since)s OR p.id > %(purchase_id)s)"
    )
    kinds = {f"kind{index}": kind for index, kind in enumerate(REDEEMED_KINDS)}
    live_redeemers = (
        f"FROM {entry} e JOIN {account} a ON a.id = e.account_id"
        f" WHERE e.kind IN ({', '.join(f'%({name})s' for name in kinds)})"
        " AND e.created_at >= %(live_since)s AND e.created_at < %(until)s"
    )
    touched = f"SELECT p.member_id {live_purchases} UNION SELECT a.member_id {live_redeemers}"
    first = "(d.previous IS NULL OR d.previous < %(start)s)"
    second = "(d.previous >= %(start)s AND (d.previous2 IS NULL OR d.previous2 < %(start)s) AND d.previous_single)"
    redeemed = "(d.last_redeemed >= %(start)s OR d.next_redeemed <= %(end)s)"
    chained = [
        f"SUM(CASE WHEN {first} THEN 1 ELSE 0 END)",
        f"SUM(CASE WHEN {first} AND d.purchases >= 2 THEN 1 WHEN {second} THEN 1 ELSE 0 END)",
    ]
    summed = ["COUNT(*)", "SUM(CASE WHEN z.purchases >= 2 THEN 1 ELSE 0 END)"]
    for side in ("THEN {} ELSE 0", "THEN 0 ELSE {}"):
        chained += [
            f"SUM(CASE WHEN {redeemed} {side.format(value)} END)"
            for value in (f"CASE WHEN {first} THEN 1 ELSE 0 END", "d.purchases", "d.spent")
        ]
        summed += [
            f"SUM(CASE WHEN z.redeemed > 0 {side.format(value)} END)" for value in ("1", "z.purchases", "z.spent")
        ]
    rows = f"FROM {buyer} d WHERE d.day >= %(start)s AND d.day <= %(rolled_end)s AND d.purchases > 0"
    exact = (
        f"SELECT {', '.join(summed)} FROM ("
        " SELECT y.member_id, SUM(y.purchases) AS purchases, SUM(y.spent) AS spent, MAX(y.redeemed) AS redeemed"
        " FROM ("
        " SELECT d.member_id, d.purchases, d.spent, CASE WHEN d.redeemed THEN 1 ELSE 0 END AS redeemed"
        f" FROM {buyer} d WHERE d.day >= %(start)s AND d.day <= %(rolled_end)s"
        " AND d.member_id IN (SELECT member_id FROM touched)"
        f" UNION ALL SELECT p.member_id, 1, p.amount, 0 {live_purchases}"
        f" UNION ALL SELECT a.member_id, 0, 0, 1 {live_redeemers}"
        ") y GROUP BY y.member_id) z WHERE z.purchases > 0"
    )
    parts = [
        f"(SELECT {', '.join(chained)} {rows} AND d.member_id IN (SELECT member_id FROM touched)) t",
        f"({exact}) x",
    ]
    # The closed days' sums over every member change only when the task runs: kept in the cache for its version.
    key = f"reports:buyers:{split.start}:{split.end}:{split.rolled_end}:{split.version}:{split.purchase_id}"
    closed = cache.get(key) if split.version else None
    if closed is None:
        parts.insert(0, f"(SELECT {', '.join(chained)} {rows}) c")
    sql = f"WITH touched AS ({touched}) SELECT * FROM {', '.join(parts)}"
    since, until, live_since = _bounds(period.since, period.until, split.live_since)
    names = {"start": split.start, "end": split.end, "rolled_end": split.rolled_end, "purchase_id": split.purchase_id}
    names.update(kinds, since=since, until=until, live_since=live_since)
    sql, params = _named(sql, names)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = [value or 0 for value in cursor.fetchone()]
    if closed is None:
        closed, row = row[:8], row[8:]
        if split.version:
            cache.set(key, closed, BUYERS_CACHE_SECONDS)
    values = [a - b + c for a, b, c in zip(closed, row[:8], row[8:], strict=True)]
    buyers, repeat, *values = values
    totals = {"buyers": buyers, "repeat_buyers": repeat or 0, "repeat_rate": _ratio(repeat or 0, buyers)}
    for side, (members, purchases, amount) in zip(("with", "without"), (values[:3], values[3:]), strict=True):
        amount, purchases = _money(amount), int(purchases or 0)
        totals[f"basket_{side}"] = {
            "members": int(members or 0),
            "purchases": purchases,
            "amount": amount,
            "average": (amount / purchases).quantize(CENT) if purchases else None,
        }
    return totals


def _named(sql: str, names: dict) -> tuple[str, list]:
    """``sql`` with its ``%(name)s`` placeholders made positional, and their values in order (SQLite's cursor
    in Django takes only ``%s``)."""
    pieces = re.split(r"%\((\w+)\)s", sql)
    params = [names[name] for name in pieces[1::2]]
    pieces[1::2] = ["%s"] * len(params)
    return "".join(pieces), params


def churn(period: Period, inactive_days: int, state: RollupState | None = None, *, with_members=False) -> dict:
    """Members who joined before the last ``inactive_days`` program days of the period (up to its end) and have no
    ledger entry in those days: those who joined before (``member_totals``) less the active ones among them
    (``active_members``), four queries. ``with_members`` adds the period's ``member_totals`` (the same queries)."""
    state = state if state is not None else rollup.state()
    window = period.end + timedelta(days=1 - inactive_days)
    counted = member_totals(period, state, before=window)
    members = counted["before"]
    inactive = members - active_members(Split.of(Period(window, period.end), state), window, True)
    result = {"days": inactive_days, "members": members, "inactive": inactive, "rate": _ratio(inactive, members)}
    if with_members:
        result["members_of_period"] = {"members": counted["members"], "new": counted["new"]}
    return result


def _bounds(*moments) -> list:
    """Moments as raw SQL parameters (SQLite stores text)."""
    return [connection.ops.adapt_datetimefield_value(moment) for moment in moments]


def tier_distribution(rows: list | None = None) -> list[dict]:
    """Members per tier now (every tier, in rank order, then "no tier"), closed members left out, in one query
    (``rows``: those of ``tier_rows``, from a snapshot)."""
    rows = tier_rows() if rows is None else rows
    tiers = sorted((row for row in rows if row[0] is not None), key=lambda row: row[3])
    result = [
        {"tier": pk, "label": localized(name, name_fr), "rank": rank, "colour": colour, "members": count}
        for pk, name, name_fr, rank, colour, count in tiers
    ]
    no_tier = next(row[5] for row in rows if row[0] is None)
    result.append(
        {"tier": None, "label": str(_("No tier")), "rank": None, "colour": NO_TIER_COLOUR, "members": no_tier}
    )
    return result


def tier_rows() -> list[list]:
    """``[tier id, name, name_fr, rank, colour, members]`` per tier, then ``[None, ..., members without a tier]``."""
    member, state, tier = Member._meta.db_table, MemberTier._meta.db_table, Tier._meta.db_table
    sql = (
        f"SELECT t.id, t.name, t.name_fr, t.rank, t.colour, COUNT(m.id) FROM {tier} t"
        f" LEFT JOIN {state} s ON s.tier_id = t.id"
        f" LEFT JOIN {member} m ON m.id = s.member_id AND m.status <> %s"
        " GROUP BY t.id, t.name, t.name_fr, t.rank, t.colour"
        " UNION ALL"
        f" SELECT NULL, NULL, NULL, NULL, NULL, COUNT(m.id) FROM {member} m"
        f" LEFT JOIN {state} s ON s.member_id = m.id WHERE m.status <> %s AND s.tier_id IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [MemberStatus.CLOSED, MemberStatus.CLOSED])
        return [list(row) for row in cursor.fetchall()]


def _snapshots() -> dict:
    """The tier distribution and the expiry forecast of the hourly task's snapshots (one query), or computed now
    when there is none yet; ``as_of``: the snapshots' times (None: now)."""
    stored = {row.name: row for row in Snapshot.objects.filter(name__in=("tiers", "forecast"))}
    tiers, forecast = stored.get("tiers"), stored.get("forecast")
    return {
        "tiers": tier_distribution(tiers.data if tiers else None),
        "forecast": expiry_forecast(rows=forecast.data["rows"], today=date.fromisoformat(forecast.data["today"]))
        if forecast
        else expiry_forecast(),
        "as_of": {"tiers": tiers and tiers.computed_at, "forecast": forecast and forecast.computed_at},
    }


NO_TIER_COLOUR = "#6b7280"


def tier_movements(period: Period) -> dict:
    """Tier changes made in the period, per (from, to) pair, and how many were upgrades (to a higher rank, or from
    no tier) and downgrades, in one query (index ``tier_change_created``)."""
    rows = (
        TierChange.objects.filter(created_at__gte=period.since, created_at__lt=period.until)
        .values(
            "from_tier_id",
            "from_tier__name",
            "from_tier__name_fr",
            "from_tier__rank",
            "to_tier_id",
            "to_tier__name",
            "to_tier__name_fr",
            "to_tier__rank",
        )  # fmt: skip
        .annotate(changes=Count("pk"))
        .order_by()
    )
    no_tier = str(_("No tier"))
    pairs, totals = [], {"up": 0, "down": 0, "same": 0}

    def rank(row, side):  # no tier ranks below every tier (and databases sort NULL differently)
        value = row[f"{side}_tier__rank"]
        return -1 if value is None else value

    for row in sorted(rows, key=lambda row: (rank(row, "from"), rank(row, "to"))):
        before, after = rank(row, "from"), rank(row, "to")
        direction = "up" if after > before else "down" if after < before else "same"
        totals[direction] += row["changes"]
        pairs.append(
            {
                "from": localized(row["from_tier__name"], row["from_tier__name_fr"])
                if row["from_tier_id"]
                else no_tier,
                "to": localized(row["to_tier__name"], row["to_tier__name_fr"]) if row["to_tier_id"] else no_tier,
                "direction": direction,
                "changes": row["changes"],
            }
        )
    return {"upgrades": totals["up"], "downgrades": totals["down"], "other": totals["same"], "pairs": pairs}


def referral_funnel(period: Period) -> dict:
    """Referrals made in the period (invitations and sign-ups with a code), and of them, by now: those whose friend
    enrolled, those that qualified (the friend's first qualifying purchase) and those credited, in one query."""
    row = Referral.objects.filter(created_at__gte=period.since, created_at__lt=period.until).aggregate(
        made=Count("pk"),
        enrolled=Count("pk", filter=Q(referee__isnull=False)),
        qualified=Count("pk", filter=Q(qualified_at__isnull=False)),
        credited=Count("pk", filter=Q(status=ReferralStatus.CREDITED)),
    )
    row["enrolled_rate"] = _ratio(row["enrolled"], row["made"])
    row["qualified_rate"] = _ratio(row["qualified"], row["enrolled"])
    row["credited_rate"] = _ratio(row["credited"], row["qualified"])
    return row


def points_by_source(period: Period, state: RollupState | None = None) -> list[dict]:
    """What purchases and events earned in the period per source (base rate, each campaign, tier multiplier), from
    their Award rows: points awarded, net of what returns took back (closed days: as of their last computation),
    the purchases matched and their amounts (each purchase once per campaign), in two queries: the closed days'
    ``DaySource``, then the live days' awards. A purchase's or an event's awards count in the period of its
    ledger entry (``entry_kind_created``, then the unique ``entry`` of the purchase or event)."""
    split = _split(period, state)
    award, purchase, event = Award._meta.db_table, Purchase._meta.db_table, Event._meta.db_table
    entry, campaign, source = Entry._meta.db_table, Campaign._meta.db_table, DaySource._meta.db_table
    window = "e.created_at >= %s AND e.created_at < %s"
    sql = (
        "SELECT s.source, s.campaign_id, c.name, c.name_fr, SUM(s.points), SUM(s.net), SUM(s.amount),"
        " SUM(s.purchases) FROM ("
        " SELECT d.source, d.campaign_id, d.points, d.net, d.sales AS amount, d.purchases"
        f" FROM {source} d WHERE d.day >= %s AND d.day <= %s"
        " UNION ALL"
        " SELECT a.source, a.campaign_id, SUM(a.points) AS points,"
        " SUM(a.points - a.returned_points) AS net, MAX(p.amount) AS amount, 1"
        f" FROM {award} a JOIN {purchase} p ON p.id = a.purchase_id JOIN {entry} e ON e.id = p.entry_id"
        f" WHERE e.kind = %s AND {window} GROUP BY a.source, a.campaign_id, a.purchase_id"
        " UNION ALL"
        " SELECT a.source, a.campaign_id, SUM(a.points), SUM(a.points - a.returned_points), 0, 0"
        f" FROM {award} a JOIN {event} v ON v.id = a.event_id JOIN {entry} e ON e.id = v.entry_id"
        f" WHERE e.kind = %s AND {window} GROUP BY a.source, a.campaign_id"
        f") s LEFT JOIN {campaign} c ON c.id = s.campaign_id"
        " GROUP BY s.source, s.campaign_id, c.name, c.name_fr"
    )
    bounds = _bounds(split.live_since, split.until)
    with connection.cursor() as cursor:
        cursor.execute(sql, [split.start, split.rolled_end, EntryKind.EARN, *bounds, EntryKind.BONUS, *bounds])
        rows = cursor.fetchall()
    sources = dict(AwardSource.choices)
    result = [
        {
            "source": source,
            "campaign": campaign_id,
            "label": localized(name, name_fr) if campaign_id else str(sources.get(source, source)),
            "points": int(points),
            "net": int(net),
            "sales": _money(sales),
            "purchases": int(purchases),
        }
        for source, campaign_id, name, name_fr, points, net, sales, purchases in rows
    ]
    order = {AwardSource.BASE: 0, AwardSource.CAMPAIGN: 1, AwardSource.TIER: 2}
    return sorted(result, key=lambda row: (order.get(row["source"], 3), -row["points"], row["label"]))


def top_campaigns(by_source: list[dict]) -> dict:
    """The campaigns of ``points_by_source`` ranked by points and by matched sales (``TOP`` each; no query)."""
    campaigns = [row for row in by_source if row["campaign"]]
    return {
        "points": sorted(campaigns, key=lambda row: (-row["points"], row["label"], row["campaign"]))[:TOP],
        "sales": sorted(campaigns, key=lambda row: (-row["sales"], row["label"], row["campaign"]))[:TOP],
    }


def top_rewards(period: Period, state: RollupState | None = None) -> dict:
    """Redemptions made in the period per reward (count, units, points debited; cancelled ones included), ranked
    by redemptions and by points (``TOP`` each), in one query: the closed days' ``DayReward`` and the live days'
    redemptions (their ``redeem`` entries, ``entry_kind_created``, then their unique ``entry`` column)."""
    split = _split(period, state)
    redemption, reward, entry = Redemption._meta.db_table, Reward._meta.db_table, Entry._meta.db_table
    sql = (
        "SELECT s.reward_id, w.name, w.name_fr, SUM(s.redemptions), SUM(s.units), SUM(s.points) FROM ("
        f" SELECT d.reward_id, d.redemptions, d.units, d.points FROM {DayReward._meta.db_table} d"
        " WHERE d.day >= %s AND d.day <= %s"
        " UNION ALL"
        f" SELECT r.reward_id, 1, r.quantity, r.points FROM {redemption} r JOIN {entry} e ON e.id = r.entry_id"
        " WHERE e.kind = %s AND e.created_at >= %s AND e.created_at < %s"
        f") s JOIN {reward} w ON w.id = s.reward_id GROUP BY s.reward_id, w.name, w.name_fr"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [split.start, split.rolled_end, EntryKind.REDEEM, *_bounds(split.live_since, split.until)])
        rows = cursor.fetchall()
    rewards = [
        {
            "reward": pk,
            "label": localized(name, name_fr),
            "redemptions": int(redemptions),
            "units": int(units),
            "points": int(points),
        }
        for pk, name, name_fr, redemptions, units, points in rows
    ]
    return {
        "redemptions": sorted(rewards, key=lambda row: (-row["redemptions"], row["label"], row["reward"]))[:TOP],
        "points": sorted(rewards, key=lambda row: (-row["points"], row["label"], row["reward"]))[:TOP],
    }


FORECAST_MONTHS = 12


def expiry_forecast(today: date | None = None, rows: list | None = None) -> list[dict]:
    """Points of open lots (pending ones too) by the month of their last day, for this month and the 11 after, in
    one query (index ``lot_open_by_expiry``; ``rows``: those of ``forecast_rows``, from a snapshot): what expires
    unless it is spent, the expected breakage. Lots already past their last day (the expiry task has not run yet)
    count in this month; lots that never expire are left out."""
    today = today or program_date()
    first = today.replace(day=1)
    rows = forecast_rows(today) if rows is None else rows
    months = {add_months(first, offset): {"points": 0, "lots": 0} for offset in range(FORECAST_MONTHS)}
    for month, points, lots in rows:
        month = month if isinstance(month, date) else date.fromisoformat(str(month)[:10])
        slot = months[max(month, first)]
        slot["points"] += points
        slot["lots"] += lots
    value = settings.LOYALTY_POINT_VALUE
    return [
        {"month": month, **slot, "value": (Decimal(slot["points"]) * value).quantize(CENT)}
        for month, slot in months.items()
    ]


def forecast_rows(today: date) -> list[list]:
    """``[month, points, lots]`` of the open lots that expire before 12 months from ``today``'s month."""
    after = add_months(today.replace(day=1), FORECAST_MONTHS)
    rows = (
        Lot.objects.filter(remaining__gt=0, expires_on__isnull=False, expires_on__lt=after)
        .annotate(month=TruncMonth("expires_on"))
        .values_list("month", Sum("remaining"), Count("pk"))
        .order_by("month")
    )
    return [[str(month)[:10], points, lots] for month, points, lots in rows]


def _money(value) -> Decimal:
    """A sum of money from the database (SQLite answers a float, PostgreSQL a Decimal), to cents."""
    return Decimal(str(value or 0)).quantize(CENT)
