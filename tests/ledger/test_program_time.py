"""Program dates are counted in the program's time zone (TIME_ZONE), whatever time zone is active.

Each test computes its answer with no zone active, then again under far zones on either
side (``timezone.override``, as a member's browser would set it): the answers must be
the same. The program here runs in Paris; the moments sit near midnight there, where
Tokyo and Honolulu are on another day.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from loyalty.clock import program_date, program_day_start
from loyalty.ledger import policy
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, EntryKind, Lot
from members import selectors
from tests.factories.members import MemberFactory

FAR_ZONES = ["Asia/Tokyo", "Pacific/Honolulu", "America/Los_Angeles"]
# 31 March 2027, 22:30 UTC: already 1 April, 00:30, in Paris (summer time); 07:30 on 1 April
# in Tokyo; 12:30 on 31 March in Honolulu.
LATE = datetime(2027, 3, 31, 22, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def program_in_paris(settings):
    settings.TIME_ZONE = "Europe/Paris"
    settings.LOYALTY_POINTS_EXPIRY_POLICY = "days"
    settings.LOYALTY_POINTS_EXPIRY_PERIOD = 10


def in_every_zone(compute):
    """``compute()`` with no zone active, then under each far zone: all must agree."""
    expected = compute()
    for zone in FAR_ZONES:
        with timezone.override(zone):
            assert compute() == expected, zone
    return expected


def test_the_program_day_and_its_midnight_do_not_follow_the_active_zone():
    assert in_every_zone(lambda: program_date(LATE)) == date(2027, 4, 1)
    assert in_every_zone(lambda: program_day_start(date(2027, 4, 1))) == datetime(2027, 3, 31, 22, tzinfo=UTC)


def test_the_same_credit_gets_the_same_last_day(db):
    def credit_last_day():
        account = MemberFactory().account
        entry = ledger.credit(account, 100, cause=account.member, now=LATE)
        return entry.lots.get().expires_on

    assert in_every_zone(lambda: policy.expiry_date(LATE)) == date(2027, 4, 11)
    assert in_every_zone(credit_last_day) == date(2027, 4, 11)


@pytest.mark.parametrize(
    ("moment", "expired"),
    [
        (datetime(2027, 4, 11, 21, 59, tzinfo=UTC), 0),  # 23:59 on the last day in Paris: still good
        (datetime(2027, 4, 11, 22, 0, tzinfo=UTC), 100),  # 00:00 on 12 April in Paris: past it
    ],
    ids=["last minute of the last day", "first minute after"],
)
def test_the_daily_expiry_picks_the_same_lots(db, moment, expired):
    def expire():
        account = MemberFactory().account
        ledger.credit(account, 100, expires_on=date(2027, 4, 11), cause=account.member, now=LATE)
        ledger.expire_due(now=moment)
        account.refresh_from_db()
        return account.lifetime_expired

    assert in_every_zone(expire) == expired


@pytest.mark.parametrize(
    ("moment", "spent_from"),
    [
        (datetime(2027, 4, 11, 21, 59, tzinfo=UTC), [30]),  # the soonest lot still counts
        (datetime(2027, 4, 11, 22, 0, tzinfo=UTC), [50]),  # it expired first; the later lot pays
    ],
    ids=["last minute of the last day", "first minute after"],
)
def test_a_debit_settles_and_spends_the_same_lots(db, moment, spent_from):
    def spend():
        account = MemberFactory().account
        ledger.credit(account, 30, expires_on=date(2027, 4, 11), cause=account.member, now=LATE)
        ledger.credit(account, 50, expires_on=date(2027, 4, 12), cause=account.member, now=LATE)
        debit = ledger.debit(account, 10, cause=account.member, now=moment)
        return [allocation.lot.amount for allocation in debit.allocations.select_related("lot")]

    assert in_every_zone(spend) == spent_from


def test_a_pending_credit_is_released_on_the_same_moment(db):
    def release(moment):
        def run():
            account = MemberFactory().account
            ledger.credit(account, 10, available_at=datetime(2027, 4, 2, tzinfo=UTC), cause=account.member, now=LATE)
            ledger.release_pending(now=moment)
            return Lot.objects.get(account=account).pending

        return run

    assert in_every_zone(release(datetime(2027, 4, 1, 23, 59, tzinfo=UTC))) is True
    assert in_every_zone(release(datetime(2027, 4, 2, tzinfo=UTC))) is False


def test_the_portal_and_api_selectors_give_the_same_days(db):
    # given a member with pending points that become available at 23:30 UTC on 1 April
    # (2 April in Paris), points whose last day is 11 April, and an entry at 22:30 UTC on
    # 31 March (1 April in Paris)
    member = MemberFactory()
    ledger.credit(member.account, 40, available_at=datetime(2027, 4, 1, 23, 30, tzinfo=UTC), cause=member, now=LATE)
    ledger.credit(member.account, 60, expires_on=date(2099, 4, 11), cause=member, now=LATE)

    pending = in_every_zone(lambda: selectors.member_pending(member=member))
    expiring = in_every_zone(lambda: selectors.member_expiring(member=member))
    on_first_of_april = in_every_zone(
        lambda: list(selectors.member_entries(member=member, since=date(2027, 4, 1), until=date(2027, 4, 1)))
    )
    on_31_march = in_every_zone(
        lambda: list(selectors.member_entries(member=member, since=date(2027, 3, 31), until=date(2027, 3, 31)))
    )

    assert pending == [{"available_on": date(2027, 4, 2), "points": 40}]
    assert expiring == [{"expires_on": date(2099, 4, 11), "points": 60}]
    assert len(on_first_of_april) == 2
    assert on_31_march == []


def test_an_expiry_entry_names_the_program_day_of_its_run(db):
    def run_day():
        account = MemberFactory().account
        ledger.credit(account, 5, expires_on=date(2027, 3, 31), cause=account.member, now=LATE - timedelta(days=1))
        ledger.expire_due(now=LATE)
        return Entry.objects.filter(account=account, kind=EntryKind.EXPIRE).get().cause.program_day

    assert in_every_zone(run_day) == date(2027, 4, 1)
