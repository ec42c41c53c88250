import itertools
from datetime import date, timedelta

import pytest
from django.utils import timezone

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, EntryKind
from loyalty.partners.models import IdempotentResponse
from members.models import Member
from tests.factories.members import MemberFactory

# A program without tiers: what the tier fields say (tests/api/test_member_tiers.py covers tiers).
NO_TIER = {
    "tier": None,
    "progress": {"basis": "rolling_points", "value": "0", "target": None, "missing": None, "by": None},
    "next_tier": None,
    "requalification_date": None,
}
ENROL = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}
KEYS = itertools.count(1)


def with_key(headers):
    """A fresh Idempotency-Key unless the test gives one (``HTTP_IDEMPOTENCY_KEY=None`` sends none)."""
    headers.setdefault("HTTP_IDEMPOTENCY_KEY", f"key-{next(KEYS)}")
    return {name: value for name, value in headers.items() if value is not None}


def enrol(api, body=None, **headers):
    return api.post("/api/v1/members/", ENROL if body is None else body, format="json", **with_key(headers))


def adjust(api, member, points, reason="Goodwill", **headers):
    return api.post(
        f"/api/v1/members/{member.member_number}/adjustments/",
        {"points": points, "reason": reason},
        format="json",
        **with_key(headers),
    )


# Enrolment


def test_enrol_creates_the_member_with_its_account(api, partner):
    response = enrol(api, {**ENROL, "birth_date": "1990-12-10", "language": "fr", "external_id": "C-42"})

    assert response.status_code == 201
    member = Member.objects.select_related("user", "account").get()
    assert response.json() == {
        "view": "profile",
        "member_number": member.member_number,
        "status": "active",
        "balance": 0,
        "pending": 0,
        "expiring": [],
        **NO_TIER,
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "birth_date": "1990-12-10",
        "language": "fr",
        "external_id": "C-42",
        "phone": "",
        "joined_at": member.joined_at.isoformat().replace("+00:00", "Z"),
    }
    assert response["Location"] == f"http://testserver/api/v1/members/{member.member_number}/"
    assert member.enrolled_by == partner
    assert (member.birth_date, member.language, member.external_id) == (date(1990, 12, 10), "fr", "C-42")
    assert member.account.balance == 0


def test_enrol_ignores_read_only_fields(api):
    response = enrol(api, {**ENROL, "balance": 1_000_000, "pending": 5, "status": "closed", "member_number": "1"})

    assert response.status_code == 201
    member = Member.objects.select_related("account").get()
    assert (member.account.balance, member.account.pending, member.status) == (0, 0, "active")
    assert member.member_number != "1"
    assert Entry.objects.count() == 0


EMAIL_TAKEN = {
    "error": {
        "code": "conflict",
        "message": "This e-mail is already registered.",
        "fields": {"email": ["This e-mail is already registered."]},
    }
}


@pytest.mark.parametrize("enrolled_by", ["portal", "this-partner", "other-partner"])
def test_enrol_with_a_known_email_gets_the_same_bare_409_whoever_enrolled_it(api, partner, other_partner, enrolled_by):
    enroller = {"portal": None, "this-partner": partner, "other-partner": other_partner}[enrolled_by]
    existing = MemberFactory(email="ada@example.com", enrolled_by=enroller)

    response = enrol(api, {**ENROL, "email": "ADA@example.com"})

    assert response.status_code == 409
    assert response.json() == EMAIL_TAKEN
    assert existing.member_number not in response.content.decode()
    assert "Location" not in response
    assert Member.objects.count() == 1


def test_enrol_with_the_email_of_a_staff_login_gets_the_same_409(api, django_user_model):
    django_user_model.objects.create_user(username="ada@example.com", email="ada@example.com", is_staff=True)

    response = enrol(api)

    assert response.status_code == 409
    assert response.json() == EMAIL_TAKEN
    assert Member.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param(
            {},
            {
                "email": ["This field is required."],
                "first_name": ["This field is required."],
                "last_name": ["This field is required."],
            },
            id="empty",
        ),
        pytest.param({**ENROL, "email": "not-an-email"}, {"email": ["Enter a valid email address."]}, id="email"),
        pytest.param({**ENROL, "language": "xx"}, {"language": ['"xx" is not a valid choice.']}, id="language"),
        pytest.param(
            {**ENROL, "birth_date": "2999-01-01"},
            {"birth_date": ["Give a date of birth between 1900-01-01 and today."]},
            id="birth-date-future",
        ),
        pytest.param(
            {**ENROL, "external_id": "x" * 65},
            {"external_id": ["Ensure this field has no more than 64 characters."]},
            id="external-id-long",
        ),
        pytest.param(
            {**ENROL, "first_name": "A\x00"}, {"first_name": ["Null characters are not allowed."]}, id="null-char"
        ),
    ],
)
def test_enrol_with_bad_fields_gets_400_with_field_messages(api, body, fields):
    response = enrol(api, body)

    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid", "message": "The request is not valid.", "fields": fields}}
    assert Member.objects.count() == 0


