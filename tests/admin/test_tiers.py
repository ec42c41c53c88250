"""Tiers in the admin: the tier list with its members, the policy's single row, and a tier set by hand."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from loyalty.clock import program_date
from loyalty.ledger import services as ledger
from members.models import MemberStatus
from members.services import member_status_change
from members.tiers.models import MemberTier, Tier, TierChange, TierChangeReason, TierPolicy
from tests.factories.members import MemberFactory
from tests.factories.tiers import MemberTierFactory, QualifyingDayFactory, TierChangeFactory, program_tiers


@pytest.fixture
def tiers(db):
    return program_tiers()


@pytest.fixture
def member(db):
    member = MemberFactory(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    ledger.credit(member.account, 100, memo="Welcome")
    return member


def page_url(member):
    return reverse("admin:members_member_change", args=[member.pk])


def set_tier(client, member, **data):
    data = {f"tier-{name}": value for name, value in data.items()}
    return client.post(reverse("admin:members_member_tier_set", args=[member.pk]), data, follow=True)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


# The tier list


def test_the_tier_list_counts_members_per_tier_in_one_annotated_query(
    client, tiers, staff_in, django_assert_num_queries
):
    silver, gold, _ = tiers
    for tier in (silver, silver, gold):
        MemberTierFactory(tier=tier)
    MemberTierFactory(tier=None)
    closed = MemberTierFactory(tier=gold).member
    member_status_change(member=closed, status=MemberStatus.CLOSED, reason="Left", actor=None)  # holds nothing now
    client.force_login(staff_in("Analyst"))
    url = reverse("admin:tiers_tier_changelist")
    client.get(url)

    # session, user, permissions (user's, groups'), the count, the page of tiers with their members
    with django_assert_num_queries(6):
        response = client.get(url)

    rows = {tier.name: tier.members for tier in response.context["cl"].result_list}
    assert rows == {"Silver": 2, "Gold": 1, "Platinum": 0}
    html = response.content.decode()
    assert '<circle cx="8" cy="8" r="8" fill="#d4a017"/>' in html
    assert "style=" not in html.split('id="result_list"')[1].split("</table>")[0]


@pytest.mark.parametrize(
    ("rank", "threshold", "error"),
    [
        (4, "5000", "Platinum has a lower rank (3) and a threshold of 5000.00: set a higher one."),
        (4, "4000", "Platinum has a lower rank (3) and a threshold of 5000.00: set a higher one."),
        (0, "500", "Silver has a higher rank (1) and a threshold of 500.00: set a lower one."),
    ],
    ids=["equal-to-the-rank-below", "below-the-rank-below", "above-the-rank-above"],
)
def test_a_threshold_that_does_not_rise_with_rank_is_a_form_error(client, tiers, staff_in, rank, threshold, error):
    client.force_login(staff_in("Program manager"))

    response = client.post(
        reverse("admin:tiers_tier_add"),
        {"name": "Diamond", "rank": rank, "threshold": threshold, "colour": "#00ffff", "earning_multiplier": "3"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["threshold"] == [error]
    assert Tier.objects.count() == 3


def test_a_program_manager_adds_a_tier_above_the_top_one(client, tiers, staff_in):
    client.force_login(staff_in("Program manager"))

    response = client.post(
        reverse("admin:tiers_tier_add"),
        {"name": "Diamond", "rank": 4, "threshold": "10000", "colour": "#00ffff", "earning_multiplier": "3"},
    )

    assert response.status_code == 302
    assert list(Tier.objects.values_list("name", flat=True)) == ["Silver", "Gold", "Platinum", "Diamond"]


def test_an_analyst_reads_the_tiers_and_changes_none(client, tiers, staff_in):
    client.force_login(staff_in("Analyst"))
    silver = tiers[0]

    response = client.post(
        reverse("admin:tiers_tier_change", args=[silver.pk]),
        {"name": "Bronze", "rank": 1, "threshold": "10", "colour": "#000000", "earning_multiplier": "1"},
    )

    assert response.status_code == 403
    silver.refresh_from_db()
    assert (silver.name, silver.threshold) == ("Silver", 500)


def test_the_policy_is_one_row_that_cannot_be_added_or_deleted(client, db, staff_in):
    client.force_login(staff_in("Program manager"))

    listing = client.get(reverse("admin:tiers_tierpolicy_changelist"))
    added = client.get(reverse("admin:tiers_tierpolicy_add"))
    deleted = client.post(reverse("admin:tiers_tierpolicy_delete", args=[1]), {"post": "yes"})
    changed = client.post(
        reverse("admin:tiers_tierpolicy_change", args=[1]),
        {"basis": "lifetime_points", "window_months": "12", "grace_months": "6"},
    )

    assert listing.status_code == 302
    assert listing["Location"] == reverse("admin:tiers_tierpolicy_change", args=[1])
    assert (added.status_code, deleted.status_code, changed.status_code) == (403, 403, 302)
    assert list(TierPolicy.objects.values_list("pk", "basis", "grace_months")) == [(1, "lifetime_points", 6)]


# The member page


def test_the_member_page_shows_the_tier_why_and_its_history(client, member, tiers, staff_in):
    silver, gold, _ = tiers
    ledger.credit(member.account, 500, memo="Purchase")  # 600 in all: Silver at once
    client.force_login(staff_in("Support agent"))

    response = client.get(page_url(member))

    assert response.context["support"].tier.tier == silver
    assert [change.to_tier for change in response.context["support"].tier_changes] == [silver]
    html = response.content.decode()
    for text in ["Silver", "600 points", "Qualifies", "Gold: 1,400 points missing", "Reached the threshold"]:
        assert text in html
    assert "Set tier by hand" not in html


def test_the_member_page_runs_a_fixed_number_of_queries_whatever_the_tier_history(
    client, member, tiers, staff_in, django_assert_num_queries
):
    client.force_login(staff_in("Program manager"))
    MemberTierFactory(member=member, tier=tiers[0], qualified_on=program_date())

    def queries():
        client.get(page_url(member))
        # the support agent's 19, the tiers to choose from in *Set tier by hand*, and the sections of what the
        # member did (test_member_page_sections.py): purchases, vouchers, holds, referrals, notifications, webhooks,
        # badges
        with django_assert_num_queries(27):
            assert client.get(page_url(member)).status_code == 200

    queries()
    for n in range(30):
        QualifyingDayFactory(member=member, day=program_date() - timedelta(days=n + 1), points=50)
        TierChangeFactory(member=member, to_tier=tiers[n % 3], from_tier=tiers[(n + 1) % 3])
    queries()


def test_a_program_manager_sets_a_tier_by_hand_with_a_reason_and_an_end_day(client, member, tiers, staff_in):
    _, _, platinum = tiers
    manager = staff_in("Program manager")
    client.force_login(manager)
    until = program_date() + timedelta(days=90)

    response = set_tier(client, member, tier=platinum.pk, until=until.isoformat(), reason=" Status match: Air X ")

    assert response.status_code == 200
    assert messages_of(response) == [f"The member holds Platinum until {until:%B} {until.day}, {until.year}."]
    state = MemberTier.objects.get(member=member)
    assert (state.tier, state.manual_until, state.manual_reason, state.qualified_on) == (
        platinum,
        until,
        "Status match: Air X",
        None,
    )
    change = TierChange.objects.get(member=member)
    assert (change.from_tier, change.to_tier, change.reason, change.note, change.actor) == (
        None,
        platinum,
        TierChangeReason.MANUAL,
        "Status match: Air X",
        manager,
    )
    assert "Set by staff until" in response.content.decode()


def test_setting_the_same_tier_twice_records_it_once(client, member, tiers, staff_in):
    client.force_login(staff_in("Program manager"))
    data = {"tier": tiers[1].pk, "until": program_date().isoformat(), "reason": "Match"}

    set_tier(client, member, **data)
    set_tier(client, member, **data)

    assert TierChange.objects.filter(member=member).count() == 1


def test_a_new_tier_by_hand_keeps_the_history_of_the_one_before(client, member, tiers, staff_in):
    silver, gold, _ = tiers
    MemberTierFactory(member=member, tier=silver, qualified_on=program_date())
    client.force_login(staff_in("Program manager"))

    set_tier(client, member, tier=gold.pk, until=program_date().isoformat(), reason="Apology")

    change = TierChange.objects.get(member=member)
    assert (change.from_tier, change.to_tier) == (silver, gold)
    assert MemberTier.objects.get(member=member).qualified_on is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"until": "today", "reason": "   "}, "Reason: This field is required."),
        ({"until": "yesterday", "reason": "Match"}, "The end day is in the past: choose today or later."),
        ({"until": "in-eleven-years", "reason": "Match"}, "The end day is too far off: ten years at most."),
        ({"until": "not-a-date", "reason": "Match"}, "Until (last day): Enter a valid date."),
        (
            {"until": "today", "reason": "x" * 256},
            "Reason: Ensure this value has at most 255 characters (it has 256).",
        ),
    ],
    ids=["blank-reason", "past-day", "too-far-off", "not-a-date", "reason-too-long"],
)
def test_an_invalid_tier_by_hand_is_refused_with_a_message_and_changes_nothing(
    client, member, tiers, staff_in, data, message
):
    client.force_login(staff_in("Program manager"))
    today = program_date()
    days = {
        "today": today,
        "yesterday": today - timedelta(days=1),
        "in-eleven-years": today.replace(year=today.year + 11),
    }
    data = {**data, "tier": tiers[0].pk, "until": str(days.get(data["until"], data["until"]))}

    response = set_tier(client, member, **data)

    assert messages_of(response) == [message]
    assert not MemberTier.objects.exists()
    assert not TierChange.objects.exists()


def test_a_closed_member_gets_no_tier_by_hand(client, member, tiers, staff_in):
    member_status_change(member=member, status=MemberStatus.CLOSED, reason="Asked", actor=None)
    client.force_login(staff_in("Program manager"))

    response = set_tier(client, member, tier=tiers[0].pk, until=program_date().isoformat(), reason="Match")

    assert messages_of(response) == ["This member's account is closed."]
    assert not TierChange.objects.exists()
    assert "Set tier by hand" not in response.content.decode()


@pytest.mark.parametrize("group", ["Support agent", "Analyst"])
def test_only_program_managers_set_a_tier_by_hand(client, member, tiers, staff_in, group):
    client.force_login(staff_in(group))

    page = client.get(page_url(member)).content.decode()
    response = client.post(
        reverse("admin:members_member_tier_set", args=[member.pk]),
        {"tier-tier": tiers[2].pk, "tier-until": program_date().isoformat(), "tier-reason": "Match"},
    )

    assert "Set tier by hand" not in page
    assert response.status_code == 403
    assert not MemberTier.objects.exists()
    assert not TierChange.objects.exists()


def test_the_service_refuses_a_user_without_the_permission(member, tiers):
    from loyalty.exceptions import PermissionDenied
    from members.tiers.services import member_tier_set

    outsider = User.objects.create_user("outsider", is_staff=True)

    with pytest.raises(PermissionDenied):
        member_tier_set(member=member, tier=tiers[0], until=date(2099, 1, 1), reason="Match", actor=outsider)

    assert not TierChange.objects.exists()


@pytest.mark.parametrize("field", ["window_months", "grace_months"])
def test_a_policy_window_or_grace_past_ten_years_is_a_form_error_and_points_still_move(
    client, member, staff_in, field
):
    client.force_login(staff_in("Program manager"))
    values = {"basis": "rolling_points", "window_months": "12", "grace_months": "12", field: "30000"}

    response = client.post(reverse("admin:tiers_tierpolicy_change", args=[1]), values)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert TierPolicy.objects.get(pk=1).window_months == 12
    ledger.credit(member.account, 10, memo="still earns")
