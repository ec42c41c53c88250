"""The dashboard's rollups (models.py): program days summed once by the hourly task, set-based.

``close_days`` computes the days after ``RollupState.closed_through`` up to yesterday, today up to a moment ago
(``RollupState.closed_until``; the hourly task: the page reads only what came after live), and again any closed day
that rows written since the last run fall in: an entry dated in it (the ledger takes a ``now``), a member who
joined on it, a purchase that occurred on it (an import of yesterday's till), a return of one of its purchases
(the awards' net). Each day is deleted and written again in one transaction, so recomputing a day replaces it.
The watermarks (the last ids seen) are read before the days are computed: a row committed later is caught by
the next run. ``snapshot_now`` stores the "now" figures the page shows with their time.
"""

from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Max, Min, OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaigns.models import Award, Event, Purchase, PurchaseReturn
from loyalty.clock import program_date, program_day_start, program_timezone
from loyalty.ledger.models import Account, Entry, EntryKind
from members.models import Member

from .models import DayActivity, DayBuyer, DayJoined, DayKindTotal, DayReward, DaySource, RollupState, Snapshot

ALL_KINDS = tuple(EntryKind.values)
TABLES = (DayKindTotal, DayJoined, DayActivity, DaySource, DayReward, DayBuyer)


def state() -> RollupState:
    return RollupState.objects.first() or RollupState()


LIVE_MARGIN = timedelta(minutes=2)  # a transaction in flight may still commit rows dated before now: left live


def close_days(today: date | None = None, *, first: date | None = None, until: datetime | None = None) -> dict:
    """Compute every day not yet closed up to the day before ``today`` (from ``first``, else the day rolled up in
    part or the day after the last closed one, else the first day of an entry, a member or a purchase), the
    closed days that later rows fall in and, up to ``until``, today itself (by default, when ``today`` is left
    out: up to now less ``LIVE_MARGIN``); return how many days and the first and last."""
    if today is None:
        now = timezone.now()
        today, until = program_date(now), until or now - LIVE_MARGIN
    if until is not None and program_date(until) != today:
        until = None
    current = state()
    marks = {
        "entry_id": Entry.objects.aggregate(m=Max("pk"))["m"] or 0,
        "member_id": Member.objects.aggregate(m=Max("pk"))["m"] or 0,
        "purchase_id": Purchase.objects.aggregate(m=Max("pk"))["m"] or 0,
        "return_id": PurchaseReturn.objects.aggregate(m=Max("pk"))["m"] or 0,
    }
    last = today - timedelta(days=1)
    if first is None:
        if current.closed_through is not None:
            whole = current.until >= program_day_start(current.closed_through + timedelta(days=1))
            first = current.closed_through + timedelta(days=1 if whole else 0)
        else:
            earliest = [
                model.objects.aggregate(m=Min(field))["m"]
                for model, field in ((Entry, "created_at"), (Member, "joined_at"), (Purchase, "occurred_at"))
            ]
            earliest = [moment for moment in earliest if moment is not None]
            first = program_date(min(earliest)) if earliest else last
    days = {first + timedelta(days=n) for n in range((last - first).days + 1)}
    if current.closed_through is not None:
        days |= {day for day in _late_days(current, marks) if day <= min(current.closed_through, last)}
    for day in sorted(days):
        close_day(day, purchase_id=marks["purchase_id"])
    through, closed_until = max(last, current.closed_through or last), None
    if until is not None:
        close_day(today, purchase_id=marks["purchase_id"], until=until)
        through, closed_until = today, until
    elif current.closed_through is not None and current.closed_through > last:
        closed_until = current.closed_until  # a later day rolled up in part stays so
    RollupState.objects.update_or_create(
        pk=current.pk or 1,
        defaults={
            "closed_through": through,
            "closed_until": closed_until,
            "computed_at": timezone.now(),
            **marks,
        },
    )
    days |= {today} if until is not None else set()
    return {"days": len(days), "first": min(days, default=None), "last": max(days, default=None)}


