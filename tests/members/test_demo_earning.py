"""`demo_data` posts two purchases through the earning engine, once however often it runs."""

from django.core.management import call_command

from campaigns.models import Award, Campaign, Purchase
from loyalty.ledger.audit import audit


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
