"""Each portal page runs the same number of SQL queries whatever the member's history holds."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from loyalty.ledger import services as ledger
from members.models import MemberStatus
from members.services import member_enroll, member_status_change
from members.tokens import account_token_make

# session, user, member with account, then the page's own reads; a tier progress is four
# (tests/members/test_tier_page.py pins them with a tier history too)
PAGES = [
    ("portal:dashboard", {}, 11),  # with the count of rewards the member can redeem now
    ("portal:card", {}, 4),
    ("portal:tier", {}, 8),
    # the count, the page, the page's awards (their breakdowns: campaigns and tiers' names joined)
    ("portal:history", {}, 6),
    ("portal:history", {"kind": "earn", "page": "2"}, 6),
    ("portal:history_csv", {}, 4),
    ("portal:profile", {}, 3),
    ("portal:profile_data", {}, 8),  # with the member's badges and leaderboards' nicknames
    ("portal:profile_close", {}, 3),
]


def fill(member, entries: int) -> None:
    today = timezone.localdate()
    for number in range(entries):
        ledger.credit(
            member.account,
            10,
            expires_on=today + timedelta(days=30 + number),
            available_at=timezone.now() + timedelta(days=number % 3),
            memo=f"purchase {number}",
        )


def queries_for(client, name: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(name), params)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(("name", "params", "expected"), PAGES, ids=lambda value: str(value))
def test_a_page_runs_a_fixed_number_of_queries(member_client, member, name, params, expected):
    fill(member, 1)
    with_one = queries_for(member_client, name, params)
    fill(member, 49)

    with_fifty = queries_for(member_client, name, params)

    assert (with_one, with_fifty) == (expected, expected)


def test_the_suspended_notice_costs_no_query(member_client, member):
    fill(member, 3)
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Check", actor=None)

    assert queries_for(member_client, "portal:dashboard", {}) == 11


# Pages for visitors not logged in: the same queries whatever the program holds.
ANONYMOUS_PAGES = [
    ("portal:login", 0),
    ("portal:signup", 0),
    ("portal:signup_sent", 0),
    ("portal:confirm_request", 0),
    ("portal:activate_request", 0),
    ("portal:access_link_sent", 0),
]


@pytest.mark.parametrize(("name", "expected"), ANONYMOUS_PAGES, ids=lambda value: str(value))
def test_a_visitors_page_runs_a_fixed_number_of_queries(client, member, name, expected):
    fill(member, 5)

    assert queries_for(client, name, {}) == expected


@pytest.mark.parametrize("purpose", ["confirm", "activate"])
def test_an_emailed_links_page_reads_the_member_once(client, db, purpose):
    member = member_enroll(email="new@example.com", password="a-long-enough-secret" if purpose == "confirm" else None)
    fill(member, 5)
    token = account_token_make(member=member, purpose=purpose)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(f"portal:{purpose}", kwargs={"token": token}))

    assert response.status_code == 200
    assert len(captured) == 1