def _late_days(current: RollupState, marks: dict) -> set[date]:
    """The days of the rows written since the last run: entries (and the later days with an entry of their accounts:
    their ``since`` may change), members, purchases (and their members' later days) and the purchases of returns."""
    tz = program_timezone()
    entries = Entry.objects.filter(pk__gt=current.entry_id, pk__lte=marks["entry_id"])
    days = set(entries.annotate(d=TruncDate("created_at", tzinfo=tz)).values_list("d", flat=True).distinct())
    if days:
        after = Entry.objects.filter(
            account_id__in=entries.values("account_id"), created_at__gte=program_day_start(min(days))
        ).exclude(pk__gt=current.entry_id)
        days |= set(after.annotate(d=TruncDate("created_at", tzinfo=tz)).values_list("d", flat=True).distinct())
    members = Member.objects.filter(pk__gt=current.member_id, pk__lte=marks["member_id"])
    days |= set(members.annotate(d=TruncDate("joined_at", tzinfo=tz)).values_list("d", flat=True).distinct())
    purchases = Purchase.objects.filter(pk__gt=current.purchase_id, pk__lte=marks["purchase_id"])
    late = set(purchases.annotate(d=TruncDate("occurred_at", tzinfo=tz)).values_list("d", flat=True).distinct())
    if late:  # and the later days of their members (the chains of ``DayBuyer``)
        after = DayBuyer.objects.filter(member_id__in=purchases.values("member_id"), day__gt=min(map(_day, late)))
        days |= late | set(after.values_list("day", flat=True).distinct())
    returned = Purchase.objects.filter(
        returns__pk__gt=current.return_id, returns__pk__lte=marks["return_id"], entry__isnull=False
    )
    days |= set(returned.annotate(d=TruncDate("entry__created_at", tzinfo=tz)).values_list("d", flat=True))
    return {day if isinstance(day, date) else date.fromisoformat(str(day)[:10]) for day in days}


def close_day(day: date, *, purchase_id: int | None = None, until: datetime | None = None) -> None:
    """Write every rollup of one program day (up to ``until``, today's: in part), replacing what it held."""
    since, end = program_day_start(day), program_day_start(day + timedelta(days=1))
    until = min(until, end) if until is not None else end
    bounds = [connection.ops.adapt_datetimefield_value(moment) for moment in (since, until)]
    kinds = ", ".join(["%s"] * len(ALL_KINDS))
    if purchase_id is None:
        purchase_id = Purchase.objects.aggregate(m=Max("pk"))["m"] or 0
    with transaction.atomic():
        for model in TABLES:
            model.objects.filter(day=day).delete()
        entry, purchase = Entry._meta.db_table, Purchase._meta.db_table
        award, event = Award._meta.db_table, Event._meta.db_table
        window = "e.created_at >= %s AND e.created_at < %s"
        _execute(
            f"INSERT INTO {DayKindTotal._meta.db_table} (day, kind, points, credits, entries)"
            " SELECT %s, e.kind, SUM(e.amount), SUM(CASE WHEN e.amount > 0 THEN e.amount ELSE 0 END), COUNT(*)"
            f" FROM {entry} e WHERE e.kind IN ({kinds}) AND {window} GROUP BY e.kind",
            [day, *ALL_KINDS, *bounds],
        )
        joined = Member.objects.filter(joined_at__gte=since, joined_at__lt=until).count()
        if joined:
            DayJoined.objects.create(day=day, members=joined)
        DayActivity.objects.bulk_create(_activity(day, since, until))
        _execute(
            f"INSERT INTO {DaySource._meta.db_table} (day, source, campaign_id, points, net, sales, purchases)"
            " SELECT %s, s.source, s.campaign_id, SUM(s.points), SUM(s.net), SUM(s.amount), COUNT(s.purchase_id)"
            " FROM (SELECT a.source, a.campaign_id, a.purchase_id, SUM(a.points) AS points,"
            " SUM(a.points - a.returned_points) AS net, MAX(p.amount) AS amount"
            f" FROM {award} a JOIN {purchase} p ON p.id = a.purchase_id JOIN {entry} e ON e.id = p.entry_id"
            f" WHERE e.kind = %s AND {window} GROUP BY a.source, a.campaign_id, a.purchase_id"
            " UNION ALL"
            " SELECT a.source, a.campaign_id, NULL, SUM(a.points), SUM(a.points - a.returned_points), 0"
            f" FROM {award} a JOIN {event} v ON v.id = a.event_id JOIN {entry} e ON e.id = v.entry_id"
            f" WHERE e.kind = %s AND {window} GROUP BY a.source, a.campaign_id"
            ") s GROUP BY s.source, s.campaign_id",
            [day, EntryKind.EARN, *bounds, EntryKind.BONUS, *bounds],
        )
        _execute(
            f"INSERT INTO {DayReward._meta.db_table} (day, reward_id, redemptions, units, points)"
            " SELECT %s, r.reward_id, COUNT(*), SUM(r.quantity), SUM(r.points)"
            f" FROM rewards_redemption r JOIN {entry} e ON e.id = r.entry_id"
            f" WHERE e.kind = %s AND {window} GROUP BY r.reward_id",
            [day, EntryKind.REDEEM, *bounds],
        )
        _buyers(day, bounds, purchase_id)


