"""The dashboard read from its rollups (closed days) and the ledger (the days after) is the dashboard read live.

The generated program of test_reconciliation.py (200 members, 100 days of purchases, returns, events,
adjustments, redemptions, pending points and expiry) is rolled up to several days; every figure of every
period must equal the live figures (no rollup at all), which that module holds to the ledger's sums. Then
what can still change a closed day: a day recomputed (twice), entries dated in it after its computation,
a purchase imported for it, a return of one of its purchases, a member who joined on it.
"""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from campaigns.models import Purchase
from loyalty.clock import program_date, program_day_start
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Account, Entry
from loyalty.reports import rollup, selectors, tasks
from loyalty.reports.models import DayActivity, DayBuyer, DayKindTotal, DaySource, RollupState, Snapshot
from members.models import Member
from tests.factories.campaigns import item, purchase_post, return_post
from tests.factories.members import MemberFactory

from .test_reconciliation import FIRST_DAY, LAST_DAY, PERIODS, PROGRAM_SETTINGS, Program, ledger_figures

CUTS = {
    "nothing closed": None,
    "closed through day 40": FIRST_DAY + timedelta(days=40),
    "closed through the period of two weeks' middle": PERIODS["two weeks in the middle"][0] + timedelta(days=6),
    "closed through the last day": LAST_DAY,
}
NOT_ROLLED = ("rollup", "as_of")


