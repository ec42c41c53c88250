"""Merging two members from the member page (program managers only), and the gift policy in the admin."""

import pytest
from django.urls import reverse

from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from members.models import GiftPolicy, Member, MemberStatus
from tests.factories.members import MemberFactory
from tests.helpers import ledger_state


@pytest.fixture
def pair(db):
    source, survivor = MemberFactory(first_name="Ada"), MemberFactory(first_name="Ada")
    ledger.credit(source.account, 120)
    ledger.credit(survivor.account, 30)
    return source, survivor


def page(member):
    return reverse("admin:members_member_change", args=[member.pk])


def merge_url(member):
    return reverse("admin:members_member_merge", args=[member.pk])


def test_a_program_manager_reviews_then_merges_with_a_reason(client, staff_in, pair):
    source, survivor = pair
    client.force_login(staff_in("Program manager"))
    assert b'name="into"' in client.get(page(source)).content

    review = client.get(merge_url(source), {"into": survivor.member_number})

    assert review.status_code == 200
    text = review.content.decode()
    assert "120 points to spend and 0 pending points, in 1 lot that keeps its dates" in text
    assert (survivor.user.email in text, source.user.email in text) == (True, True)
    assert ledger_state(source.account)[0] == 120  # a review changes nothing

    done = client.post(
        merge_url(source), {"into": survivor.member_number, "reason": "Two cards, one person", "confirm": "on"}
    )

    assert (done.status_code, done["Location"]) == (302, page(survivor))
    source.refresh_from_db()
    assert (source.status, source.merged_into) == (MemberStatus.CLOSED, survivor)
    survivor_page = client.get(page(survivor)).content.decode()
    assert f"member {source.member_number}, merged into this one" in survivor_page
    assert f"Moved from member {source.member_number}" in survivor_page
    assert 'data-testid="merged-into"' in client.get(page(source)).content.decode()
    assert audit() == []


@pytest.mark.parametrize(
    ("data", "field"),
    [({"reason": "", "confirm": "on"}, "reason"), ({"reason": "Duplicate"}, "confirm")],
)
def test_the_merge_needs_a_reason_and_the_box_ticked(client, staff_in, pair, data, field):
    source, survivor = pair
    client.force_login(staff_in("Program manager"))
    before = ledger_state(source.account), ledger_state(survivor.account)

    response = client.post(merge_url(source), {"into": survivor.member_number, **data})

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert (ledger_state(source.account), ledger_state(survivor.account)) == before


def test_a_mistyped_survivor_number_goes_back_with_a_message(client, staff_in, pair):
    source, survivor = pair
    client.force_login(staff_in("Program manager"))
    typo = survivor.member_number[:-1] + str((int(survivor.member_number[-1]) + 1) % 10)

    response = client.get(merge_url(source), {"into": typo}, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "This is not a valid member number: a digit is mistyped."
    ]


def test_merging_into_itself_is_refused_on_the_confirm_step(client, staff_in, pair):
    source, _survivor = pair
    client.force_login(staff_in("Program manager"))
    response = client.post(merge_url(source), {"into": source.member_number, "reason": "x", "confirm": "on"})
    assert response.context["form"].non_field_errors() == ["A member cannot be merged into itself."]
    assert Member.objects.filter(merged_into__isnull=False).count() == 0


@pytest.mark.parametrize("group", ["Support agent", "Analyst"])
def test_only_program_managers_see_and_use_the_merge(client, staff_in, pair, group):
    source, survivor = pair
    client.force_login(staff_in(group))
    before = ledger_state(source.account)

    assert b'name="into"' not in client.get(page(source)).content
    assert client.get(merge_url(source), {"into": survivor.member_number}).status_code == 403
    data = {"into": survivor.member_number, "reason": "x", "confirm": "on"}
    assert client.post(merge_url(source), data).status_code == 403
    assert ledger_state(source.account) == before


def test_program_managers_edit_the_gift_policy_and_support_agents_cannot(client, staff_in, db):
    url = reverse("admin:members_giftpolicy_change", args=[1])
    client.force_login(staff_in("Support agent"))
    assert client.get(url).status_code == 403

    client.force_login(staff_in("Program manager"))
    assert client.get(reverse("admin:members_giftpolicy_changelist"))["Location"] == url
    response = client.post(url, {"enabled": "on", "per_gift_limit": 200, "daily_limit": 400, "monthly_limit": 900})

    assert response.status_code == 302
    policy = GiftPolicy.objects.get()
    assert (policy.enabled, policy.per_gift_limit, policy.daily_limit, policy.monthly_limit) == (True, 200, 400, 900)
