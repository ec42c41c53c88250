"""A tier set by hand by staff (a status match): ``member_tier_set``, its permission and its lock."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.clock import program_date
from loyalty.exceptions import MemberClosed, PermissionDenied, ValidationError
from members.models import MemberStatus
from members.services import member_status_change
from members.tiers.models import MemberTier, TierChange
from members.tiers.services import member_tier_set
from tests.factories.members import MemberFactory
from tests.factories.tiers import MemberTierFactory, program_tiers


@pytest.fixture
def tiers(db):
    return program_tiers()


@pytest.fixture
def manager(db):
    user = User.objects.create_user("manager", is_staff=True)
    user.groups.add(Group.objects.get(name="Program manager"))
    return user


@pytest.mark.parametrize(
    ("group", "may_set", "may_edit_tiers", "may_read_tiers"),
    [("Program manager", True, True, True), ("Support agent", False, False, False), ("Analyst", False, False, True)],
)
def test_only_program_managers_set_tiers_by_hand_and_edit_tiers(db, group, may_set, may_edit_tiers, may_read_tiers):
    user = User.objects.create_user(group, is_staff=True)
    user.groups.add(Group.objects.get(name=group))

    assert (
        user.has_perm("tiers.set_tier"),
        user.has_perm("tiers.change_tier") and user.has_perm("tiers.change_tierpolicy"),
        user.has_perm("tiers.view_tier"),
    ) == (may_set, may_edit_tiers, may_read_tiers)
    assert not user.has_perm("tiers.delete_tier")


def test_a_suspended_member_may_get_a_tier_by_hand_until_today(tiers, manager):
    member = MemberFactory()
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Check", actor=None)

    change = member_tier_set(member=member, tier=tiers[1], until=program_date(), reason="Match", actor=manager)

    assert MemberTier.objects.get(member=member).manual_until == program_date()
    assert TierChange.objects.get() == change


def test_setting_the_same_tier_again_returns_the_first_change(tiers, manager):
    member = MemberFactory()
    until = program_date() + timedelta(days=10)
    first = member_tier_set(member=member, tier=tiers[2], until=until, reason="Match", actor=manager)

    again = member_tier_set(member=member, tier=tiers[2], until=until, reason=" Match ", actor=manager)

    assert again == first
    assert TierChange.objects.count() == 1


def test_extending_a_tier_by_hand_keeps_when_it_was_qualified_for_and_records_the_change(tiers, manager):
    member = MemberFactory()
    MemberTierFactory(member=member, tier=tiers[1], qualified_on=program_date() - timedelta(days=3))

    change = member_tier_set(
        member=member, tier=tiers[1], until=program_date() + timedelta(days=5), reason="Goodwill", actor=manager
    )

    state = MemberTier.objects.get(member=member)
    assert (state.qualified_on, state.manual_reason) == (program_date() - timedelta(days=3), "Goodwill")
    assert (change.from_tier, change.to_tier, change.note) == (tiers[1], tiers[1], "Goodwill")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"tier": None}, ValidationError),
        ({"reason": ""}, ValidationError),
        ({"until": "yesterday"}, ValidationError),
        ({"actor": None}, PermissionDenied),
        ({"status": MemberStatus.CLOSED}, MemberClosed),
    ],
    ids=["no-tier", "no-reason", "past-day", "no-actor", "closed-member"],
)
def test_a_refused_tier_by_hand_changes_nothing(tiers, manager, changes, error):
    member = MemberFactory()
    if "status" in changes:
        member_status_change(member=member, status=changes.pop("status"), reason="Left", actor=None)
    if changes.get("until") == "yesterday":
        changes["until"] = program_date() - timedelta(days=1)
    arguments = {"tier": tiers[0], "until": program_date(), "reason": "Match", "actor": manager, **changes}

    with pytest.raises(error):
        member_tier_set(member=member, **arguments)

    assert not MemberTier.objects.exists()
    assert not TierChange.objects.exists()


@pytest.mark.postgres
def test_a_tier_by_hand_locks_the_members_account_first(tiers, manager):
    member = MemberFactory()

    with CaptureQueriesContext(connection) as captured:
        member_tier_set(member=member, tier=tiers[0], until=program_date(), reason="Match", actor=manager)

    statements = [query["sql"] for query in captured]
    locks = [number for number, sql in enumerate(statements) if "FOR UPDATE OF account" in sql]
    writes = [number for number, sql in enumerate(statements) if sql.startswith(("INSERT", "UPDATE"))]
    assert len(locks) == 1
    assert locks[0] < min(writes)