@pytest.fixture(scope="module")
def program(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(**PROGRAM_SETTINGS), transaction.atomic():
        program = Program(seed=2028)
        program.play(members=120)
        yield program
        transaction.set_rollback(True)


def figures(start, end, inactive_days=30) -> dict:
    report = selectors.dashboard(selectors.Period(start, end), inactive_days=inactive_days)
    return {name: value for name, value in report.items() if name not in NOT_ROLLED}


def close_through(day) -> None:
    if day is not None:
        rollup.close_days(today=day + timedelta(days=1))


@pytest.mark.parametrize("cut", CUTS.values(), ids=CUTS.keys())
@pytest.mark.parametrize("period", PERIODS.values(), ids=PERIODS.keys())
def test_every_figure_from_the_rollups_is_the_live_one(db, program, period, cut):
    live = figures(*period)

    close_through(cut)

    assert RollupState.objects.get().closed_through == cut if cut else not RollupState.objects.exists()
    assert list(_diff(figures(*period), live)) == []
    expected = ledger_figures(*period)
    assert {name: live["figures"]["current"][name] for name in ("issued", "active", "members", "new")} == {
        name: expected[name] for name in ("issued", "active", "members", "new")
    }


def test_a_churn_window_longer_than_the_period_reads_closed_days_before_it(db, program):
    period = PERIODS["one day"]
    live = figures(*period, inactive_days=45)

    close_through(period[0] - timedelta(days=10))

    assert figures(*period, inactive_days=45) == live
    assert live["figures"]["current"]["churn"]["inactive"] > 0


def test_a_day_recomputed_twice_is_the_same(db, program):
    close_through(LAST_DAY)
    day = FIRST_DAY + timedelta(days=30)
    tables = (DayKindTotal, DayActivity, DaySource, DayBuyer)

    def rows():
        return [sorted(model.objects.filter(day=day).values_list(*_columns(model))) for model in tables]

    before, shown = rows(), figures(*PERIODS["everything"])
    rollup.close_day(day)
    rollup.close_day(day)

    assert rows() == before
    assert all(before)  # the day has rows in every table
    assert figures(*PERIODS["everything"]) == shown


def _columns(model):
    return [field.name for field in model._meta.fields if field.name not in ("id",)]


def test_rows_written_into_closed_days_are_counted_by_the_next_run(db, program):
    close_through(LAST_DAY)
    day = FIRST_DAY + timedelta(days=20)
    moment = program_day_start(day) + timedelta(hours=10)
    account = Account.objects.order_by("pk").first()
    ledger.credit(account, 77, now=moment)  # an entry dated in a closed day (the ledger takes a ``now``)
    joined = MemberFactory()
    Member.objects.filter(pk=joined.pk).update(joined_at=moment)  # a member who joined on it (an import)
    member = account.member
    purchase = purchase_post(member, item(sku="LATE", quantity="1", unit_price="40.00"), now=moment)
    return_post(purchase, items=[(1, "1")], now=moment + timedelta(hours=1))  # the awards' net changes
    live = _live(*PERIODS["everything"])

    result = rollup.close_days(today=LAST_DAY + timedelta(days=1))

    assert result["first"] == day  # the late rows' day, and the later days of the account's entries
    assert figures(*PERIODS["everything"]) == live
    assert figures(*PERIODS["two weeks in the middle"]) == _live(*PERIODS["two weeks in the middle"])


def _live(start, end):
    """The figures with the rollups set aside (every day live), in a savepoint rolled back."""
    with transaction.atomic():
        RollupState.objects.all().delete()
        shown = figures(start, end)
        transaction.set_rollback(True)
    return shown


def test_todays_entries_count_live_beside_the_closed_days(db, program):
    close_through(LAST_DAY)
    today = LAST_DAY + timedelta(days=1)
    account = Account.objects.order_by("pk").last()
    ledger.credit(account, 55, now=program_day_start(today) + timedelta(hours=9))
    period = (today - timedelta(days=29), today)

    shown = figures(*period)

    assert shown == _live(*period)
    assert shown["figures"]["current"]["issued"] == ledger_figures(*period)["issued"]
    assert shown["series"]["points"][-1]["issued"] == 55


def test_outstanding_from_the_rollups_is_the_balances(db, program):
    close_through(LAST_DAY - timedelta(days=3))

    outstanding = selectors.outstanding()

    balances = sum(Account.objects.values_list("balance", flat=True))
    assert outstanding["points"] == balances
    assert outstanding["points"] == sum(Entry.objects.values_list("amount", flat=True)) - sum(
        Account.objects.values_list("pending", flat=True)
    )
    assert isinstance(outstanding["liability"], Decimal)


def test_the_snapshots_are_the_figures_of_their_time_and_say_so(db, program, client, django_user_model):
    live = selectors.dashboard(selectors.Period(*PERIODS["everything"]))

    rollup.snapshot_now()

    report = selectors.dashboard(selectors.Period(*PERIODS["everything"]))
    assert report["tiers"] == live["tiers"]
    assert report["forecast"] == live["forecast"]
    assert report["as_of"]["tiers"] == Snapshot.objects.get(name="tiers").computed_at
    assert live["as_of"] == {"tiers": None, "forecast": None}


def test_the_hourly_task_and_the_command_roll_up_to_a_moment_ago_and_snapshot(db, program):
    yesterday = program_date() - timedelta(days=1)
    ledger.credit(Account.objects.order_by("pk").first(), 5, now=program_day_start(yesterday) + timedelta(hours=12))

    result = tasks.close_days()

    closed = RollupState.objects.get()
    assert closed.closed_through == program_date()  # today too, up to a moment ago: the rest stays live
    assert timezone.now() - timedelta(minutes=3) < closed.closed_until < timezone.now()
    assert result["last"] == str(program_date())
    assert DayKindTotal.objects.get(day=yesterday, kind="earn").points == 5
    assert Snapshot.objects.count() == 2
    call_command("reports_rollup", "--from", yesterday.isoformat(), "--no-snapshot", stdout=StringIO())
    assert DayKindTotal.objects.get(day=yesterday, kind="earn").points == 5
    with pytest.raises(CommandError):
        call_command("reports_rollup", "--from", program_date().isoformat(), stdout=StringIO())


def _diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in set(a) | set(b):
            yield from _diff(a.get(key), b.get(key), f"{path}.{key}")
    elif a != b:
        yield path, a, b


def test_the_program_has_buyers_repeat_buyers_and_both_baskets(db, program):
    current = figures(*PERIODS["the last 30 days"])["figures"]["current"]

    assert current["buyers"] > current["repeat_buyers"] > 0
    assert current["basket_with"]["members"] > 0
    assert current["basket_without"]["members"] > 0
    assert current["churn"]["inactive"] > 0


def test_today_rolled_up_in_part_then_in_full_gives_the_live_figures(db, program):
    day = FIRST_DAY + timedelta(days=55)
    period = (day - timedelta(days=29), day)
    live = figures(*period)
    close_through(day - timedelta(days=5))

    for hour in (9, 14, 20):  # the hourly runs of the day: up to a moment of it, the rest live
        until = program_day_start(day) + timedelta(hours=hour, minutes=7)
        rollup.close_days(today=day, until=until)
        closed = RollupState.objects.get()
        assert (closed.closed_through, closed.closed_until) == (day, until)
        assert list(_diff(figures(*period), live)) == []
        assert list(_diff(figures(*PERIODS["everything"]), _live(*PERIODS["everything"]))) == []

    rollup.close_days(today=day + timedelta(days=1))  # the next night: the day in full

    closed = RollupState.objects.get()
    assert (closed.closed_through, closed.until) == (day, program_day_start(day + timedelta(days=1)))
    assert list(_diff(figures(*period), live)) == []


def test_the_cached_closed_sums_with_members_touched_since_are_the_live_figures(db, program):
    close_through(LAST_DAY)
    today = LAST_DAY + timedelta(days=1)
    period = (today - timedelta(days=29), today)
    first = figures(*period)  # fills the cache of the closed days' sums over every member
    assert first == _live(*period)
    buyer = Purchase.objects.filter(occurred_at__gte=program_day_start(period[0])).order_by("pk").first().member

    purchase_post(buyer, item(sku="TODAY", quantity="1", unit_price="12.00"), now=program_day_start(today))
    shown = figures(*period)  # the cached sums, less the buyer's rows, plus the buyer summed from scratch

    assert shown == _live(*period)
    assert shown != first
    assert shown["figures"]["current"]["buyers"] == first["figures"]["current"]["buyers"]
