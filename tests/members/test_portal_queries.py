"""Each portal page runs the same number of SQL queries whatever the member's history holds."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from loyalty.ledger import services as ledger

# session, user, member with account, then the page's own reads
PAGES = [
    ("portal:dashboard", {}, 6),
    ("portal:history", {}, 5),
    ("portal:history", {"kind": "earn", "page": "2"}, 5),
    ("portal:history_csv", {}, 4),
    ("portal:profile", {}, 3),
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
