"""GET /api/v1/members/{member_number}/missions/: progress per mission and step, in a fixed number of queries."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from missions.models import StepKind
from tests.factories.campaigns import item, purchase_post
from tests.factories.members import MemberFactory
from tests.factories.missions import MissionFactory
from tests.factories.partners import PartnerFactory, partner_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner():
    return PartnerFactory()


@pytest.fixture
def client_for():
    def make(key: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


@pytest.fixture
def api(partner, client_for):
    return client_for(partner_key(partner)[1])


def url(member) -> str:
    return f"/api/v1/members/{member.member_number}/missions/"


@pytest.fixture
def member():
    return MemberFactory()


def test_a_partner_reads_each_mission_s_progress_per_step(api, member):
    now = timezone.now()
    mission = MissionFactory(
        name="Coffee", name_fr="Café", steps=[{"count": 3}, {"kind": StepKind.CATEGORY, "category": "coffee"}]
    )
    MissionFactory(status="draft")
    MissionFactory(ends_at=now - timedelta(days=1), starts_at=now - timedelta(days=2))
    purchase_post(member, item(category="coffee"), now=now)

    response = api.get(url(member))

    assert response.status_code == 200
    body = response.json()
    assert [shown["id"] for shown in body["missions"]] == [mission.pk]
    shown = body["missions"][0]
    assert (shown["name_fr"], shown["percent"], shown["completed_at"]) == ("Café", 66, None)
    assert [(step["kind"], step["value"], step["target"], step["done"]) for step in shown["steps"]] == [
        ("purchases", "1.00", "3.00", False),
        ("category", "1.00", "1.00", True),
    ]


def test_a_completed_mission_says_when(api, member):
    MissionFactory()
    purchase_post(member, now=timezone.now())

    shown = api.get(url(member)).json()["missions"][0]

    assert shown["percent"] == 100
    assert shown["completed_at"] is not None


def test_a_key_without_the_read_scope_or_a_bad_number_is_refused(partner, client_for, member, api):
    limited = client_for(partner_key(partner, scopes=["transactions:write"])[1])

    assert limited.get(url(member)).status_code == 403
    assert api.get("/api/v1/members/123/missions/").status_code == 400
    for method in (api.post, api.put, api.delete):  # unmapped methods: refused, nothing read or written
        assert method(url(member), {}, format="json").status_code in (403, 405)


@pytest.mark.parametrize("count", [1, 8])
def test_reading_missions_runs_a_fixed_number_of_queries(api, member, count, django_assert_num_queries):
    for _index in range(count):
        MissionFactory(steps=[{"count": 2}, {"kind": StepKind.SPEND, "amount": "5.00"}])
    purchase_post(member, now=timezone.now())
    api.get(url(member))  # the key's last use written

    # the key; the member; its facts; the missions, their steps, tiers; its progress; its completions
    with django_assert_num_queries(1 + 1 + 1 + 3 + 1 + 1):
        assert api.get(url(member)).status_code == 200