def test_enrol_with_a_json_list_gets_400(api):
    response = api.post("/api/v1/members/", [ENROL], format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }


def test_enrol_repeated_with_the_same_key_returns_the_first_response(api):
    first = enrol(api, HTTP_IDEMPOTENCY_KEY="enrol-1")
    repeat = enrol(api, HTTP_IDEMPOTENCY_KEY="enrol-1")

    assert (first.status_code, repeat.status_code) == (201, 201)
    assert repeat.json() == first.json()
    assert Member.objects.count() == 1


def test_enrol_repeated_with_the_same_key_and_another_body_gets_409(api):
    enrol(api, HTTP_IDEMPOTENCY_KEY="enrol-1")

    response = enrol(api, {**ENROL, "email": "grace@example.com"}, HTTP_IDEMPOTENCY_KEY="enrol-1")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert Member.objects.count() == 1


def test_idempotency_keys_are_per_partner(api, other_api):
    enrol(api, HTTP_IDEMPOTENCY_KEY="shared")

    response = enrol(other_api, {**ENROL, "email": "grace@example.com"}, HTTP_IDEMPOTENCY_KEY="shared")

    assert response.status_code == 201
    assert Member.objects.count() == 2
    assert IdempotentResponse.objects.count() == 2


# Reading a member


def test_read_a_member_with_balance_pending_and_expiring_points(api):
    member = MemberFactory()
    today = timezone.localdate()
    soon, later, never = today + timedelta(days=10), today + timedelta(days=40), None
    ledger.credit(member.account, 100, expires_on=later)
    ledger.credit(member.account, 30, expires_on=soon)
    ledger.credit(member.account, 20, expires_on=soon)
    ledger.credit(member.account, 7, expires_on=never)
    ledger.credit(member.account, 50, available_at=timezone.now() + timedelta(days=3), expires_on=later)

    response = api.get(f"/api/v1/members/{member.member_number}/")

    assert response.status_code == 200
    body = response.json()
    assert (body["balance"], body["pending"]) == (157, 50)
    assert body["expiring"] == [
        {"expires_on": soon.isoformat(), "points": 50},
        {"expires_on": later.isoformat(), "points": 100},
    ]


def test_another_partner_reads_only_what_a_till_needs(api, other_api):
    number = enrol(other_api, {**ENROL, "birth_date": "1990-12-10", "external_id": "C-42"}).json()["member_number"]
    member = Member.objects.get(member_number=number)
    ledger.credit(member.account, 120, expires_on=None)

    response = api.get(f"/api/v1/members/{number}/")

    assert response.status_code == 200
    assert response.json() == {
        "view": "till",
        "member_number": number,
        "status": "active",
        "balance": 120,
        "pending": 0,
        "expiring": [],
        **NO_TIER,
        "progress": {**NO_TIER["progress"], "value": "120"},  # earned points count towards tiers
    }


def test_the_enrolling_partner_reads_the_profile(api):
    number = enrol(api, {**ENROL, "birth_date": "1990-12-10", "external_id": "C-42"}).json()["member_number"]

    body = api.get(f"/api/v1/members/{number}/").json()

    assert body["view"] == "profile"
    assert (body["email"], body["first_name"], body["birth_date"], body["external_id"]) == (
        "ada@example.com",
        "Ada",
        "1990-12-10",
        "C-42",
    )


def test_a_member_enrolled_in_the_portal_is_read_by_every_partner_as_a_till(api):
    member = MemberFactory(enrolled_by=None)

    assert api.get(f"/api/v1/members/{member.member_number}/").json()["view"] == "till"


# History


