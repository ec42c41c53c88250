"""The program dashboard's figures: each one aggregate query over the ledger, members and campaigns.

A period is ``[start, end]`` in program days (loyalty/clock.py); its moments run from the
start day's midnight to the midnight after the end day, excluded.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, DateField, Q, Sum
from django.db.models.functions import Trunc, TruncMonth
from django.utils.translation import gettext as _

from campaigns.breakdown import localized
from campaigns.models import Award, AwardSource, Campaign, Event, Purchase
from loyalty.clock import add_months, program_date, program_day_start, program_timezone
from loyalty.ledger.models import Account, Entry, EntryKind, Lot
from members.models import Member, MemberStatus
from members.referrals.models import Referral, ReferralStatus
from members.tiers.models import MemberTier, Tier, TierChange
from rewards.models import Redemption

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


def ledger_totals(period: Period) -> dict:
    """Points issued (earn, bonus), redeemed, expired, and the active members, in one query."""
    window = Q(created_at__gte=period.since, created_at__lt=period.until, kind__in=ALL_KINDS)
    row = Entry.objects.filter(window).aggregate(
        issued=Sum("amount", filter=Q(kind__in=ISSUED_KINDS)),
        redeemed=Sum("amount", filter=Q(kind=EntryKind.REDEEM)),
        expired=Sum("amount", filter=Q(kind__in=(EntryKind.EXPIRE, EntryKind.FORFEIT))),
        active=Count("account", distinct=True),  # an account per member: no join to the accounts
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
        Entry.objects.filter(
            created_at__gte=period.since, created_at__lt=period.until, kind__in=ALL_KINDS, amount__gt=0
        )
        .values("kind")
        .annotate(points=Sum("amount"))
        .order_by("kind")
    )
    labels = dict(EntryKind.choices)
    return [
        {"kind": row["kind"], "label": str(labels.get(row["kind"], row["kind"])), "points": row["points"]}
        for row in rows
    ]


def dashboard(period: Period, *, inactive_days: int = 90) -> dict:
    """Every figure of the period and of the previous one of equal length, in 19 queries whatever the data (the
    page adds 4: session, user, permissions)."""
    previous = period.previous()
    figures = {}
    for name, chosen in (("current", period), ("previous", previous)):
        totals = ledger_totals(chosen)
        members = member_totals(chosen)
        totals.update(members)
        totals["participation"] = _ratio(totals["active"], members["members"])
        totals.update(purchase_totals(chosen))
        totals["churn"] = churn(chosen, inactive_days)
        totals["tier_movements"] = tier_movements(chosen)
        totals["referrals"] = referral_funnel(chosen)
        figures[name] = totals
    by_source = points_by_source(period)
    return {
        "figures": figures,
        "outstanding": outstanding(),
        "by_kind": issued_by_kind(period),
        "previous": previous,
        "series": ledger_series(period),
        "by_source": by_source,
        "top_campaigns": top_campaigns(by_source),
        "top_rewards": top_rewards(period),
        "tiers": tier_distribution(),
        "forecast": expiry_forecast(),
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


def ledger_series(period: Period) -> dict:
    """Points issued, redeemed and expired per day (week, month: ``series_step``) of the period, program time, in
    one query over ``entry_kind_created``; buckets without entries are zeros. A week or month that the period
    cuts is counted only within the period (its first bucket starts at the period's start)."""
    step = series_step(period)
    bucket = Trunc("created_at", step, output_field=DateField(), tzinfo=program_timezone())
    rows = (
        Entry.objects.filter(
            created_at__gte=period.since,
            created_at__lt=period.until,
            kind__in=(*ISSUED_KINDS, *REDEEMED_KINDS, *EXPIRED_KINDS),
        )
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(
            issued=Sum("amount", filter=Q(kind__in=ISSUED_KINDS)),
            redeemed=Sum("amount", filter=Q(kind__in=REDEEMED_KINDS)),
            expired=Sum("amount", filter=Q(kind__in=EXPIRED_KINDS)),
        )
        .order_by("bucket")
    )
    found = {}
    for row in rows:
        day = row["bucket"] if isinstance(row["bucket"], date) else date.fromisoformat(str(row["bucket"])[:10])
        found[max(_bucket_of(day, step), _bucket_of(period.start, step))] = row
    points, day = [], _bucket_of(period.start, step)
    while day <= period.end:
        row = found.get(day, {})
        points.append(
            {
                "start": max(day, period.start),
                "issued": row.get("issued") or 0,
                "redeemed": -(row.get("redeemed") or 0),
                "expired": -(row.get("expired") or 0),
            }
        )
        day = _bucket_of(day + timedelta(days={"day": 1, "week": 7, "month": 31}[step]), step)
    return {"step": step, "points": points}


def purchase_totals(period: Period) -> dict:
    """Average basket of the buyers with and without a redemption in the period, and the repeat purchase rate, in
    one query: purchases that occurred in the period grouped per member (index ``purchase_by_occurred_at``), left
    joined to the distinct accounts with a ``redeem`` entry in the period (``entry_kind_created``, the index alone).
    A join, not an ``EXISTS`` per buyer: a hash join over both sets, whatever the number of buyers. The buyers
    are joined to their accounts, not the redeeming entries to theirs: with 4 MB of work_mem, a parallel DISTINCT
    of members after that join spilled for minutes at 1M members (bench phase ``dashboard``)."""
    purchase, entry, account = Purchase._meta.db_table, Entry._meta.db_table, Account._meta.db_table
    sides = []
    for test in ("r.account_id IS NOT NULL", "r.account_id IS NULL"):
        sides += [f"SUM(CASE WHEN {test} THEN {value} ELSE 0 END)" for value in ("1", "b.purchases", "b.spent")]
    sql = (
        f"SELECT COUNT(b.member_id), SUM(CASE WHEN b.purchases >= 2 THEN 1 ELSE 0 END), {', '.join(sides)} FROM ("
        " SELECT p.member_id, COUNT(*) AS purchases, SUM(p.amount) AS spent"
        f" FROM {purchase} p WHERE p.occurred_at >= %s AND p.occurred_at < %s GROUP BY p.member_id"
        f") b JOIN {account} a ON a.member_id = b.member_id LEFT JOIN ("
        f" SELECT DISTINCT e.account_id FROM {entry} e"
        f" WHERE e.kind IN ({', '.join(['%s'] * len(REDEEMED_KINDS))}) AND e.created_at >= %s AND e.created_at < %s"
        ") r ON r.account_id = a.id"
    )
    bounds = _bounds(period.since, period.until)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*bounds, *REDEEMED_KINDS, *bounds])
        buyers, repeat, *values = cursor.fetchone()
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


