"""Streaks: kept in the transaction of each purchase and event, by ``missions.runs``' one rule."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.events import birthday_events_record, event_record
from campaigns.models import Event, EventType
from missions.streaks.models import MemberActivity
from missions.streaks.selectors import member_streak_get
from missions.streaks.services import activity_record
from tests.factories.campaigns import NOW, purchase_post
from tests.factories.events import EventTypeFactory
from tests.factories.games import streak_policy
from tests.factories.members import MemberFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
DAY = timedelta(days=1)


def streak(member) -> tuple[int, int]:
    row = MemberActivity.objects.get(pk=member.pk)
    return row.streak_current, row.streak_longest


def buy_on(member, *moments):
    for moment in moments:
        purchase_post(member, now=moment)


def test_purchases_on_consecutive_days_make_a_streak():
    member = MemberFactory()

    buy_on(member, NOW, NOW + timedelta(hours=2), NOW + DAY, NOW + 2 * DAY)

    assert streak(member) == (3, 3)


def test_a_missed_day_starts_the_streak_again_and_keeps_the_longest():
    member = MemberFactory()

    buy_on(member, NOW, NOW + DAY, NOW + 3 * DAY)

    assert streak(member) == (1, 2)


@pytest.mark.parametrize(("grace", "expected"), [(0, (1, 2)), (1, (3, 3)), (2, (3, 3))], ids=["none", "1", "2"])
def test_a_grace_period_bridges_missed_days(grace, expected):
    streak_policy(grace=grace)
    member = MemberFactory()

    buy_on(member, NOW, NOW + DAY, NOW + 3 * DAY)  # the 3rd day missed

    assert streak(member) == expected


def test_two_missed_days_are_beyond_one_grace_day():
    streak_policy(grace=1)
    member = MemberFactory()

    buy_on(member, NOW, NOW + 3 * DAY)

    assert streak(member) == (1, 1)


def test_days_are_the_program_s_across_the_spring_dst_change(settings):
    settings.TIME_ZONE = "Europe/Paris"  # 28 March 2027: 02:00 becomes 03:00, the day has 23 hours
    member = MemberFactory()
    moments = [
        datetime(2027, 3, 27, 23, 30, tzinfo=PARIS),  # 22:30 UTC
        datetime(2027, 3, 28, 23, 30, tzinfo=PARIS),  # 21:30 UTC: 23 hours later, the next program day
        datetime(2027, 3, 29, 0, 30, tzinfo=PARIS),  # an hour later, yet another program day
    ]

    buy_on(member, *(moment.astimezone(UTC) for moment in moments))

    assert streak(member) == (3, 3)


def test_days_are_the_program_s_across_the_autumn_dst_change(settings):
    settings.TIME_ZONE = "Europe/Paris"  # 31 October 2027: 03:00 becomes 02:00, the day has 25 hours
    member = MemberFactory()
    moments = [
        datetime(2027, 10, 30, 0, 10, tzinfo=PARIS),
        datetime(2027, 10, 31, 0, 10, tzinfo=PARIS),
        datetime(2027, 10, 31, 23, 50, tzinfo=PARIS),  # 24 h 40 later, the same program day
        datetime(2027, 11, 1, 0, 5, tzinfo=PARIS),
    ]

    buy_on(member, *(moment.astimezone(UTC) for moment in moments))

    assert streak(member) == (3, 3)


def test_weeks_count_monday_to_sunday():
    streak_policy(unit="week")
    member = MemberFactory()
    sunday = datetime(2027, 3, 14, 20, tzinfo=UTC)

    buy_on(member, sunday - 6 * DAY, sunday, sunday + DAY, sunday + 8 * DAY)  # Mon, Sun, Mon, Tue

    assert streak(member) == (3, 3)


def test_the_current_streak_is_shown_only_while_alive():
    member = MemberFactory()
    buy_on(member, NOW, NOW + DAY)
    last = date(2027, 3, 11)

    shown = [member_streak_get(member=member, today=last + n * DAY) for n in range(3)]

    assert [(view.current, view.longest, view.active_today) for view in shown] == [
        (2, 2, True),
        (2, 2, False),  # today not active yet: still current
        (0, 2, False),  # a day missed: broken, the longest kept
    ]


def test_with_a_grace_day_the_streak_is_shown_a_day_longer():
    streak_policy(grace=1)
    member = MemberFactory()
    buy_on(member, NOW)

    assert member_streak_get(member=member, today=date(2027, 3, 12)).current == 1
    assert member_streak_get(member=member, today=date(2027, 3, 13)).current == 0


def test_an_older_purchase_posted_late_changes_nothing():
    member = MemberFactory()
    buy_on(member, NOW, NOW + DAY)

    purchase_post(member, now=NOW + DAY, occurred_at=NOW - 5 * DAY)

    assert streak(member) == (2, 2)
    assert MemberActivity.objects.get(pk=member.pk).purchases == 3


def test_changing_the_unit_starts_streaks_again():
    member = MemberFactory()
    buy_on(member, NOW, NOW + DAY)
    streak_policy(unit="week")

    assert member_streak_get(member=member, today=date(2027, 3, 11)).current == 0
    buy_on(member, NOW + 2 * DAY)

    assert streak(member) == (1, 1)
    assert MemberActivity.objects.get(pk=member.pk).streak_unit == "week"


def test_an_event_the_member_did_counts_a_birthday_does_not():
    review = EventTypeFactory()
    EventType.objects.filter(code="birthday").update(active=True, points=50)
    member = MemberFactory(birth_date=date(1990, 3, 12))

    event_record(member=member, event_type_code=review.code, external_id="R1", occurred_at=NOW, attributes={}, now=NOW)
    birthday_events_record(now=NOW + 2 * DAY)

    assert Event.objects.filter(member=member, event_type__code="birthday").exists()
    row = MemberActivity.objects.get(pk=member.pk)
    assert (row.streak_current, row.streak_last, row.purchases) == (1, date(2027, 3, 10).toordinal(), 0)


def test_recording_activity_costs_two_queries_and_none_written_for_the_same_day_again():
    member = MemberFactory()
    buy_on(member, NOW)
    from django.db import transaction

    with transaction.atomic():
        with CaptureQueriesContext(connection) as again:
            activity_record(member=member, at=NOW, purchase=False, now=NOW)
        with CaptureQueriesContext(connection) as next_day:
            activity_record(member=member, at=NOW + DAY, purchase=False, now=NOW + DAY)

    assert (len(again), len(next_day)) == (1, 2)
