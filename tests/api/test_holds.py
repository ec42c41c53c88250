"""The holds API: a till holds points against a basket with the member's presence code, then captures,
voids or refunds them; a partner sees and acts on its own holds only."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Entry, EntryKind, Hold, HoldStatus
from loyalty.partners.models import Partner, PresenceCode
from loyalty.partners.services import presence_code_issue
from members.models import MemberStatus
from members.services import member_status_change
from rewards.models import PointsPayment
from tests.factories.members import MemberFactory
from tests.factories.partners import partner_key
from tests.helpers import ledger_state

KEYS = itertools.count(1)
SCOPES = ["members:read", "rewards:redeem"]


@pytest.fixture(autouse=True)
def shares(settings):
    settings.LOYALTY_POINT_VALUE = Decimal("0.01")
    settings.LOYALTY_HOLD_MIN_SHARE = Decimal("0")
    settings.LOYALTY_HOLD_MAX_SHARE = Decimal("0.5")
    settings.LOYALTY_HOLD_MINUTES = 15


@pytest.fixture
def till(partner, client_for):
    return client_for(partner_key(partner, scopes=SCOPES)[1])


@pytest.fixture
def other_till(other_partner, client_for):
    return client_for(partner_key(other_partner, scopes=SCOPES)[1])


@pytest.fixture
def member(partner):
    """A member this partner (Acme) enrolled, with 3,000 points."""
    member = MemberFactory(enrolled_by=partner)
    ledger.credit(member.account, 3000, expires_on=None, cause=member)
    return member


def post(client, path, body=None, key=None):
    return client.post(path, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=key or f"h-{next(KEYS)}")


def place(client, member, code="issue", key=None, **body):
    if code == "issue":
        code = presence_code_issue(member=member)[1]
    body = {"basket_amount": "42.50", "currency": "EUR", "external_id": "basket-1", **body}
    if code is not None:
        body["presence_code"] = code
    return post(client, f"/api/v1/members/{member.member_number}/holds/", body, key)


def test_a_till_holds_points_against_a_basket(till, member):
    response = place(till, member, points=2000)

    assert response.status_code == 201, response.json()
    payment = PointsPayment.objects.get()
    body = response.json()
    assert body == {
        "id": payment.hold_id,
        "external_id": "basket-1",
        "member_number": member.member_number,
        "status": "open",
        "basket_amount": "42.50",
        "currency": "EUR",
        "points": 2000,
        "discount_amount": "20.00",
        "captured_points": 0,
        "captured_discount_amount": "0.00",
        "refunded_points": 0,
        "expires_at": body["expires_at"],
        "balance": 1000,
        "created_at": body["created_at"],
    }
    assert payment.hold.expires_at - payment.created_at == timedelta(minutes=15)
    assert response["Location"] == f"http://testserver/api/v1/holds/{payment.hold_id}/"


def test_without_points_the_most_the_share_allows_is_held(till, member):
    response = place(till, member)

    assert (response.json()["points"], response.json()["discount_amount"]) == (2125, "21.25")


def test_the_presence_code_is_required_even_for_the_enrolling_partner(till, member):
    before = ledger_state(member.account)

    response = place(till, member, code=None)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "presence_code_required"
    assert ledger_state(member.account) == before
    assert not PointsPayment.objects.exists()


def test_a_wrong_code_is_refused_and_counted(till, member):
    code = presence_code_issue(member=member)[1]

    response = place(till, member, code=f"{(int(code) + 1) % 10**6:06d}")

    assert (response.status_code, response.json()["error"]["code"]) == (403, "presence_code_invalid")
    assert PresenceCode.objects.get().failed_attempts == 1
    assert not Hold.objects.exists()


def test_points_outside_the_share_answer_hold_out_of_range(till, member):
    response = place(till, member, points=2126)

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "hold_out_of_range",
            "message": "Points may pay 1 to 2125 points of this basket.",
            "fields": {"points": ["Points may pay 1 to 2125 points of this basket."]},
            "details": {"min_points": 1, "max_points": 2125},
        }
    }
    assert PresenceCode.objects.get().used_at is None


def test_another_currency_answers_currency_mismatch(till, member):
    response = place(till, member, currency="USD")

    assert (response.status_code, response.json()["error"]["code"]) == (400, "currency_mismatch")


def test_a_repeat_of_the_key_answers_as_the_first_and_holds_once(till, member):
    code = presence_code_issue(member=member)[1]
    first = place(till, member, code=code, key="till-1", points=500)

    again = place(till, member, code=code, key="till-1", points=500)

    assert (again.status_code, again.json()) == (201, first.json())
    assert Hold.objects.count() == 1


def test_the_same_external_id_answers_the_first_hold_or_a_conflict(till, member):
    first = place(till, member, points=500)

    repeat = place(till, member, code=None, points=500)
    conflict = place(till, member, code=None, points=600)

    assert (repeat.status_code, repeat.json()["id"]) == (200, first.json()["id"])
    assert (conflict.status_code, conflict.json()["error"]["code"]) == (409, "external_id_conflict")
    assert Hold.objects.count() == 1


def test_capturing_less_spends_part_and_gives_the_rest_back(till, member):
    hold_id = place(till, member, points=2000).json()["id"]

    response = post(till, f"/api/v1/holds/{hold_id}/capture/", {"points": 1500})

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["captured_points"], body["captured_discount_amount"], body["balance"]) == (
        "captured",
        1500,
        "15.00",
        1500,
    )
    assert "Location" not in response
    again = post(till, f"/api/v1/holds/{hold_id}/capture/")
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "hold_not_open",
        "message": "This hold is captured already.",
        "fields": {},
        "details": {"status": "captured"},
    }
    assert audit() == []


def test_capturing_more_than_held_is_refused(till, member):
    hold_id = place(till, member, points=2000).json()["id"]

    response = post(till, f"/api/v1/holds/{hold_id}/capture/", {"points": 2001})

    assert (response.status_code, response.json()["error"]["details"]) == (
        400,
        {"min_points": 1, "max_points": 2000},
    )
    assert Hold.objects.get().status == HoldStatus.OPEN


def test_a_void_gives_every_point_back(till, member):
    hold_id = place(till, member, points=2000).json()["id"]

    response = post(till, f"/api/v1/holds/{hold_id}/void/")

    assert (response.status_code, response.json()["status"], response.json()["balance"]) == (200, "voided", 3000)
    assert post(till, f"/api/v1/holds/{hold_id}/capture/").json()["error"]["details"] == {"status": "voided"}


def test_a_refund_gives_captured_points_back_in_part_then_in_full(till, member):
    hold_id = place(till, member, points=2000).json()["id"]
    post(till, f"/api/v1/holds/{hold_id}/capture/", {"points": 1500})

    part = post(till, f"/api/v1/holds/{hold_id}/refund/", {"points": 500}, key="refund-1")
    repeat = post(till, f"/api/v1/holds/{hold_id}/refund/", {"points": 500}, key="refund-1")
    rest = post(till, f"/api/v1/holds/{hold_id}/refund/")
    over = post(till, f"/api/v1/holds/{hold_id}/refund/", {"points": 1})

    assert (part.status_code, part.json()["refunded_points"], part.json()["balance"]) == (200, 500, 2000)
    assert repeat.json() == part.json()
    assert (rest.json()["refunded_points"], rest.json()["balance"]) == (1500, 3000)
    assert (over.status_code, over.json()["error"]["code"], over.json()["error"]["details"]) == (
        409,
        "not_reversible",
        {"reversible": 0},
    )
    assert Entry.objects.filter(kind=EntryKind.REVERSE).count() == 2
    assert audit() == []


def test_a_hold_not_captured_cannot_be_refunded(till, member):
    hold_id = place(till, member, points=2000).json()["id"]

    response = post(till, f"/api/v1/holds/{hold_id}/refund/")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_reversible")


def test_a_partner_reads_and_acts_on_its_own_holds_only(till, other_till, member):
    hold_id = place(till, member, points=2000).json()["id"]
    before = ledger_state(member.account)

    answers = [other_till.get(f"/api/v1/holds/{hold_id}/")] + [
        post(other_till, f"/api/v1/holds/{hold_id}/{action}/") for action in ("capture", "void", "refund")
    ]

    assert [(a.status_code, a.json()["error"]["code"]) for a in answers] == [(404, "not_found")] * 4
    assert ledger_state(member.account) == before
    assert Hold.objects.get().status == HoldStatus.OPEN
    assert till.get(f"/api/v1/holds/{hold_id}/").json()["status"] == "open"


def test_another_partner_holds_points_of_a_member_it_did_not_enrol_with_the_code(other_till, member):
    response = place(other_till, member, points=100)

    assert response.status_code == 201
    assert PointsPayment.objects.get().partner.name == "Globex"


def test_the_scope_rewards_redeem_is_needed(api, member):
    response = place(api, member, points=100)  # members:read, members:write, points:adjust

    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")
    assert not Hold.objects.exists()


def test_a_suspended_member_holds_nothing_and_its_hold_is_voided_not_captured(till, member):
    hold_id = place(till, member, points=2000).json()["id"]
    code = presence_code_issue(member=member)[1]  # shown before the suspension
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="phone call")

    refused = place(till, member, code=code, points=100, external_id="basket-2")
    capture = post(till, f"/api/v1/holds/{hold_id}/capture/")
    void = post(till, f"/api/v1/holds/{hold_id}/void/")

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "member_suspended")
    assert (capture.status_code, capture.json()["error"]["code"]) == (409, "member_suspended")
    assert (void.status_code, void.json()["status"]) == (200, "voided")


def test_the_history_shows_the_hold_its_capture_and_its_release(till, member):
    hold_id = place(till, member, points=2000).json()["id"]
    post(till, f"/api/v1/holds/{hold_id}/capture/", {"points": 1500})

    entries = till.get(f"/api/v1/members/{member.member_number}/entries/", HTTP_ACCEPT_LANGUAGE="en").json()

    assert [(e["kind"], e["amount"], e["held"], e["memo"]) for e in entries["results"][:3]] == [
        ("release", 500, -500, "500 points set aside were not needed at the till: they are yours again"),
        ("capture", 0, -1500, "1,500 points set aside paid at the till"),
        ("hold", -2000, 2000, "2,000 points set aside for a payment at a till: not spent until the sale completes"),
    ]


# Each operation runs a fixed number of queries, whatever the member's history.


@pytest.fixture
def member_with(member):
    ContentType.objects.get_for_model(Partner)  # content types are cached per process: warm them
    ContentType.objects.get_for_model(PointsPayment)

    def make(entries: int):
        for _ in range(entries):
            ledger.credit(member.account, 10, cause=member)
        return member

    return make


HISTORY = [pytest.param(1, id="1-entry"), pytest.param(40, id="40-entries")]
# On SQLite the ledger writes row by row (savepoints and each statement), on PostgreSQL a move is one statement.
PLACE_QUERIES = 27 if connection.vendor == "postgresql" else 30
CAPTURE_QUERIES = 17 if connection.vendor == "postgresql" else 21


@pytest.mark.parametrize("entries", HISTORY)
def test_placing_a_hold_runs_a_fixed_number_of_queries(till, member_with, entries, django_assert_num_queries):
    member = member_with(entries)
    code = presence_code_issue(member=member)[1]

    # the key, the member, the repeat and the code checked; then the account, the code spent, the payment,
    # the ledger's hold (the account, its lots, the entry and moves, the hold) and the stored response
    with django_assert_num_queries(PLACE_QUERIES):
        response = place(till, member, code=code, points=5)  # from one lot, as a debit takes

    assert response.status_code == 201


@pytest.mark.parametrize("entries", HISTORY)
def test_capturing_and_reading_a_hold_run_a_fixed_number_of_queries(
    till, member_with, entries, django_assert_num_queries
):
    member = member_with(entries)
    hold_id = place(till, member, points=5).json()["id"]

    with django_assert_num_queries(CAPTURE_QUERIES):
        assert post(till, f"/api/v1/holds/{hold_id}/capture/", {"points": 3}).status_code == 200
    with django_assert_num_queries(2):  # the key (used a moment ago: last_used_at stays), the payment joined
        assert till.get(f"/api/v1/holds/{hold_id}/").status_code == 200


def test_an_expired_hold_answers_expired(till, member):
    hold_id = place(till, member, points=2000).json()["id"]
    ledger.holds_release_expired(now=timezone.now() + timedelta(minutes=16))

    response = post(till, f"/api/v1/holds/{hold_id}/capture/")

    assert response.json()["error"]["details"] == {"status": "expired"}
    assert till.get(f"/api/v1/holds/{hold_id}/").json()["balance"] == 3000
