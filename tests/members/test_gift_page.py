"""The portal's *Send points* page: the header link, the allowance, one send per form, every refusal a form error."""

import uuid
from datetime import date

import pytest
from django.urls import reverse

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, EntryKind
from members.models import Gift, Member
from tests.factories.members import MemberFactory, gift_policy_set

URL = "/gift/"


@pytest.fixture
def enabled(db):
    gift_policy_set(enabled=True, per_gift_limit=300, daily_limit=500, monthly_limit=1200)


@pytest.fixture
def recipient(db):
    return MemberFactory()


def post(client, recipient, points, *, token=None, message="Thanks!", number=None):
    data = {
        "recipient_number": number or recipient.member_number,
        "points": points,
        "message": message,
        "token": token or str(uuid.uuid4()),
    }
    return client.post(URL, data)


def test_the_header_links_to_the_page_only_when_gifting_is_enabled(member_client, db):
    assert b'href="/gift/"' not in member_client.get(reverse("portal:dashboard")).content
    gift_policy_set(enabled=True)
    assert b'href="/gift/"' in member_client.get(reverse("portal:dashboard")).content


def test_closed_gifting_shows_no_form_and_a_post_sends_nothing(member_client, member, recipient):
    ledger.credit(member.account, 100)
    assert b'data-testid="gifting-closed"' in member_client.get(URL).content
    response = post(member_client, recipient, 10)
    assert response.status_code == 200
    assert Gift.objects.count() == 0


def test_a_gift_is_sent_once_for_a_double_click_and_shown_in_both_histories(member_client, member, recipient, enabled):
    ledger.credit(member.account, 1000, expires_on=date(2099, 1, 31))
    token = str(uuid.uuid4())

    first = post(member_client, recipient, 120, token=token, message="Happy birthday")
    second = post(member_client, recipient, 120, token=token, message="Happy birthday")

    assert (first.status_code, first["Location"], second.status_code) == (302, URL, 302)
    assert Gift.objects.count() == 1
    page = member_client.get(URL).content.decode()
    assert f"You sent 120 points to member {recipient.member_number}." in page
    assert "Still 380 points today." in page
    history = member_client.get(reverse("portal:history")).content.decode()
    assert f"Gift to member {recipient.member_number}: \u201cHappy birthday\u201d" in history
    member_client.force_login(recipient.user)
    theirs = member_client.get(reverse("portal:history")).content.decode()
    assert f"Gift from member {member.member_number}: \u201cHappy birthday\u201d" in theirs


def typo(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


@pytest.mark.parametrize(
    ("case", "field", "text"),
    [
        ("typo", "recipient_number", "This is not a member number: check every digit."),
        ("self", "recipient_number", "You cannot send points to yourself."),
        ("suspended", "recipient_number", "Member {number} cannot receive points."),
        ("per_gift", "points", "One gift is 300 points at most."),
        ("day", "points", "You can give 100 more points today."),
        ("short", "points", "You have 250 points you can give."),
    ],
)
def test_every_refusal_is_a_form_error_and_sends_nothing(member_client, member, recipient, enabled, case, field, text):
    ledger.credit(member.account, 250 if case == "short" else 1400)
    if case == "day":
        post(member_client, recipient, 300)
        post(member_client, recipient, 100)
    if case == "suspended":
        Member.objects.filter(pk=recipient.pk).update(status="suspended")
    number = {"typo": typo(recipient.member_number), "self": member.member_number}.get(case)
    points = {"per_gift": 301, "day": 101, "short": 251}.get(case, 10)
    gifts = Gift.objects.count()

    response = post(member_client, recipient, points, number=number)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors == {field: [text.format(number=recipient.member_number)]}
    assert Gift.objects.count() == gifts


def test_the_page_runs_a_fixed_number_of_queries_whatever_was_sent(
    member_client, member, recipient, enabled, django_assert_num_queries
):
    ledger.credit(member.account, 1000)
    for points in (10, 20):
        post(member_client, recipient, points)
    with django_assert_num_queries(5):  # session, user, member with account; the policy; what was sent
        member_client.get(URL)
    for points in range(1, 30):
        post(member_client, recipient, points)

    with django_assert_num_queries(5):
        response = member_client.get(URL)

    assert response.status_code == 200
    assert Entry.objects.filter(kind=EntryKind.GIFT).count() == 62
