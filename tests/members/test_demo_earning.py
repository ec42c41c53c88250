"""`demo_data` posts two purchases through the earning engine, once however often it runs, and shows a challenge."""

from django.core.management import call_command
from django.utils import timezone

from campaigns.models import Award, Campaign, Purchase
from campaigns.selectors import member_facts_get
from loyalty.ledger.audit import audit
from members.models import Member
from missions.selectors import member_missions


def test_demo_data_posts_alices_purchases_through_the_engine_once(db):
    call_command("demo_data", stdout=None)
    call_command("demo_data", stdout=None)

    purchases = Purchase.objects.order_by("external_id")
    assert [(p.external_id, p.outcome) for p in purchases] == [("demo-till-1", "earned"), ("demo-till-2", "earned")]
    assert {p.member.user.email for p in purchases} == {"alice@example.com"}
    assert all(p.points == p.entry.amount for p in purchases)
    assert set(Award.objects.values_list("source", flat=True)) >= {"base", "campaign"}
    assert set(Campaign.objects.values_list("name", flat=True)) == {"Coffee lovers", "Big basket bonus"}
    assert audit() == []


def test_the_demo_s_challenge_is_two_thirds_done_for_alice(db):
    call_command("demo_data", stdout=None)
    alice = Member.objects.get(user__email="alice@example.com")

    (shown,), _completed = member_missions(member=alice, now=timezone.now(), facts=member_facts_get(member=alice))

    assert (shown.mission.name, shown.done_steps, shown.completed) == ("Coffee week", 1, None)
