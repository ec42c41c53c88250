"""Racing purchases on PostgreSQL, each on its own thread and connection: a mission completes once."""

from collections import Counter

import pytest

from missions.models import MissionCompletion
from tests.factories.campaigns import purchase_post
from tests.factories.members import MemberFactory
from tests.factories.missions import MissionFactory
from tests.factories.partners import PartnerFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_purchases_racing_complete_the_mission_once():
    mission = MissionFactory(steps=[{"count": 1}], prize_points=50)
    member, partner = MemberFactory(), PartnerFactory()

    outcomes = run_together(*[lambda: purchase_post(member, partner=partner)] * 2)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert MissionCompletion.objects.filter(mission=mission).count() == 1
    member.account.refresh_from_db()
    assert member.account.balance == 2 * 10 + 50


def test_members_racing_for_the_last_completion_of_a_budget_never_exceed_it():
    mission = MissionFactory(prize_points=30, budget_points=100)
    partner = PartnerFactory()
    members = [MemberFactory() for _ in range(6)]

    outcomes = run_together(*[lambda member=member: purchase_post(member, partner=partner) for member in members])

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    mission.refresh_from_db()
    assert (mission.points_paid, mission.completions) == (90, 3)
    assert Counter(MissionCompletion.objects.values_list("mission_id", flat=True)) == {mission.pk: 3}
