"""A purchase's statements do not grow with the missions it does not advance, and stay fixed for those it does."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Purchase
from loyalty.ledger.models import Entry
from missions.models import MissionCompletion, MissionProgress, StepKind
from tests.factories.campaigns import earning_policy_set, item, purchase_post
from tests.factories.members import MemberFactory
from tests.factories.missions import MissionFactory
from tests.factories.partners import PartnerFactory

pytestmark = pytest.mark.django_db


def statements(member, partner, **kwargs) -> int:
    with CaptureQueriesContext(connection) as context:
        purchase_post(member, item(category="tea"), partner=partner, **kwargs)
    return len(context)


@pytest.fixture
def warm():
    earning_policy_set()
    for model in (Purchase, Entry, MissionCompletion):
        ContentType.objects.get_for_model(model)


def unmatched_missions(count: int, partner_elsewhere):
    for index in range(count):
        MissionFactory(
            steps=[
                [{"kind": StepKind.CATEGORY, "category": "garden"}],
                [{"kind": StepKind.PARTNER, "partner": partner_elsewhere}],
                [{"kind": StepKind.EVENTS, "event_type_id": 1}],
            ][index % 3]
        )


def test_twenty_missions_a_purchase_does_not_advance_cost_no_statement(warm):
    member, partner = MemberFactory(), PartnerFactory()
    purchase_post(member, partner=partner)  # the rules read and kept
    baseline = statements(member, partner)

    unmatched_missions(20, PartnerFactory())
    purchase_post(member, partner=partner)  # the new rules read and kept

    assert statements(member, partner) == baseline
    assert not MissionProgress.objects.exists()


@pytest.mark.parametrize("advanced", [1, 10])
def test_the_missions_a_purchase_advances_cost_a_fixed_number_of_statements(warm, advanced):
    member, partner = MemberFactory(), PartnerFactory()
    purchase_post(member, partner=partner)
    baseline = statements(member, partner)
    unmatched_missions(5, PartnerFactory())
    for _ in range(advanced):
        MissionFactory(steps=[{"kind": StepKind.PURCHASES, "count": 100}])
    purchase_post(member, partner=partner)  # the first one creates the progress rows

    # the progress rows read, then written in one upsert with what the purchase added
    assert statements(member, partner) == baseline + 2
    assert MissionProgress.objects.count() == advanced


@pytest.mark.parametrize("completed", [1, 2])
def test_the_prizes_a_purchase_completes_are_paid_in_its_own_ledger_write(warm, completed):
    """The purchase's points and its missions' prizes take one account lock and one qualifying day write; each
    completion adds its row, its entry and the row's link to it; its ``mission.completed`` event goes in the
    purchase's own outbox insert."""
    member, partner = MemberFactory(), PartnerFactory()
    purchase_post(member, partner=partner)
    baseline = statements(member, partner)
    missions = [MissionFactory(steps=[{"kind": StepKind.PURCHASES, "count": 2}]) for _ in range(completed)]
    purchase_post(member, partner=partner)  # the rules read and kept; one purchase of two counted

    entry = 1 if connection.vendor == "postgresql" else 3  # the entry, its lot and the balances: one CTE on PG
    assert statements(member, partner) == baseline + 2 + completed * (1 + entry + 1)
    assert sorted(member.mission_completions.values_list("mission_id", flat=True)) == [m.pk for m in missions]
    assert Entry.objects.filter(account=member.account, kind="bonus").count() == completed
