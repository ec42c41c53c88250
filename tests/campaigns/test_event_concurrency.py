"""Racing events on PostgreSQL: the member's account lock counts them one after the other."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from campaigns.events import event_approve, event_record
from campaigns.models import Event, EventLimit, Outcome, RuleKind
from loyalty.exceptions import EventNotAwaitingApproval, ExternalIdConflict
from tests.factories.campaigns import CampaignFactory
from tests.factories.events import EventTypeFactory
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

AT = datetime(2027, 3, 10, 12, tzinfo=UTC)
NOW = datetime(2027, 3, 10, 13, tzinfo=UTC)


def post(member, event_type, external_id, partner=None, body_hash=""):
    return lambda: event_record(
        member=member,
        event_type_code=event_type.code,
        external_id=external_id,
        occurred_at=AT,
        attributes={},
        partner=partner,
        body_hash=body_hash,
        now=NOW,
    )


def test_eight_racing_posts_of_a_once_ever_type_earn_once():
    member = MemberFactory()
    once = EventTypeFactory(points=50, limit=EventLimit.ONCE)

    outcomes = run_together(*[post(member, once, f"app-{n}") for n in range(8)])

    assert Counter(outcome.outcome for outcome in outcomes) == {Outcome.EARNED: 1, Outcome.LIMIT_REACHED: 7}
    member.account.refresh_from_db()
    assert member.account.balance == 50


def test_racing_posts_of_n_a_day_earn_n_times():
    member = MemberFactory()
    shares = EventTypeFactory(points=10, limit=EventLimit.PER_DAY, per_day=3)

    outcomes = run_together(*[post(member, shares, f"share-{n}") for n in range(8)])

    assert Counter(outcome.outcome for outcome in outcomes) == {Outcome.EARNED: 3, Outcome.LIMIT_REACHED: 5}
    member.account.refresh_from_db()
    assert member.account.balance == 30


def test_the_same_event_posted_by_racing_requests_is_recorded_once():
    member, partner = MemberFactory(), PartnerFactory()
    custom = EventTypeFactory(points=10)

    outcomes = run_together(*[post(member, custom, "rev-1", partner, "h")] * 6)

    assert {outcome.pk for outcome in outcomes} == {Event.objects.get().pk}
    member.account.refresh_from_db()
    assert member.account.balance == 10


def test_one_partner_id_posted_for_two_members_at_once_is_one_event_and_a_conflict():
    # Two accounts, two locks: the unique (partner, external_id) decides.
    partner = PartnerFactory()
    custom = EventTypeFactory(points=10)
    first, second = MemberFactory(), MemberFactory()

    outcomes = run_together(post(first, custom, "rev-1", partner, "h1"), post(second, custom, "rev-1", partner, "h2"))

    assert Counter(type(outcome).__name__ for outcome in outcomes) == {"Event": 1, "ExternalIdConflict": 1}
    assert Event.objects.count() == 1
    assert any(isinstance(outcome, ExternalIdConflict) for outcome in outcomes)


def test_racing_approvals_credit_once():
    member, partner = MemberFactory(), PartnerFactory()
    review = EventTypeFactory(points=20, requires_approval=True)
    event = post(member, review, "rev-1", partner, "h")()

    outcomes = run_together(*[lambda: event_approve(event=event, actor=partner, now=NOW)] * 5)

    assert Counter(type(outcome).__name__ for outcome in outcomes) == {"Event": 1, "EventNotAwaitingApproval": 4}
    assert all(isinstance(o, Event | EventNotAwaitingApproval) for o in outcomes)
    member.account.refresh_from_db()
    assert member.account.balance == 20


def test_events_of_many_members_racing_for_the_last_of_a_budget_never_exceed_it():
    shares = EventTypeFactory(points=0)
    campaign = CampaignFactory(rules=[{"kind": RuleKind.EVENT_POINTS, "event_type": shares, "points": 10}], budget=35)
    members = [MemberFactory() for _ in range(6)]

    outcomes = run_together(*[post(member, shares, "share-1") for member in members])

    assert sorted(outcome.points for outcome in outcomes) == [0, 0, 5, 10, 10, 10]
    campaign.refresh_from_db()
    assert campaign.points_awarded == 35
