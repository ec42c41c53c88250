"""Every POST that creates something or moves points needs an Idempotency-Key; stored answers are purged."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from loyalty.ledger import services as ledger
from loyalty.partners.models import IdempotentResponse
from loyalty.partners.services import idempotent_responses_purge
from loyalty.partners.tasks import purge_idempotent_responses
from members.models import Member
from tests.factories.members import MemberFactory

KEY_REQUIRED = {
    "error": {
        "code": "idempotency_key_required",
        "message": "Send an Idempotency-Key header with this request.",
        "fields": {"Idempotency-Key": ["Send an Idempotency-Key header with this request."]},
    }
}


def test_enrolling_without_an_idempotency_key_gets_400_and_creates_nothing(api):
    response = api.post(
        "/api/v1/members/", {"email": "a@example.com", "first_name": "A", "last_name": "B"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == KEY_REQUIRED
    assert Member.objects.count() == 0


@pytest.mark.parametrize("points", [50, -5])
def test_adjusting_without_an_idempotency_key_gets_400_and_moves_nothing(api, partner, points):
    member = MemberFactory(enrolled_by=partner)
    ledger.credit(member.account, 10)

    response = api.post(
        f"/api/v1/members/{member.member_number}/adjustments/", {"points": points, "reason": "x"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == KEY_REQUIRED
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.entries.count()) == (10, 1)


def test_the_ledger_gets_the_partners_own_key_and_the_partner_as_actor(api, partner):
    member = MemberFactory(enrolled_by=partner)

    api.post(
        f"/api/v1/members/{member.member_number}/adjustments/",
        {"points": 5, "reason": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="till-42",
    )

    entry = member.account.entries.get()
    assert (entry.idempotency_key, entry.actor) == ("till-42", partner)


def test_two_partners_using_one_key_on_one_member_each_move_their_points(api, other_api):
    member = MemberFactory()
    url = f"/api/v1/members/{member.member_number}/adjustments/"

    first = api.post(url, {"points": 5, "reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="1")
    second = other_api.post(url, {"points": 5, "reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="1")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["entry"]["id"] != second.json()["entry"]["id"]
    member.account.refresh_from_db()
    assert member.account.balance == 10


def stored(partner, key, age):
    row = IdempotentResponse.objects.create(partner=partner, key=key, request_hash="h", status=201, body={})
    IdempotentResponse.objects.filter(pk=row.pk).update(created_at=timezone.now() - age)


def test_stored_answers_older_than_the_retention_are_purged_in_batches(partner, settings):
    settings.IDEMPOTENCY_KEY_RETENTION_DAYS = 3
    for n in range(5):
        stored(partner, f"old-{n}", timedelta(days=3, minutes=1))
    stored(partner, "recent", timedelta(days=2, hours=23))

    purged = idempotent_responses_purge(batch_size=2)

    assert purged == 5
    assert list(IdempotentResponse.objects.values_list("key", flat=True)) == ["recent"]
    assert idempotent_responses_purge() == 0


def test_the_purge_task_runs_the_service_and_is_on_the_beat_schedule(partner):
    stored(partner, "old", timedelta(days=settings.IDEMPOTENCY_KEY_RETENTION_DAYS + 1))

    assert purge_idempotent_responses() == 1
    assert IdempotentResponse.objects.count() == 0
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "partners.purge_idempotent_responses" in schedule


def test_after_the_purge_a_repeated_adjustment_still_moves_its_points_once(api, partner):
    member = MemberFactory(enrolled_by=partner)
    url = f"/api/v1/members/{member.member_number}/adjustments/"
    first = api.post(url, {"points": 5, "reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    IdempotentResponse.objects.update(created_at=timezone.now() - timedelta(days=30))
    idempotent_responses_purge()

    repeat = api.post(url, {"points": 5, "reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert repeat.status_code == 201
    assert repeat.json()["entry"]["id"] == first.json()["entry"]["id"]
    member.account.refresh_from_db()
    assert member.account.balance == 5
