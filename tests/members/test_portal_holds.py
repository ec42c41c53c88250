"""What a member reads of pay with points: the held points on the dashboard, each step in the history."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from loyalty.ledger import services as ledger
from tests.members.test_portal_queries import queries_for


def place(member, points):
    return ledger.hold(member.account, points, expires_at=timezone.now() + timedelta(minutes=15), cause=member)


def test_the_dashboard_shows_held_points_only_when_there_are_some(member_client, member):
    ledger.credit(member.account, 3000, cause=member)
    assert 'data-testid="held"' not in member_client.get(reverse("portal:dashboard")).content.decode()

    place(member, 1250)
    page = member_client.get(reverse("portal:dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'data-testid="held"' in page
    assert '<p class="figure">1,250</p>' in page
    assert "points set aside for a payment at a till: spent when the sale completes, yours again if it does not" in (
        page
    )
    assert '<p class="figure" data-testid="balance">1,750</p>' in page


def test_the_held_points_cost_the_dashboard_no_query(member_client, member):
    ledger.credit(member.account, 3000, cause=member)
    without = queries_for(member_client, "portal:dashboard", {})  # pinned by tests/members/test_portal_queries.py
    place(member, 1250)

    assert queries_for(member_client, "portal:dashboard", {}) == without


def test_the_history_shows_each_step_of_a_hold_with_its_memo(member_client, member):
    ledger.credit(member.account, 3000, cause=member)
    ledger.hold_capture(place(member, 2000), points=1500)
    ledger.hold_void(place(member, 100))

    page = member_client.get(reverse("portal:history"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    for text in (
        "2,000 points set aside for a payment at a till: not spent until the sale completes",
        "1,500 points set aside paid at the till",
        "500 points set aside were not needed at the till: they are yours again",
        "The payment at the till was cancelled: 100 points set aside are yours again",
        "Paid with held points",
        "Released",
    ):
        assert text in page, text