def test_entries_are_newest_first(api, partner):
    member = MemberFactory(enrolled_by=partner)
    first = ledger.credit(member.account, 10)
    second = ledger.debit(member.account, 4)

    response = api.get(f"/api/v1/members/{member.member_number}/entries/")

    assert response.status_code == 200
    assert [entry["id"] for entry in response.json()["results"]] == [second.pk, first.pk]
    assert response.json()["results"][0] == {
        "id": second.pk,
        "kind": "redeem",
        "amount": -4,
        "held": 0,
        "balance_after": 6,
        "created_at": second.created_at.isoformat().replace("+00:00", "Z"),
        "memo": "",
    }


def test_entries_filter_by_kind_and_day(api, partner):
    member = MemberFactory(enrolled_by=partner)
    long_ago = timezone.now() - timedelta(days=30)
    old = ledger.credit(member.account, 10, now=long_ago, expires_on=None)
    ledger.credit(member.account, 5, EntryKind.BONUS, expires_on=None)
    recent_earn = ledger.credit(member.account, 3, expires_on=None)
    url = f"/api/v1/members/{member.member_number}/entries/"

    by_kind = api.get(url, {"kind": "earn"}).json()["results"]
    since = api.get(url, {"kind": "earn", "since": (timezone.localdate() - timedelta(days=1)).isoformat()})
    until = api.get(url, {"until": (timezone.localdate() - timedelta(days=1)).isoformat()})

    assert [entry["id"] for entry in by_kind] == [recent_earn.pk, old.pk]
    assert [entry["id"] for entry in since.json()["results"]] == [recent_earn.pk]
    assert [entry["id"] for entry in until.json()["results"]] == [old.pk]


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        pytest.param(
            {"kind": "bogus"},
            {"kind": ["Select a valid choice. bogus is not one of the available choices."]},
            id="kind",
        ),
        pytest.param({"since": "yesterday"}, {"since": ["Enter a valid date."]}, id="since"),
    ],
)
def test_entries_with_a_bad_filter_get_400(api, params, fields):
    member = MemberFactory()

    response = api.get(f"/api/v1/members/{member.member_number}/entries/", params)

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == fields


def test_entries_are_paginated_by_cursor_with_a_capped_page_size(api, partner):
    member = MemberFactory(enrolled_by=partner)
    for _ in range(105):
        ledger.credit(member.account, 1)
    url = f"/api/v1/members/{member.member_number}/entries/"

    first = api.get(url, {"page_size": 1000}).json()
    second = api.get(first["next"]).json()

    assert len(first["results"]) == 100
    assert len(second["results"]) == 5
    assert second["next"] is None
    assert {e["id"] for e in first["results"]} | {e["id"] for e in second["results"]} == set(
        member.account.entries.values_list("id", flat=True)
    )


def test_entries_of_an_unknown_member_get_404(api):
    response = api.get("/api/v1/members/0000000000/entries/")

    assert response.status_code == 404


# Adjustments


def test_adjust_credits_points_with_the_partner_as_actor(api, partner):
    member = MemberFactory()

    response = adjust(api, member, 250, "Welcome gift")

    entry = Entry.objects.get()
    assert response.status_code == 201
    assert response.json() == {
        "entry": {
            "id": entry.pk,
            "kind": "adjust",
            "amount": 250,
            "held": 0,
            "balance_after": 250,
            "created_at": entry.created_at.isoformat().replace("+00:00", "Z"),
            "memo": "Welcome gift",
        },
        "balance": 250,
        "pending": 0,
    }
    assert entry.actor == partner


def test_adjust_debits_points_of_a_member_the_partner_enrolled(api, partner):
    member = MemberFactory(enrolled_by=partner)
    ledger.credit(member.account, 100)

    response = adjust(api, member, -30)

    assert response.status_code == 201
    assert (response.json()["entry"]["amount"], response.json()["balance"]) == (-30, 70)


