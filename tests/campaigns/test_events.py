"""Events that earn points: what they earn, limits in program time, repeats, approval, members who cannot earn."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone, translation

from campaigns.events import event_approve, event_decline, event_record, period_bounds
from campaigns.models import Award, Event, EventLimit, EventType, LimitPeriod, Outcome
from loyalty.exceptions import (
    EventNotAwaitingApproval,
    ExternalIdConflict,
    MemberMerged,
    MemberSuspended,
    NotFound,
    PermissionDenied,
    UnknownEventType,
    ValidationError,
)
from loyalty.ledger import memos
from loyalty.ledger.models import EntryKind
from members.services import member_enroll, member_merge, member_status_change
from members.tiers.models import QualifyingDay
from tests.factories.events import EventTypeFactory
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.helpers import ledger_state

NOW = datetime(2027, 3, 20, 12, tzinfo=UTC)
AT = datetime(2027, 3, 10, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def program_in_paris(settings):
    settings.TIME_ZONE = "Europe/Paris"


@pytest.fixture
def member(db):
    return MemberFactory()


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Acme")


def record(member, event_type, external_id="e-1", *, at=AT, partner=None, body_hash="", attributes=None, now=NOW):
    return event_record(
        member=member,
        event_type_code=event_type.code,
        external_id=external_id,
        occurred_at=at,
        attributes=attributes or {},
        partner=partner,
        body_hash=body_hash,
        now=now,
    )


def staff_approver():
    user = get_user_model().objects.create_user(username="moderator", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="approve_event"))
    return get_user_model().objects.get(pk=user.pk)  # permissions are cached per instance


# What an event earns.


def test_an_event_credits_its_types_points_in_one_bonus_entry_caused_by_the_event(member, partner):
    survey = EventType.objects.get(code="survey")  # built in: 30 points, once a day

    event = record(member, survey, partner=partner, attributes={"survey": "q1-2027", "score": 9})

    event.refresh_from_db()
    assert (event.outcome, event.points, event.partner, event.attributes) == (
        Outcome.EARNED,
        30,
        partner,
        {"survey": "q1-2027", "score": 9},
    )
    entry = event.entry
    assert (entry.kind, entry.amount, entry.cause, entry.actor, entry.created_at) == (
        EntryKind.BONUS,
        30,
        event,
        partner,
        NOW,
    )
    assert (entry.memo_code, entry.memo_params) == (
        memos.EVENT_BONUS,
        {"name": "Survey answered", "name_fr": "Questionnaire rempli"},
    )
    assert list(Award.objects.filter(event=event).values_list("source", "points", "campaign")) == [("base", 30, None)]
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.lifetime_earned) == (30, 30)


def test_the_entry_reads_the_event_types_name_in_the_readers_language(member):
    event = record(member, EventType.objects.get(code="survey"))

    with translation.override("en"):
        english = memos.entry_memo_display(event.entry)
    with translation.override("fr"):
        french = memos.entry_memo_display(event.entry)

    assert english == "Points for an event: Survey answered"
    assert french.endswith("Questionnaire rempli")


def test_a_type_without_points_records_the_event_as_earning_nothing(member):
    zero = EventTypeFactory(points=0)
    before = ledger_state(member.account)

    event = record(member, zero)

    assert (event.outcome, event.points, event.entry) == (Outcome.NOTHING, 0, None)
    assert ledger_state(member.account) == before


@pytest.mark.parametrize("active", [True, False], ids=["no-such-code", "inactive"])
def test_an_unknown_or_inactive_type_is_refused_and_nothing_is_written(member, active):
    custom = EventTypeFactory(active=active)
    code = "no-such-type" if active else custom.code
    before = ledger_state(member.account)

    with pytest.raises(UnknownEventType):
        event_record(
            member=member, event_type_code=code, external_id="x", occurred_at=AT, attributes={}, partner=None, now=NOW
        )

    assert Event.objects.count() == 0
    assert ledger_state(member.account) == before


# Repeats and conflicts.


def test_the_same_event_posted_again_returns_the_first_and_credits_once(member, partner):
    custom = EventTypeFactory(points=25)
    first = record(member, custom, "rev-9", partner=partner, body_hash="h1")

    again = record(member, custom, "rev-9", partner=partner, body_hash="h1", now=NOW + timedelta(hours=1))

    assert again.pk == first.pk
    assert Event.objects.count() == 1
    member.account.refresh_from_db()
    assert member.account.balance == 25


def test_the_same_external_id_with_another_body_is_a_conflict_that_changes_nothing(member, partner):
    custom = EventTypeFactory(points=25)
    record(member, custom, "rev-9", partner=partner, body_hash="h1")
    before = ledger_state(member.account)

    with pytest.raises(ExternalIdConflict):
        record(member, custom, "rev-9", partner=partner, body_hash="h2")

    assert Event.objects.count() == 1
    assert ledger_state(member.account) == before


def test_an_external_id_is_the_partners_own_another_partner_may_use_it(member, partner):
    custom = EventTypeFactory(points=25)
    record(member, custom, "rev-9", partner=partner, body_hash="h1")

    other = record(member, custom, "rev-9", partner=PartnerFactory(name="Globex"), body_hash="h1")

    assert other.outcome == Outcome.EARNED
    assert Event.objects.count() == 2


def test_a_program_event_is_one_per_member_type_and_external_id(member):
    custom = EventTypeFactory(points=25)
    first = record(member, custom, "welcome")

    assert record(member, custom, "welcome").pk == first.pk
    assert record(MemberFactory(), custom, "welcome").pk != first.pk


# Members who cannot earn.


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("suspended", Outcome.MEMBER_SUSPENDED), ("closed", Outcome.MEMBER_CLOSED)],
)
def test_a_member_who_cannot_earn_gets_the_event_recorded_with_why_and_no_points(member, partner, status, outcome):
    member_status_change(member=member, status=status, reason="Fraud check")
    before = ledger_state(member.account)

    event = record(member, EventType.objects.get(code="survey"), partner=partner)

    assert (event.outcome, event.points, event.entry) == (outcome, 0, None)
    assert ledger_state(member.account) == before


def test_a_merged_number_takes_no_event(member):
    survivor = MemberFactory()
    member_merge(source=member, survivor=survivor, reason="Duplicate")
    member.refresh_from_db()

    with pytest.raises(MemberMerged):
        record(member, EventTypeFactory())

    assert Event.objects.count() == 0


# Limits, at their edges in the program's time zone (Paris: UTC+1 in winter).

PARIS_MIDNIGHT_10_MARCH = datetime(2027, 3, 9, 23, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)

LIMIT_EDGES = [
    # limit, period, per_day; first and second moments in one period; the first moment of the next
    pytest.param(
        EventLimit.PER_DAY,
        LimitPeriod.YEAR,
        1,
        PARIS_MIDNIGHT_10_MARCH,
        PARIS_MIDNIGHT_10_MARCH + timedelta(days=1) - ONE_SECOND,
        PARIS_MIDNIGHT_10_MARCH + timedelta(days=1),
        id="one-a-day",
    ),
    pytest.param(
        EventLimit.PER_PERIOD,
        LimitPeriod.WEEK,
        1,
        datetime(2027, 3, 7, 23, tzinfo=UTC),  # Monday 8 March, 00:00 in Paris
        datetime(2027, 3, 14, 22, 59, 59, tzinfo=UTC),  # Sunday 14 March, 23:59:59
        datetime(2027, 3, 14, 23, tzinfo=UTC),  # Monday 15 March, 00:00
        id="once-a-week",
    ),
    pytest.param(
        EventLimit.PER_PERIOD,
        LimitPeriod.MONTH,
        1,
        datetime(2027, 1, 31, 23, tzinfo=UTC),  # 1 February, 00:00 in Paris
        datetime(2027, 2, 28, 22, 59, 59, tzinfo=UTC),  # 28 February, 23:59:59
        datetime(2027, 2, 28, 23, tzinfo=UTC),  # 1 March, 00:00
        id="once-a-month",
    ),
    pytest.param(
        EventLimit.PER_PERIOD,
        LimitPeriod.YEAR,
        1,
        datetime(2025, 12, 31, 23, tzinfo=UTC),  # 1 January 2026, 00:00 in Paris
        datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC),  # 31 December 2026, 23:59:59
        datetime(2026, 12, 31, 23, tzinfo=UTC),  # 1 January 2027, 00:00
        id="once-a-year",
    ),
]


@pytest.mark.parametrize(("limit", "period", "per_day", "first", "second", "next_period"), LIMIT_EDGES)
def test_a_limited_type_earns_once_per_program_period_and_again_in_the_next(
    member, limit, period, per_day, first, second, next_period
):
    limited = EventTypeFactory(points=10, limit=limit, limit_period=period, per_day=per_day)

    with timezone.override("Pacific/Honolulu"):  # the active zone never decides a program period
        outcomes = [
            record(member, limited, "first", at=first).outcome,
            record(member, limited, "second", at=second).outcome,
            record(member, limited, "next", at=next_period).outcome,
        ]

    assert outcomes == [Outcome.EARNED, Outcome.LIMIT_REACHED, Outcome.EARNED]
    member.account.refresh_from_db()
    assert member.account.balance == 20


def test_a_limit_of_n_a_day_earns_n_times_on_that_program_day(member):
    shares = EventTypeFactory(points=10, limit=EventLimit.PER_DAY, per_day=3)
    moments = [PARIS_MIDNIGHT_10_MARCH + timedelta(hours=hour) for hour in (0, 5, 10, 23)]

    outcomes = [record(member, shares, f"share-{index}", at=at).outcome for index, at in enumerate(moments)]

    assert outcomes == [Outcome.EARNED, Outcome.EARNED, Outcome.EARNED, Outcome.LIMIT_REACHED]
    assert record(member, shares, "share-next-day", at=moments[0] + timedelta(days=1)).outcome == Outcome.EARNED


def test_once_ever_earns_once_whatever_the_dates(member):
    once = EventTypeFactory(points=10, limit=EventLimit.ONCE)

    assert record(member, once, "a", at=AT - timedelta(days=900)).outcome == Outcome.EARNED
    over = record(member, once, "b", at=AT)

    assert (over.outcome, over.points, over.entry) == (Outcome.LIMIT_REACHED, 0, None)
    assert record(MemberFactory(), once, "a").outcome == Outcome.EARNED  # the limit is each member's


def test_an_event_over_the_limit_writes_no_entry(member):
    once = EventTypeFactory(points=10, limit=EventLimit.ONCE)
    record(member, once, "a")
    before = ledger_state(member.account)

    record(member, once, "b")

    assert ledger_state(member.account) == before


def test_what_a_limit_counts_events_awaiting_approval_but_not_declined_or_refused_ones(member, partner):
    reviews = EventTypeFactory(points=20, limit=EventLimit.ONCE, requires_approval=True)
    member_status_change(member=member, status="suspended", reason="Check")
    assert record(member, reviews, "r-1", partner=partner).outcome == Outcome.MEMBER_SUSPENDED
    member_status_change(member=member, status="active", reason="Checked")

    awaiting = record(member, reviews, "r-2", partner=partner)
    assert awaiting.outcome == Outcome.AWAITING_APPROVAL
    assert record(member, reviews, "r-3", partner=partner).outcome == Outcome.LIMIT_REACHED

    event_decline(event=awaiting, actor=partner, reason="Spam", now=NOW)
    assert record(member, reviews, "r-4", partner=partner).outcome == Outcome.AWAITING_APPROVAL


@pytest.mark.parametrize(
    ("day", "period", "bounds"),
    [
        ("2027-03-10", LimitPeriod.WEEK, ("2027-03-08", "2027-03-15")),
        ("2027-03-14", LimitPeriod.WEEK, ("2027-03-08", "2027-03-15")),
        ("2027-02-28", LimitPeriod.MONTH, ("2027-02-01", "2027-03-01")),
        ("2027-12-31", LimitPeriod.MONTH, ("2027-12-01", "2028-01-01")),
        ("2028-02-29", LimitPeriod.YEAR, ("2028-01-01", "2029-01-01")),
    ],
)
def test_program_periods_are_calendar_weeks_from_monday_months_and_years(day, period, bounds):
    start, end = period_bounds(date.fromisoformat(day), period)

    assert (start.isoformat(), end.isoformat()) == bounds


# What is accepted.


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param({"nested": {"a": 1}}, id="nested"),
        pytest.param({"list": [1, 2]}, id="list"),
        pytest.param({"flag": True}, id="boolean"),
        pytest.param({"empty": None}, id="null"),
        pytest.param({f"k{n}": n for n in range(21)}, id="21-keys"),
        pytest.param({"text": "x" * 201}, id="long-text"),
        pytest.param({"k" * 41: 1}, id="long-name"),
        pytest.param({"nan": float("nan")}, id="not-a-number"),
        pytest.param(["a"], id="not-an-object"),
    ],
)
def test_attributes_are_a_small_flat_object_of_strings_and_numbers(member, attributes):
    with pytest.raises(ValidationError) as error:
        record(member, EventTypeFactory(), attributes=attributes)

    assert error.value.details["field"] == "attributes"
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    ("at", "field"),
    [
        pytest.param(NOW + timedelta(minutes=6), "occurred_at", id="in-the-future"),
        pytest.param(datetime(2027, 3, 10, 12), "occurred_at", id="naive"),  # noqa: DTZ001
    ],
)
def test_an_event_in_the_future_or_without_a_time_zone_is_refused(member, at, field):
    with pytest.raises(ValidationError) as error:
        record(member, EventTypeFactory(), at=at)

    assert error.value.details["field"] == field
    assert Event.objects.count() == 0


def test_a_till_clock_a_few_minutes_ahead_is_accepted(member):
    assert record(member, EventTypeFactory(), at=NOW + timedelta(minutes=5)).outcome == Outcome.EARNED


# Approval.


@pytest.fixture
def review(db):
    return EventType.objects.get(code="review")  # built in: 20 points, 3 a day, requires approval


def test_an_event_requiring_approval_holds_its_points_without_crediting_them(member, partner, review):
    before = ledger_state(member.account)

    event = record(member, review, "rev-1", partner=partner)

    assert (event.outcome, event.points, event.entry) == (Outcome.AWAITING_APPROVAL, 20, None)
    assert Award.objects.filter(event=event).count() == 0
    assert ledger_state(member.account) == before


def test_the_posting_partner_approves_and_the_points_are_credited_then(member, partner, review):
    event = record(member, review, "rev-1", partner=partner)
    later = NOW + timedelta(days=2)

    approved = event_approve(event=event, actor=partner, now=later)

    approved.refresh_from_db()
    assert (approved.outcome, approved.points, approved.decided_at, approved.decided_by_partner) == (
        Outcome.EARNED,
        20,
        later,
        partner,
    )
    assert (approved.entry.kind, approved.entry.amount, approved.entry.cause, approved.entry.created_at) == (
        EntryKind.BONUS,
        20,
        approved,
        later,
    )
    assert list(Award.objects.filter(event=event).values_list("source", "points")) == [("base", 20)]
    member.account.refresh_from_db()
    assert member.account.balance == 20


def test_staff_with_the_permission_approve_a_program_event(member, review):
    event = record(member, review, "rev-1")
    moderator = staff_approver()

    approved = event_approve(event=event, actor=moderator, now=NOW)

    assert (approved.outcome, approved.decided_by_user, approved.decided_by_partner) == (
        Outcome.EARNED,
        moderator,
        None,
    )


def test_approval_credits_what_the_event_earns_when_it_is_approved(member, partner, review):
    event = record(member, review, "rev-1", partner=partner)
    EventType.objects.filter(pk=review.pk).update(points=35)  # staff changed the type meanwhile

    approved = event_approve(event=event, actor=partner, now=NOW)

    assert (approved.points, approved.entry.amount) == (35, 35)


def test_declining_records_the_reason_and_credits_nothing(member, partner, review):
    event = record(member, review, "rev-1", partner=partner)
    before = ledger_state(member.account)

    declined = event_decline(event=event, actor=partner, reason="  Offensive language ", now=NOW)

    declined.refresh_from_db()
    assert (declined.outcome, declined.points, declined.decision_reason, declined.decided_by_partner) == (
        Outcome.DECLINED,
        0,
        "Offensive language",
        partner,
    )
    assert declined.entry is None
    assert ledger_state(member.account) == before


@pytest.mark.parametrize(
    ("first", "second"),
    [("approve", "approve"), ("approve", "decline"), ("decline", "decline"), ("decline", "approve")],
)
def test_an_event_is_decided_once(member, partner, review, first, second):
    def decide(action, event):
        if action == "approve":
            return event_approve(event=event, actor=partner, now=NOW)
        return event_decline(event=event, actor=partner, reason="No", now=NOW)

    event = record(member, review, "rev-1", partner=partner)
    decide(first, event)
    before = (ledger_state(member.account), Event.objects.values_list("outcome", "points", "decided_at").get())

    with pytest.raises(EventNotAwaitingApproval):
        decide(second, event)

    assert (ledger_state(member.account), Event.objects.values_list("outcome", "points", "decided_at").get()) == before


def test_an_event_that_earned_at_once_is_not_awaiting_approval(member, partner):
    event = record(member, EventType.objects.get(code="survey"), partner=partner)

    with pytest.raises(EventNotAwaitingApproval):
        event_approve(event=event, actor=partner, now=NOW)


def test_only_the_posting_partner_or_staff_with_the_permission_decide(member, partner, review):
    event = record(member, review, "rev-1", partner=partner)
    clerk = get_user_model().objects.create_user(username="clerk", password="x", is_staff=True)

    with pytest.raises(NotFound):
        event_approve(event=event, actor=PartnerFactory(name="Globex"), now=NOW)
    with pytest.raises(PermissionDenied):
        event_decline(event=event, actor=clerk, reason="No", now=NOW)
    with pytest.raises(NotFound):
        event_approve(event=record(member, review, "rev-2"), actor=partner, now=NOW)  # a program event

    assert set(Event.objects.values_list("outcome", flat=True)) == {Outcome.AWAITING_APPROVAL}


def test_a_suspended_member_is_not_credited_on_approval_and_the_event_keeps_waiting(member, partner, review):
    event = record(member, review, "rev-1", partner=partner)
    member_status_change(member=member, status="suspended", reason="Check")
    before = ledger_state(member.account)

    with pytest.raises(MemberSuspended):
        event_approve(event=event, actor=partner, now=NOW)

    event.refresh_from_db()
    assert (event.outcome, event.entry) == (Outcome.AWAITING_APPROVAL, None)
    assert ledger_state(member.account) == before


def test_declining_needs_a_reason(member, partner, review):
    event = record(member, review, "rev-1", partner=partner)

    with pytest.raises(ValidationError):
        event_decline(event=event, actor=partner, reason="  ", now=NOW)

    event.refresh_from_db()
    assert event.outcome == Outcome.AWAITING_APPROVAL


# Sign-up.


def test_enrolment_records_the_sign_up_event_and_credits_its_points(sign_up_bonus):
    member = member_enroll(email="ada@example.com", password="correct-horse-battery")

    event = Event.objects.get(member=member)
    assert (event.event_type, event.external_id, event.partner, event.outcome, event.points) == (
        sign_up_bonus,
        "sign-up",
        None,
        Outcome.EARNED,
        100,
    )
    assert (event.occurred_at, event.entry.amount, event.entry.actor) == (member.joined_at, 100, None)
    member.account.refresh_from_db()
    assert member.account.balance == 100


def test_enrolment_records_no_sign_up_while_the_type_is_inactive(db):
    assert EventType.objects.get(code="sign_up").active is False  # the suite's default (tests/conftest.py)

    member = member_enroll(email="ada@example.com", password="correct-horse-battery")

    assert Event.objects.count() == 0
    assert member.account.entries.count() == 0


def test_the_sign_up_limit_is_once_even_for_a_later_sign_up_event(sign_up_bonus, partner):
    member = member_enroll(email="ada@example.com", password="correct-horse-battery")

    again = record(member, sign_up_bonus, "sign-up-again", partner=partner, at=timezone.now(), now=timezone.now())

    assert again.outcome == Outcome.LIMIT_REACHED


def test_points_of_events_count_towards_tiers_like_other_bonuses(member):
    record(member, EventTypeFactory(points=40))

    assert list(QualifyingDay.objects.filter(member=member).values_list("day", "points")) == [(date(2027, 3, 20), 40)]
