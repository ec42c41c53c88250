"""The missions' admin: the list with its figures, the page with its steps inline, the history."""

import pytest
from django.utils import timezone

from tests.factories.campaigns import purchase_post
from tests.factories.members import MemberFactory
from tests.factories.missions import MissionFactory

pytestmark = pytest.mark.django_db


def test_the_list_shows_members_reached_completions_and_budget_left(admin_client):
    mission = MissionFactory(name="Coffee week", budget_completions=10, prize_points=5, budget_points=100)
    unbudgeted = MissionFactory(name="Open", prize_points=7)
    for _ in range(2):
        purchase_post(MemberFactory(), now=timezone.now())

    response = admin_client.get("/admin/missions/mission/")
    page = response.content.decode()

    assert "Coffee week" in page
    figures = {row.pk: (row.reached, row.paid_count, row.paid_points) for row in response.context["cl"].result_list}
    assert figures == {mission.pk: (2, 2, 10), unbudgeted.pk: (2, 2, 14)}
    assert "90 points, 8 completions" in page
    assert admin_client.get(f"/admin/missions/mission/{mission.pk}/change/").status_code == 200
    assert admin_client.get(f"/admin/missions/mission/{mission.pk}/history/").status_code == 200
    assert admin_client.get("/admin/missions/missioncompletion/").status_code == 200


def test_staff_add_a_mission_with_its_steps(admin_client):
    response = admin_client.post(
        "/admin/missions/mission/add/",
        {
            "name": "Tea time",
            "name_fr": "L'heure du thé",
            "status": "active",
            "completion_limit": "once",
            "prize_points": "10",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-0-position": "1",
            "steps-0-kind": "category",
            "steps-0-count": "1",
            "steps-0-amount": "0",
            "steps-0-category": "tea",
            "steps-0-streak_unit": "day",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    from missions.models import Mission

    assert Mission.objects.get(name="Tea time").steps.get().category == "tea"