def _buyers(day: date, bounds: list, purchase_id: int) -> None:
    """The day's ``DayBuyer`` rows with their chains, read from the member's earlier and later rows (index
    ``daybuyer_member_day``) in the same ``INSERT`` (no second version of each row), then ``next_redeemed`` of
    the earlier rows of the day's redeemers."""
    from .selectors import _named

    buyer, purchase = DayBuyer._meta.db_table, Purchase._meta.db_table
    entry, account = Entry._meta.db_table, Account._meta.db_table
    member = "r.member_id = x.member_id"
    sql = (
        f"INSERT INTO {buyer} (day, member_id, purchases, spent, redeemed, previous, previous_single, previous2,"
        " last_redeemed, next_redeemed)"
        " SELECT %(day)s, x.member_id, x.purchases, x.spent, x.redeemed = 1, v.day, v.purchases = 1, v.previous,"
        f" CASE WHEN x.redeemed = 1 THEN %(day)s ELSE (SELECT MAX(r.day) FROM {buyer} r WHERE {member}"
        " AND r.day < %(day)s AND r.redeemed) END,"
        f" (SELECT MIN(r.day) FROM {buyer} r WHERE {member} AND r.day > %(day)s AND r.redeemed)"
        " FROM (SELECT y.member_id, SUM(y.purchases) AS purchases, SUM(y.spent) AS spent, MAX(y.redeemed) AS redeemed"
        " FROM ("
        f" SELECT p.member_id, COUNT(*) AS purchases, SUM(p.amount) AS spent, 0 AS redeemed FROM {purchase} p"
        " WHERE p.occurred_at >= %(since)s AND p.occurred_at < %(until)s AND p.id <= %(purchase_id)s"
        " GROUP BY p.member_id"
        " UNION ALL"
        f" SELECT a.member_id, 0, 0, 1 FROM (SELECT DISTINCT e.account_id FROM {entry} e"
        " WHERE e.kind = %(redeem)s AND e.created_at >= %(since)s AND e.created_at < %(until)s) t"
        f" JOIN {account} a ON a.id = t.account_id"
        f") y GROUP BY y.member_id) x LEFT JOIN {buyer} v ON v.member_id = x.member_id AND v.day = ("
        f"SELECT MAX(r.day) FROM {buyer} r WHERE {member} AND r.day < %(day)s AND r.purchases > 0)"
    )
    since, until = bounds
    names = {"day": day, "since": since, "until": until, "purchase_id": purchase_id, "redeem": EntryKind.REDEEM}
    _execute(*_named(sql, names))
    _execute(
        f"UPDATE {buyer} SET next_redeemed = %s WHERE day < %s AND (next_redeemed IS NULL OR next_redeemed > %s)"
        f" AND member_id IN (SELECT r.member_id FROM {buyer} r WHERE r.day = %s AND r.redeemed)",
        [day, day, day, day],
    )


def _activity(day: date, since, until) -> list[DayActivity]:
    """The accounts with an entry on the day, counted by the day of their previous entry (or their member's
    joining for a first entry): one probe of ``entry_account_history`` per account, grouped in the database."""
    tz = program_timezone()
    previous = Entry.objects.filter(account=OuterRef("pk"), created_at__lt=since).order_by("-created_at")
    rows = (
        Account.objects.filter(
            pk__in=Entry.objects.filter(kind__in=ALL_KINDS, created_at__gte=since, created_at__lt=until).values(
                "account_id"
            )
        )
        .annotate(previous=Subquery(previous.values("created_at")[:1]))
        .annotate(previous_day=TruncDate("previous", tzinfo=tz), joined_day=TruncDate("member__joined_at", tzinfo=tz))
        .values("previous_day", "joined_day")
        .annotate(members=Count("pk"))
        .order_by()
    )
    found = {}
    for row in rows:
        first = row["previous_day"] is None
        key = (_day(row["joined_day"] if first else row["previous_day"]), first)
        found[key] = found.get(key, 0) + row["members"]
    return [
        DayActivity(day=day, since=since_day, first=first, members=members)
        for (since_day, first), members in sorted(found.items())
    ]


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _execute(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def snapshot_now() -> None:
    """Store the tier distribution and the expiry forecast as they are now (the dashboard shows their time)."""
    from . import selectors

    now = timezone.now()
    today = program_date(now)
    for name, data in (
        ("tiers", selectors.tier_rows()),
        ("forecast", {"today": today.isoformat(), "rows": selectors.forecast_rows(today)}),
    ):
        Snapshot.objects.update_or_create(name=name, defaults={"data": data, "computed_at": now})


def warm(today: date | None = None) -> None:
    """Fill the cache of the default period's buyers (the last 30 days, and the 30 before) for the next GET."""
    from .selectors import Period, purchase_totals

    today = today or program_date()
    period = Period(today - timedelta(days=29), today)
    for chosen in (period, period.previous()):
        purchase_totals(chosen)
