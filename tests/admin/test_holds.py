"""Holds in the staff admin: a read-only list filtered by status, and a void action through the ledger."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Entry, EntryKind, Hold, HoldStatus
from tests.factories.members import MemberFactory

CHANGELIST = "/admin/ledger/hold/"


@pytest.fixture
def holds(db):
    """Two open holds and a captured one on a member with 1,000 points."""
    member = MemberFactory()
    ledger.credit(member.account, 1000, cause=member)
    ends = timezone.now() + timedelta(minutes=15)
    opened = [ledger.hold(member.account, points, expires_at=ends, cause=member) for points in (100, 200)]
    captured = ledger.hold(member.account, 300, expires_at=ends, cause=member)
    ledger.hold_capture(captured)
    return member, opened, captured


def test_staff_list_holds_filtered_by_status(client, staff_in, holds):
    client.force_login(staff_in("Support agent"))

    everything = client.get(CHANGELIST)
    open_only = client.get(CHANGELIST, {"status__exact": "open"})

    assert everything.status_code == 200
    assert everything.context["cl"].result_count == 3
    assert sorted(h.points for h in open_only.context["cl"].result_list) == [100, 200]


def test_a_hold_is_read_only(client, staff_in, holds):
    _, opened, _ = holds
    client.force_login(staff_in("Program manager"))

    page = client.get(reverse("admin:ledger_hold_change", args=[opened[0].pk]))
    refused = client.post(reverse("admin:ledger_hold_change", args=[opened[0].pk]), {"points": "999"})

    assert page.status_code == 200
    assert refused.status_code == 403
    assert Hold.objects.get(pk=opened[0].pk).points == 100


def test_the_void_action_gives_the_points_of_open_holds_back(client, staff_in, holds):
    member, opened, captured = holds
    agent = staff_in("Support agent")
    client.force_login(agent)
    selected = [str(h.pk) for h in (*opened, captured)]

    response = client.post(CHANGELIST, {"action": "void_holds", "_selected_action": selected}, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Voided 2 holds.",
        "Holds no longer open were left as they are.",
    ]
    assert sorted(Hold.objects.values_list("status", flat=True)) == ["captured", "voided", "voided"]
    assert {e.actor for e in Entry.objects.filter(kind=EntryKind.RELEASE)} == {agent}
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.held) == (700, 0)
    assert audit() == []


def test_an_analyst_sees_holds_but_cannot_void_them(client, staff_in, holds):
    _, opened, _ = holds
    client.force_login(staff_in("Analyst"))

    page = client.get(CHANGELIST)
    response = client.post(CHANGELIST, {"action": "void_holds", "_selected_action": [str(opened[0].pk)]})

    assert page.status_code == 200
    assert "void_holds" not in page.content.decode()
    assert response.status_code in (200, 302)
    assert Hold.objects.filter(status=HoldStatus.OPEN).count() == 2


def test_the_member_page_says_what_is_held_and_links_the_open_holds(client, staff_in, holds):
    member, _, _ = holds
    client.force_login(staff_in("Support agent"))

    page = client.get(reverse("admin:members_member_change", args=[member.pk]), HTTP_ACCEPT_LANGUAGE="en")

    text = page.content.decode()
    assert "300 points held by a till (pay with points)" in text
    assert f"/admin/ledger/hold/?status__exact=open&amp;q={member.member_number}" in text
    listed = client.get(CHANGELIST, {"status__exact": "open", "q": member.member_number})
    assert listed.context["cl"].result_count == 2