def churn(period: Period, inactive_days: int) -> dict:
    """Members who joined before the last ``inactive_days`` program days of the period (up to its end) and have no
    ledger entry in those days, in one query: their accounts left joined to the distinct accounts with an entry
    in the window (``entry_kind_created``, every kind), so a hash join rather than a probe per member."""
    since = program_day_start(period.end + timedelta(days=1 - inactive_days))
    entry, account, member = Entry._meta.db_table, Account._meta.db_table, Member._meta.db_table
    sql = (
        "SELECT COUNT(a.id), SUM(CASE WHEN w.account_id IS NULL THEN 1 ELSE 0 END)"
        f" FROM {account} a JOIN {member} m ON m.id = a.member_id LEFT JOIN ("
        f" SELECT DISTINCT e.account_id FROM {entry} e WHERE e.kind IN ({', '.join(['%s'] * len(ALL_KINDS))})"
        " AND e.created_at >= %s AND e.created_at < %s"
        ") w ON w.account_id = a.id WHERE m.joined_at < %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ALL_KINDS, *_bounds(since, period.until), *_bounds(since)])
        members, inactive = cursor.fetchone()
    inactive = inactive or 0
    return {"days": inactive_days, "members": members, "inactive": inactive, "rate": _ratio(inactive, members)}


def _bounds(*moments) -> list:
    """Moments as raw SQL parameters (SQLite stores text)."""
    return [connection.ops.adapt_datetimefield_value(moment) for moment in moments]


def tier_distribution() -> list[dict]:
    """Members per tier now (every tier, in rank order, then "no tier"), closed members left out, in one query."""
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
        rows = cursor.fetchall()
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


def points_by_source(period: Period) -> list[dict]:
    """What purchases and events earned in the period per source (base rate, each campaign, tier multiplier), from
    their Award rows: points awarded, net of what returns took back since, the purchases matched and their amounts
    (each purchase once per campaign), in one query. A purchase's or an event's awards count in the period of its
    ledger entry (``entry_kind_created``, then the unique ``entry`` of the purchase or event)."""
    award, purchase, event = Award._meta.db_table, Purchase._meta.db_table, Event._meta.db_table
    entry, campaign = Entry._meta.db_table, Campaign._meta.db_table
    window = "e.created_at >= %s AND e.created_at < %s"
    sql = (
        "SELECT s.source, s.campaign_id, c.name, c.name_fr, SUM(s.points), SUM(s.net), SUM(s.amount),"
        " COUNT(s.purchase_id) FROM ("
        " SELECT a.source, a.campaign_id, a.purchase_id, SUM(a.points) AS points,"
        " SUM(a.points - a.returned_points) AS net, MAX(p.amount) AS amount"
        f" FROM {award} a JOIN {purchase} p ON p.id = a.purchase_id JOIN {entry} e ON e.id = p.entry_id"
        f" WHERE e.kind = %s AND {window} GROUP BY a.source, a.campaign_id, a.purchase_id"
        " UNION ALL"
        " SELECT a.source, a.campaign_id, NULL, SUM(a.points), SUM(a.points - a.returned_points), 0"
        f" FROM {award} a JOIN {event} v ON v.id = a.event_id JOIN {entry} e ON e.id = v.entry_id"
        f" WHERE e.kind = %s AND {window} GROUP BY a.source, a.campaign_id"
        f") s LEFT JOIN {campaign} c ON c.id = s.campaign_id"
        " GROUP BY s.source, s.campaign_id, c.name, c.name_fr"
    )
    bounds = _bounds(period.since, period.until)
    with connection.cursor() as cursor:
        cursor.execute(sql, [EntryKind.EARN, *bounds, EntryKind.BONUS, *bounds])
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
            "purchases": purchases,
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


def top_rewards(period: Period) -> dict:
    """Redemptions made in the period per reward (count, units, points debited; cancelled ones included), ranked
    by redemptions and by points (``TOP`` each), in one query: the redemptions' ``redeem`` entries in the period
    (``entry_kind_created``), then their unique ``entry`` column."""
    rows = list(
        Redemption.objects.filter(
            entry__kind=EntryKind.REDEEM, entry__created_at__gte=period.since, entry__created_at__lt=period.until
        )
        .values("reward_id", "reward__name", "reward__name_fr")
        .annotate(redemptions=Count("pk"), units=Sum("quantity"), points=Sum("points"))
        .order_by()
    )
    rewards = [
        {
            "reward": row["reward_id"],
            "label": localized(row["reward__name"], row["reward__name_fr"]),
            "redemptions": row["redemptions"],
            "units": row["units"],
            "points": row["points"],
        }
        for row in rows
    ]
    return {
        "redemptions": sorted(rewards, key=lambda row: (-row["redemptions"], row["label"], row["reward"]))[:TOP],
        "points": sorted(rewards, key=lambda row: (-row["points"], row["label"], row["reward"]))[:TOP],
    }


FORECAST_MONTHS = 12


def expiry_forecast(today: date | None = None) -> list[dict]:
    """Points of open lots (pending ones too) by the month of their last day, for this month and the 11 after, in
    one query (index ``lot_open_by_expiry``): what expires unless it is spent, the expected breakage. Lots already
    past their last day (the expiry task has not run yet) count in this month; lots that never expire are left out."""
    today = today or program_date()
    first = today.replace(day=1)
    after = add_months(first, FORECAST_MONTHS)
    rows = (
        Lot.objects.filter(remaining__gt=0, expires_on__isnull=False, expires_on__lt=after)
        .annotate(month=TruncMonth("expires_on"))
        .values("month")
        .annotate(points=Sum("remaining"), lots=Count("pk"))
        .order_by("month")
    )
    months = {add_months(first, offset): {"points": 0, "lots": 0} for offset in range(FORECAST_MONTHS)}
    for row in rows:
        month = row["month"] if isinstance(row["month"], date) else date.fromisoformat(str(row["month"])[:10])
        slot = months[max(month, first)]
        slot["points"] += row["points"]
        slot["lots"] += row["lots"]
    value = settings.LOYALTY_POINT_VALUE
    return [
        {"month": month, **slot, "value": (Decimal(slot["points"]) * value).quantize(CENT)}
        for month, slot in months.items()
    ]


def _money(value) -> Decimal:
    """A sum of money from the database (SQLite answers a float, PostgreSQL a Decimal), to cents."""
    return Decimal(str(value or 0)).quantize(CENT)
