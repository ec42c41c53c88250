"""The events API: what a post answers, repeats, validation, approval, isolation, scopes, query counts."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from campaigns.models import Event, EventLimit, EventType, Outcome, RuleKind
from loyalty.partners.models import Partner
from members.services import member_status_change
from missions.streaks.services import streak_policy_get
from tests.factories.campaigns import CampaignFactory
from tests.factories.events import EventTypeFactory
from tests.factories.members import MemberFactory
from tests.factories.partners import partner_key
from tests.helpers import ledger_state

AT = "2026-11-10T12:00:00Z"


@pytest.fixture
def events_api(partner, client_for):
    return client_for(partner_key(partner, scopes=["events:write"])[1])


@pytest.fixture
def other_events_api(other_partner, client_for):
    return client_for(partner_key(other_partner, scopes=["events:write"])[1])


@pytest.fixture
def member(db):
    return MemberFactory()


def post_event(api, member, *, key="key-1", **fields):
    body = {"member": member.member_number, "type": "survey", "external_id": "s-1", "occurred_at": AT, **fields}
    return api.post("/api/v1/events/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def approve(api, event_id, key="approve-1"):
    return api.post(f"/api/v1/events/{event_id}/approve/", {}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def decline(api, event_id, reason="Spam", key="decline-1"):
    return api.post(f"/api/v1/events/{event_id}/decline/", {"reason": reason}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_posting_an_event_credits_it_and_answers_the_event_with_the_balance(events_api, member):
    response = post_event(events_api, member, attributes={"survey": "q4", "score": 8})

    assert response.status_code == 201
    event = Event.objects.get()
    assert response.json() == {
        "id": event.pk,
        "type": "survey",
        "external_id": "s-1",
        "member": member.member_number,
        "occurred_at": AT,
        "outcome": "earned",
        "points": 30,
        "breakdown": [
            {"source": "base", "rule": None, "campaign": None, "points": 30, "reason": "Points for Survey answered"},
        ],
        "balance": 30,
        "decided_at": None,
        "decision_reason": "",
    }
    assert response["Location"] == f"http://testserver/api/v1/events/{event.pk}/"
    assert event.attributes == {"survey": "q4", "score": 8}


def test_a_partner_posts_events_for_a_member_another_partner_enrolled(events_api, other_partner):
    member = MemberFactory(enrolled_by=other_partner)

    response = post_event(events_api, member)

    assert (response.status_code, response.json()["outcome"]) == (201, "earned")


def test_a_repeat_with_the_same_key_answers_the_first_response_without_a_second_credit(events_api, member):
    first = post_event(events_api, member)

    again = post_event(events_api, member)

    assert (again.status_code, again.json()) == (201, first.json())
    member.account.refresh_from_db()
    assert (member.account.balance, Event.objects.count()) == (30, 1)


def test_the_same_external_id_and_body_under_a_new_key_is_the_same_event(events_api, member):
    first = post_event(events_api, member, attributes={"score": 8})

    again = post_event(events_api, member, key="key-2", attributes={"score": 8})

    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    member.account.refresh_from_db()
    assert (member.account.balance, Event.objects.count()) == (30, 1)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"attributes": {"score": 9}}, id="attributes"),
        pytest.param({"occurred_at": "2026-11-10T12:00:01Z"}, id="moment"),
        pytest.param({"type": "social_share"}, id="type"),
    ],
)
def test_the_same_external_id_with_another_body_is_409_and_changes_nothing(events_api, member, change):
    post_event(events_api, member, attributes={"score": 8})
    before = ledger_state(member.account)

    response = post_event(events_api, member, key="key-2", **{"attributes": {"score": 8}, **change})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "external_id_conflict"
    assert (ledger_state(member.account), Event.objects.count()) == (before, 1)


def test_the_same_moment_in_another_offset_is_the_same_body(events_api, member):
    first = post_event(events_api, member)

    again = post_event(events_api, member, key="key-2", occurred_at="2026-11-10T13:00:00+01:00")

    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        pytest.param({"member": None}, 400, "invalid", "member", id="member-missing"),
        pytest.param({"member": 1234567897}, 400, "invalid", "member", id="member-a-number"),
        pytest.param({"member": "1234567890"}, 400, "invalid_member_number", "member_number", id="member-typo"),
        pytest.param({"member": "1234567897"}, 404, "not_found", None, id="member-unknown"),
        pytest.param({"type": "no-such-type"}, 400, "unknown_event_type", "type", id="type-unknown"),
        pytest.param({"type": ""}, 400, "invalid", "type", id="type-blank"),
        pytest.param({"external_id": ""}, 400, "invalid", "external_id", id="external-id-blank"),
        pytest.param({"external_id": "x" * 65}, 400, "invalid", "external_id", id="external-id-long"),
        pytest.param({"occurred_at": "2026-11-10T12:00:00"}, 400, "invalid", "occurred_at", id="time-naive"),
        pytest.param({"occurred_at": "yesterday"}, 400, "invalid", "occurred_at", id="time-garbage"),
        pytest.param({"occurred_at": "2099-01-01T00:00:00Z"}, 400, "invalid", "occurred_at", id="time-future"),
        pytest.param({"attributes": {"a": {"b": 1}}}, 400, "invalid", "attributes", id="attributes-nested"),
        pytest.param({"attributes": {"a": True}}, 400, "invalid", "attributes", id="attributes-boolean"),
        pytest.param({"attributes": "stars=5"}, 400, "invalid", "attributes", id="attributes-not-an-object"),
        pytest.param({"attributes": {"a": "x" * 2000}}, 400, "invalid", "attributes", id="attributes-too-big"),
    ],
)
def test_invalid_posts_are_refused_with_their_code_and_write_nothing(events_api, member, change, status, code, field):
    body = {"member": member.member_number, "type": "survey", "external_id": "s-1", "occurred_at": AT, **change}

    response = events_api.post(
        "/api/v1/events/",
        {name: value for name, value in body.items() if value is not None},
        format="json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )

    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert list(error["fields"]) == ([field] if field else [])
    assert Event.objects.count() == 0
    assert member.account.entries.count() == 0


def test_a_post_without_an_idempotency_key_is_refused(events_api, member):
    response = events_api.post(
        "/api/v1/events/",
        {"member": member.member_number, "type": "survey", "external_id": "s-1", "occurred_at": AT},
        format="json",
    )

    assert (response.status_code, response.json()["error"]["code"]) == (400, "idempotency_key_required")
    assert Event.objects.count() == 0


def test_over_the_limit_the_event_is_recorded_with_no_points(events_api, member):
    post_event(events_api, member)  # a survey: once a day

    response = post_event(events_api, member, key="key-2", external_id="s-2")

    assert response.status_code == 201
    assert (response.json()["outcome"], response.json()["points"], response.json()["balance"]) == (
        "limit_reached",
        0,
        30,
    )


@pytest.mark.parametrize("status", ["suspended", "closed"])
def test_a_suspended_or_closed_member_answers_409_and_the_event_is_kept(events_api, member, status):
    member_status_change(member=member, status=status, reason="Fraud check")
    before = ledger_state(member.account)

    response = post_event(events_api, member)
    again = post_event(events_api, member)

    event = Event.objects.get()
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": f"member_{status}",
        "message": response.json()["error"]["message"],
        "fields": {},
        "details": {"event": event.pk},
    }
    assert (again.status_code, again.json()) == (409, response.json())
    assert (event.outcome, event.points) == (f"member_{status}", 0)
    assert ledger_state(member.account) == before


# Approval.


@pytest.fixture
def awaiting(events_api, member):
    response = post_event(events_api, member, type="review", external_id="r-1")
    assert response.json()["outcome"] == "awaiting_approval"
    return response.json()


def test_an_event_requiring_approval_answers_its_points_awaiting_without_crediting_them(awaiting, member):
    assert (awaiting["points"], awaiting["breakdown"], awaiting["balance"]) == (20, [], 0)
    assert member.account.entries.count() == 0


def test_the_partner_approves_its_event_and_the_points_are_credited(events_api, awaiting, member):
    response = approve(events_api, awaiting["id"])

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["outcome"], body["points"], body["balance"]) == (awaiting["id"], "earned", 20, 20)
    assert [(award["source"], award["points"]) for award in body["breakdown"]] == [("base", 20)]
    assert body["decided_at"] is not None
    member.account.refresh_from_db()
    assert member.account.balance == 20


def test_approving_again_is_409_but_a_repeat_of_the_same_request_answers_as_the_first(events_api, awaiting, member):
    first = approve(events_api, awaiting["id"])

    repeat = approve(events_api, awaiting["id"])
    second = approve(events_api, awaiting["id"], key="approve-2")
    declined = decline(events_api, awaiting["id"])

    assert (repeat.status_code, repeat.json()) == (200, first.json())
    assert (second.status_code, second.json()["error"]["code"]) == (409, "event_not_awaiting_approval")
    assert (declined.status_code, declined.json()["error"]["code"]) == (409, "event_not_awaiting_approval")
    member.account.refresh_from_db()
    assert member.account.balance == 20


def test_the_partner_declines_its_event_with_a_reason(events_api, awaiting, member):
    response = decline(events_api, awaiting["id"], reason="Breaks the moderation rules")

    assert response.status_code == 200
    assert (response.json()["outcome"], response.json()["points"], response.json()["decision_reason"]) == (
        "declined",
        0,
        "Breaks the moderation rules",
    )
    assert member.account.entries.count() == 0


def test_declining_without_a_reason_is_refused(events_api, awaiting):
    response = decline(events_api, awaiting["id"], reason="")

    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["reason"])
    assert Event.objects.get().outcome == Outcome.AWAITING_APPROVAL


def test_approving_for_a_member_suspended_since_is_409_and_the_event_keeps_waiting(events_api, awaiting, member):
    member_status_change(member=member, status="suspended", reason="Check")

    response = approve(events_api, awaiting["id"])

    assert (response.status_code, response.json()["error"]["code"]) == (409, "member_suspended")
    assert Event.objects.get().outcome == Outcome.AWAITING_APPROVAL


def test_a_partner_reads_approves_and_declines_only_its_own_events(other_events_api, awaiting, member):
    responses = [
        other_events_api.get(f"/api/v1/events/{awaiting['id']}/"),
        approve(other_events_api, awaiting["id"]),
        decline(other_events_api, awaiting["id"]),
        other_events_api.get("/api/v1/events/999999/"),
    ]

    assert [(r.status_code, r.json()["error"]["code"]) for r in responses] == [(404, "not_found")] * 4
    assert Event.objects.get().outcome == Outcome.AWAITING_APPROVAL
    assert member.account.entries.count() == 0


def test_a_program_event_is_no_partners_to_approve(events_api, member):
    from campaigns.events import event_record

    event = event_record(
        member=member,
        event_type_code="review",
        external_id="r-program",
        occurred_at=datetime(2026, 11, 10, tzinfo=UTC),
        attributes={},
        now=datetime(2026, 11, 11, tzinfo=UTC),
    )

    assert approve(events_api, event.pk).status_code == 404


def test_reading_an_event_shows_its_outcome(events_api, awaiting):
    approve(events_api, awaiting["id"])

    response = events_api.get(f"/api/v1/events/{awaiting['id']}/")

    assert (response.status_code, response.json()["outcome"], response.json()["points"]) == (200, "earned", 20)


# Scopes.


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda api, member, event: post_event(api, member, key="k-9"), id="post"),
        pytest.param(lambda api, member, event: approve(api, event, key="k-9"), id="approve"),
        pytest.param(lambda api, member, event: decline(api, event, key="k-9"), id="decline"),
        pytest.param(lambda api, member, event: api.get(f"/api/v1/events/{event}/"), id="read"),
        pytest.param(lambda api, member, event: api.head(f"/api/v1/events/{event}/"), id="head"),
    ],
)
def test_a_key_without_events_write_is_refused(api, awaiting, member, call):
    response = call(api, member, awaiting["id"])  # ``api``: members:read/write and points:adjust

    assert response.status_code == 403
    assert Event.objects.get().outcome == Outcome.AWAITING_APPROVAL
    assert member.account.entries.count() == 0


# Query counts, whatever the member's history of events. Savepoints count as statements.

AUTH = 2  # the key with its partner; its last_used_at (a fresh key)
AUTH_USED = 1  # a key used a moment ago: its last_used_at stays
HISTORY = [pytest.param(0, id="no-history"), pytest.param(10, id="10-events")]
POSTGRES = connection.vendor == "postgresql"
# A credit: its savepoint, the account's lock, the entry, its lot and the balances (one statement on
# PostgreSQL, three elsewhere), the qualifying day and the tiers it reaches, the release.
CREDIT = 6 if POSTGRES else 8
# The member's activity (missions/streaks): its row read, then written (the streak policy is cached per process).
ACTIVITY = 2


@pytest.fixture
def history(member):
    ContentType.objects.get_for_model(Partner)  # content types are cached per process: count every case alike
    ContentType.objects.get_for_model(Event)
    counted = EventTypeFactory(code="visit", points=5, limit=EventLimit.NONE)
    streak_policy_get()  # cached per process too
    from campaigns.events import event_record

    def make(events: int):
        for number in range(events):
            event_record(
                member=member,
                event_type_code=counted.code,
                external_id=f"visit-{number}",
                occurred_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=number),
                attributes={},
                now=datetime(2026, 11, 9, tzinfo=UTC),
            )

    return make


# Recording an event that is not credited: the stored response (none) and the member; in the
# response's savepoint, the type, then in the event's savepoint: the account's lock, the first
# event with this id (none), the limit's count, the live campaigns (none), the event (in its own
# savepoint: 3), the release; the stored response and the release.
RECORDED = 15
MISSIONS = 1  # an event that counts (earned, or approved) reads the live missions (none here)


@pytest.mark.parametrize("events", HISTORY)
def test_posting_an_event_runs_a_fixed_number_of_queries(
    events_api, member, history, events, django_assert_num_queries
):
    history(events)

    # + the award, the credit, its points.earned event, the event's entry, and the breakdown (its awards).
    with django_assert_num_queries(AUTH + RECORDED + 1 + CREDIT + 1 + 2 + MISSIONS + ACTIVITY):
        response = post_event(events_api, member)

    assert response.json()["outcome"] == "earned"


@pytest.mark.parametrize("events", HISTORY)
def test_posting_an_event_awaiting_approval_runs_a_fixed_number_of_queries(
    events_api, member, history, events, django_assert_num_queries
):
    history(events)

    with django_assert_num_queries(AUTH + RECORDED + ACTIVITY):  # no award, no credit, no breakdown to read
        response = post_event(events_api, member, type="review")

    assert response.json()["outcome"] == "awaiting_approval"


def test_posting_an_event_with_campaigns_that_give_nothing_to_it_runs_no_more_queries(
    events_api, member, history, django_assert_num_queries
):
    history(0)
    for _ in range(3):
        CampaignFactory(rules=[{"kind": RuleKind.EVENT_POINTS, "event_type": EventType.objects.get(code="review")}])

    # + their rules, tiers and partners
    with django_assert_num_queries(AUTH + RECORDED + 1 + CREDIT + 1 + 2 + ACTIVITY + 3 + MISSIONS):
        response = post_event(events_api, member)

    assert response.json()["points"] == 30


@pytest.mark.parametrize("events", HISTORY)
def test_approving_runs_a_fixed_number_of_queries(events_api, member, history, events, django_assert_num_queries):
    history(events)
    event_id = post_event(events_api, member, type="review").json()["id"]

    # The stored response (none), the event; in two savepoints: the account's lock, the event again,
    # the live campaigns, the award, the credit, its points.earned event, the event's update; the breakdown;
    # the stored response.
    with django_assert_num_queries(AUTH_USED + 2 + 2 + 3 + 1 + CREDIT + 1 + 1 + 1 + 1 + 2 + MISSIONS):
        response = approve(events_api, event_id)

    assert response.json()["outcome"] == "earned"


@pytest.mark.parametrize("events", HISTORY)
def test_declining_runs_a_fixed_number_of_queries(events_api, member, history, events, django_assert_num_queries):
    history(events)
    event_id = post_event(events_api, member, type="review").json()["id"]

    # The stored response (none), the event; in two savepoints: the account's lock, the event again,
    # its update; the stored response.
    with django_assert_num_queries(AUTH_USED + 2 + 2 + 3 + 1 + 2):
        response = decline(events_api, event_id)

    assert response.json()["outcome"] == "declined"


@pytest.mark.parametrize("events", HISTORY)
def test_reading_an_event_runs_a_fixed_number_of_queries(
    events_api, member, history, events, django_assert_num_queries
):
    history(events)
    event_id = post_event(events_api, member).json()["id"]

    with django_assert_num_queries(AUTH_USED + 2):  # the event with its type, member and account; its awards
        response = events_api.get(f"/api/v1/events/{event_id}/")

    assert response.status_code == 200


def test_enrolling_with_the_sign_up_bonus_runs_a_fixed_number_of_queries(
    api, sign_up_bonus, django_assert_num_queries
):
    ContentType.objects.get_for_model(Event)
    MemberFactory()  # warm what is cached per process

    # The 20 of an enrolment (tests/api/test_queries.py), then the sign-up event as a program event
    # is recorded: in its savepoint, the account's lock, the first event (none), the limit's count,
    # the live campaigns, the event (3), the award, the credit, its points.earned event, the event's entry,
    # the release, the live missions; and the member.enrolled event.
    with django_assert_num_queries(AUTH + 20 + 2 + 3 + 1 + 3 + 1 + CREDIT + 1 + 1 + ACTIVITY + 1 + MISSIONS):
        response = api.post(
            "/api/v1/members/",
            {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="enrol-1",
        )

    assert (response.status_code, response.json()["balance"]) == (201, 100)


def test_the_built_in_types_are_there_for_partners(db):
    assert set(EventType.objects.filter(builtin=True).values_list("code", flat=True)) == {
        "sign_up",
        "birthday",
        "profile_completed",
        "review",
        "survey",
        "social_share",
        "app_installed",
    }