def test_a_debit_beyond_the_balance_gets_409_and_changes_nothing(api, partner):
    member = MemberFactory(enrolled_by=partner)
    ledger.credit(member.account, 10)

    response = adjust(api, member, -11)

    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "insufficient_points",
            "message": "Only 10 points are available; 11 were asked for.",
            "fields": {},
            "details": {"available": 10, "requested": 11},
        }
    }
    member.account.refresh_from_db()
    assert member.account.balance == 10
    assert member.account.entries.count() == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param(
            {"points": 0, "reason": "x"}, {"points": ["Points must be a whole number other than zero."]}, id="zero"
        ),
        pytest.param({"points": 1.5, "reason": "x"}, {"points": ["A valid integer is required."]}, id="fraction"),
        pytest.param(
            {"points": 10**12, "reason": "x"},
            {"points": ["Ensure this value is less than or equal to 1000000000."]},
            id="huge",
        ),
        pytest.param({"points": 5, "reason": "  "}, {"reason": ["This field may not be blank."]}, id="blank-reason"),
        pytest.param({"points": 5}, {"reason": ["This field is required."]}, id="no-reason"),
    ],
)
def test_adjust_with_bad_fields_gets_400_and_changes_nothing(api, body, fields):
    member = MemberFactory()

    response = api.post(f"/api/v1/members/{member.member_number}/adjustments/", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == fields
    assert member.account.entries.count() == 0


def test_adjust_an_unknown_member_gets_404(api):
    response = api.post("/api/v1/members/0000000000/adjustments/", {"points": 5, "reason": "x"}, format="json")

    assert response.status_code == 404
    assert Entry.objects.count() == 0


def test_adjust_repeated_with_the_same_key_has_one_effect_and_the_same_response(api):
    member = MemberFactory()

    first = adjust(api, member, 40, HTTP_IDEMPOTENCY_KEY="adj-1")
    repeat = adjust(api, member, 40, HTTP_IDEMPOTENCY_KEY="adj-1")

    assert (first.status_code, repeat.status_code) == (201, 201)
    assert repeat.json() == first.json()
    member.account.refresh_from_db()
    assert member.account.balance == 40
    assert member.account.entries.count() == 1


def test_adjust_repeated_with_the_same_key_and_another_body_gets_409(api):
    member = MemberFactory()
    adjust(api, member, 40, HTTP_IDEMPOTENCY_KEY="adj-1")

    response = adjust(api, member, 41, HTTP_IDEMPOTENCY_KEY="adj-1")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    member.account.refresh_from_db()
    assert member.account.balance == 40


def test_a_failed_adjustment_is_not_stored_so_its_repeat_runs_again(api, partner):
    member = MemberFactory(enrolled_by=partner)
    assert adjust(api, member, -5, HTTP_IDEMPOTENCY_KEY="adj-1").status_code == 409
    ledger.credit(member.account, 5)

    response = adjust(api, member, -5, HTTP_IDEMPOTENCY_KEY="adj-1")

    assert response.status_code == 201
    assert response.json()["balance"] == 0


# Partner isolation


def test_a_partner_reads_the_whole_history_of_members_it_enrolled(api, other_api):
    member = Member.objects.get(member_number=enrol(api).json()["member_number"])
    own = adjust(api, member, 10).json()["entry"]["id"]
    theirs = adjust(other_api, member, 20).json()["entry"]["id"]
    system = ledger.credit(member.account, 5).pk

    response = api.get(f"/api/v1/members/{member.member_number}/entries/")

    assert [entry["id"] for entry in response.json()["results"]] == [system, theirs, own]


def test_a_partner_reads_only_its_own_entries_of_members_another_enrolled(api, other_api):
    member = Member.objects.get(member_number=enrol(other_api).json()["member_number"])
    adjust(other_api, member, 20)
    ledger.credit(member.account, 5)
    own = adjust(api, member, 10).json()["entry"]["id"]

    response = api.get(f"/api/v1/members/{member.member_number}/entries/")

    assert [entry["id"] for entry in response.json()["results"]] == [own]


# Location and the entry endpoint


def test_an_adjustment_answers_with_the_location_of_its_entry(api, partner):
    member = MemberFactory(enrolled_by=partner)

    response = adjust(api, member, 25)

    entry_id = response.json()["entry"]["id"]
    url = f"/api/v1/members/{member.member_number}/entries/{entry_id}/"
    assert response["Location"] == f"http://testserver{url}"
    assert api.get(url).json() == response.json()["entry"]


def test_a_partner_reads_one_entry_only_where_it_reads_the_history(api, other_api):
    member = MemberFactory()
    theirs = adjust(other_api, member, 20).json()["entry"]["id"]
    own = adjust(api, member, 10).json()["entry"]["id"]

    mine = api.get(f"/api/v1/members/{member.member_number}/entries/{own}/")
    not_mine = api.get(f"/api/v1/members/{member.member_number}/entries/{theirs}/")

    assert mine.status_code == 200
    assert not_mine.status_code == 404
    assert not_mine.json()["error"]["code"] == "not_found"
