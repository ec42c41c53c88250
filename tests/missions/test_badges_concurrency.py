"""Two purchases reaching the first purchase badge at once, on PostgreSQL: one badge, one event."""

import pytest

from loyalty.outbox.models import EventType, OutboxEvent
from missions.badges.models import MemberBadge
from missions.streaks.models import MemberActivity
from tests.factories.campaigns import purchase_post
from tests.factories.games import first_purchase_badge
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_first_purchases_at_once_earn_one_badge():
    badge = first_purchase_badge()
    member, partner = MemberFactory(), PartnerFactory()

    outcomes = run_together(*[lambda: purchase_post(member, partner=partner)] * 2)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert list(MemberBadge.objects.filter(member=member).values_list("badge", flat=True)) == [badge.pk]
    assert OutboxEvent.objects.filter(type=EventType.BADGE_EARNED, member=member).count() == 1
    assert MemberActivity.objects.get(pk=member.pk).purchases == 2


def test_a_daily_run_racing_a_purchase_awards_once():
    from django.utils import timezone

    from missions.badges.milestones import milestones_award_all

    member, partner = MemberFactory(), PartnerFactory()
    purchase_post(member, partner=partner)
    badge = first_purchase_badge()  # the member reached it before it existed

    outcomes = run_together(
        lambda: milestones_award_all(now=timezone.now()), lambda: milestones_award_all(now=timezone.now())
    )

    assert sorted(outcomes) == [0, 1]
    assert MemberBadge.objects.filter(member=member, badge=badge).count() == 1
