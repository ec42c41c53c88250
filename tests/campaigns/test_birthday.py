"""Birthday points: the daily task finds today's birthdays in program time, once a year, safe to run twice."""

from datetime import UTC, date, datetime

import pytest
from django.conf import settings

from campaigns import events
from campaigns.events import BirthdayRun, birthday_events_record
from campaigns.models import Event, EventType, Outcome
from campaigns.tasks import birthday_events
from loyalty.clock import program_date
from members.services import member_merge, member_status_change
from tests.factories.members import MemberFactory

# 9 March 2027 at 23:30 UTC is already 10 March in Paris (00:30).
LATE_ON_THE_9TH = datetime(2027, 3, 9, 23, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def program_in_paris(settings):
    settings.TIME_ZONE = "Europe/Paris"


def born(day: str, **kwargs):
    return MemberFactory(birth_date=date.fromisoformat(day), **kwargs)


def birthday_events_of(member) -> list[tuple]:
    return list(
        Event.objects.filter(member=member, event_type__code="birthday")
        .order_by("pk")
        .values_list("external_id", "outcome", "points")
    )


def test_members_born_on_the_program_day_earn_the_birthday_points(db):
    birthday = born("1990-03-10")
    others = [born("1990-03-09"), born("1990-03-11"), born("1990-10-03"), MemberFactory()]

    run = birthday_events_record(now=LATE_ON_THE_9TH)

    assert run == BirthdayRun(day=date(2027, 3, 10), members=1, earned=1)
    assert birthday_events_of(birthday) == [("birthday-2027", Outcome.EARNED, 200)]
    event = Event.objects.get(member=birthday)
    assert (event.partner, event.occurred_at, event.entry.amount, event.entry.kind) == (
        None,
        LATE_ON_THE_9TH,
        200,
        "bonus",
    )
    birthday.account.refresh_from_db()
    assert birthday.account.balance == 200
    assert Event.objects.filter(member__in=others).count() == 0


def test_a_second_run_the_same_day_writes_nothing(db):
    birthday = born("1990-03-10")
    birthday_events_record(now=LATE_ON_THE_9TH)

    again = birthday_events_record(now=LATE_ON_THE_9TH.replace(hour=23, minute=59))

    assert again == BirthdayRun(day=date(2027, 3, 10), members=0, earned=0)
    assert birthday_events_of(birthday) == [("birthday-2027", Outcome.EARNED, 200)]
    birthday.account.refresh_from_db()
    assert birthday.account.balance == 200


def test_next_years_birthday_earns_again(db):
    birthday = born("1990-03-10")
    birthday_events_record(now=LATE_ON_THE_9TH)

    birthday_events_record(now=datetime(2028, 3, 10, 8, tzinfo=UTC))

    assert birthday_events_of(birthday) == [
        ("birthday-2027", Outcome.EARNED, 200),
        ("birthday-2028", Outcome.EARNED, 200),
    ]


@pytest.mark.parametrize(
    ("today", "earns"),
    [
        pytest.param("2027-02-28", True, id="28-feb-of-a-common-year"),
        pytest.param("2027-03-01", False, id="1-mar-of-a-common-year"),
        pytest.param("2028-02-28", False, id="28-feb-of-a-leap-year"),
        pytest.param("2028-02-29", True, id="29-feb-of-a-leap-year"),
    ],
)
def test_a_birthday_on_29_february_is_kept_on_28_february_in_a_common_year(db, today, earns):
    leapling = born("2000-02-29")
    at = datetime.fromisoformat(today).replace(hour=10, tzinfo=UTC)

    run = birthday_events_record(now=at)

    assert (run.members, len(birthday_events_of(leapling))) == ((1, 1) if earns else (0, 0))


def test_members_born_on_28_february_keep_their_own_day_in_a_leap_year(db):
    member = born("1990-02-28")

    assert birthday_events_record(now=datetime(2028, 2, 28, 10, tzinfo=UTC)).members == 1
    assert birthday_events_record(now=datetime(2028, 2, 29, 10, tzinfo=UTC)).members == 0
    assert len(birthday_events_of(member)) == 1


def test_only_active_members_are_chosen(db):
    suspended, closed, merged = born("1990-03-10"), born("1991-03-10"), born("1992-03-10")
    member_status_change(member=suspended, status="suspended", reason="Check")
    member_status_change(member=closed, status="closed", reason="Asked to leave")
    member_merge(source=merged, survivor=MemberFactory(), reason="Duplicate")

    run = birthday_events_record(now=LATE_ON_THE_9TH)

    assert run.members == 0
    assert Event.objects.count() == 0


def test_nothing_is_recorded_while_staff_keep_the_type_inactive(db):
    born("1990-03-10")
    EventType.objects.filter(code="birthday").update(active=False)

    assert birthday_events_record(now=LATE_ON_THE_9TH) == BirthdayRun(day=date(2027, 3, 10), members=0, earned=0)
    assert Event.objects.count() == 0


def test_candidates_are_taken_in_batches_until_none_is_left(db, monkeypatch):
    monkeypatch.setattr(events, "BIRTHDAY_BATCH_SIZE", 2)
    members = [born(f"19{80 + n}-03-10") for n in range(5)]

    run = birthday_events_record(now=LATE_ON_THE_9TH)

    assert run.members == 5
    assert all(birthday_events_of(member) == [("birthday-2027", Outcome.EARNED, 200)] for member in members)


def test_a_birthday_over_the_types_yearly_limit_earns_nothing(db):
    # A partner already posted this year's birthday (say, from its own app): the program's does not add to it.
    from tests.factories.partners import PartnerFactory

    member = born("1990-03-10")
    events.event_record(
        member=member,
        event_type_code="birthday",
        external_id="app-birthday",
        occurred_at=datetime(2027, 1, 5, tzinfo=UTC),
        attributes={},
        partner=PartnerFactory(),
        now=LATE_ON_THE_9TH,
    )

    run = birthday_events_record(now=LATE_ON_THE_9TH)

    assert run == BirthdayRun(day=date(2027, 3, 10), members=1, earned=0)
    assert birthday_events_of(member)[-1] == ("birthday-2027", Outcome.LIMIT_REACHED, 0)


def test_the_daily_task_records_todays_birthdays_and_is_on_the_beat_schedule(db):
    today = program_date()
    member = born(today.replace(year=1990).isoformat() if (today.month, today.day) != (2, 29) else "1992-02-29")

    result = birthday_events()

    assert (result["day"], result["members"]) == (today.isoformat(), 1)
    assert len(birthday_events_of(member)) == 1
    assert birthday_events()["members"] == 0  # run twice: nothing more
    schedule = settings.CELERY_BEAT_SCHEDULE["birthday-events-daily"]
    assert schedule["task"] == "campaigns.birthday_events"
    assert (schedule["schedule"].hour, schedule["schedule"].minute) == ({6}, {0})
