"""The portal's till code page: a member shows a one-time code and its QR; partners' tills use it."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty.ledger import services as ledger
from loyalty.partners.models import PresenceCode
from loyalty.partners.services import presence_code_check
from members.models import MemberStatus

URL = reverse("portal:presence_code")


def test_the_page_explains_and_shows_no_code_until_asked(member_client):
    response = member_client.get(URL)

    assert response.status_code == 200
    assert b"Show my code" in response.content
    assert b"<svg" not in response.content
    assert PresenceCode.objects.count() == 0


def test_asking_shows_a_working_code_with_its_qr_inline_and_uncached(member_client, member):
    response = member_client.post(URL)

    assert response.status_code == 200
    code = re.search(rb'data-testid="presence-code">(\d{6})<', response.content).group(1).decode()
    assert presence_code_check(member=member, code=code).member_id == member.pk
    assert b'<svg width="' in response.content
    assert b"<script" not in response.content.split(b"<main")[1]
    assert "no-store" in response["Cache-Control"]


def test_the_nav_links_the_page(member_client):
    response = member_client.get(reverse("portal:dashboard"))

    assert f'href="{URL}"'.encode() in response.content


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.post(URL)

    assert response.status_code == 302
    assert PresenceCode.objects.count() == 0


def test_a_suspended_member_gets_no_code(member_client, member):
    member.status = MemberStatus.SUSPENDED
    member.save(update_fields=["status"])

    response = member_client.post(URL)

    assert b"cannot spend points" in response.content
    assert PresenceCode.objects.count() == 0


# session, user, member with account; a POST then ends the earlier code and stores the new one in a savepoint
@pytest.mark.parametrize(("method", "expected"), [("get", 3), ("post", 7)])
def test_the_page_runs_a_fixed_number_of_queries(member_client, member, method, expected):
    for _ in range(10):
        ledger.credit(member.account, 10)
        member_client.post(URL)

    with CaptureQueriesContext(connection) as captured:
        response = getattr(member_client, method)(URL)

    assert response.status_code == 200
    assert len(captured) == expected
