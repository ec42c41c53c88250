"""Member statuses: what moves for active, suspended and closed members, and who may change a status."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from loyalty.exceptions import MemberClosed, MemberSuspended, PermissionDenied, ValidationError
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import EntryKind
from members.models import MemberStatus, MemberStatusChange
from members.services import member_status_change
from tests.factories.members import MemberFactory
from tests.helpers import ledger_state


def staff(group_name: str) -> User:
    user = User.objects.create_user(group_name.lower().replace(" ", "-"), password="pw-staff-123", is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def member(db):
    member = MemberFactory()
    ledger.credit(member.account, 100)
    ledger.credit(member.account, 40, available_at=timezone.now() + timedelta(days=14))
    return member


def test_a_suspended_member_earns_and_spends_nothing_and_nothing_is_written(member):
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Fraud check", actor=None)
    before = ledger_state(member.account)

    for move in (
        lambda: ledger.credit(member.account, 10),
        lambda: ledger.debit(member.account, 10),
        lambda: ledger.adjust(member.account, 5, reason="Goodwill"),
    ):
        with pytest.raises(MemberSuspended) as refused:
            move()
        assert refused.value.code == "member_suspended"

    assert ledger_state(member.account) == before


def test_staff_can_still_reverse_an_entry_of_a_suspended_member(member):
    fraudulent = ledger.credit(member.account, 30)
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Fraud check", actor=None)

    ledger.reverse(fraudulent)

    member.account.refresh_from_db()
    assert member.account.balance == 100
    assert audit() == []


def test_closing_forfeits_every_point_with_the_reason_and_ends_the_login(member):
    manager = staff("Program manager")

    change = member_status_change(member=member, status=MemberStatus.CLOSED, reason="Asked by phone", actor=manager)

    member.refresh_from_db()
    member.account.refresh_from_db()
    member.user.refresh_from_db()
    assert (member.status, member.user.is_active) == (MemberStatus.CLOSED, False)
    assert (member.account.balance, member.account.pending) == (0, 0)
    forfeit = member.account.entries.get(kind=EntryKind.FORFEIT)
    assert (forfeit.amount, forfeit.memo, forfeit.actor, forfeit.cause) == (-140, "Asked by phone", manager, change)
    assert (change.from_status, change.to_status, change.actor) == ("active", "closed", manager)
    assert audit() == []


def test_nothing_moves_for_a_closed_member_and_the_status_is_final(member):
    entry = member.account.entries.first()
    member_status_change(member=member, status=MemberStatus.CLOSED, reason="Left the program", actor=None)
    before = ledger_state(member.account)

    for move in (
        lambda: ledger.credit(member.account, 10),
        lambda: ledger.reverse(entry),
        lambda: ledger.forfeit(member.account, reason="again"),
    ):
        with pytest.raises(MemberClosed):
            move()
    with pytest.raises(MemberClosed):
        member_status_change(member=member, status=MemberStatus.ACTIVE, reason="Oops", actor=None)

    assert ledger_state(member.account) == before


@pytest.mark.parametrize(
    ("group", "status", "allowed"),
    [
        ("Support agent", MemberStatus.SUSPENDED, True),
        ("Support agent", MemberStatus.CLOSED, False),
        ("Program manager", MemberStatus.CLOSED, True),
        ("Analyst", MemberStatus.SUSPENDED, False),
    ],
    ids=["agent-suspends", "agent-cannot-close", "manager-closes", "analyst-cannot-suspend"],
)
def test_each_staff_role_may_set_only_its_statuses(member, group, status, allowed):
    actor = staff(group)

    if allowed:
        member_status_change(member=member, status=status, reason="Support call", actor=actor)
        assert MemberStatusChange.objects.get(member=member).actor == actor
    else:
        with pytest.raises(PermissionDenied):
            member_status_change(member=member, status=status, reason="Support call", actor=actor)
        assert not MemberStatusChange.objects.exists()
        member.refresh_from_db()
        assert member.status == MemberStatus.ACTIVE


def test_a_member_may_close_their_own_account_but_not_reactivate_it(member):
    with pytest.raises(PermissionDenied):
        member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Pause", actor=member.user)

    member_status_change(
        member=member, status=MemberStatus.CLOSED, reason="No longer shopping here", actor=member.user
    )

    member.refresh_from_db()
    assert member.status == MemberStatus.CLOSED


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("frozen", "x"),
        (MemberStatus.SUSPENDED, "   "),
        (MemberStatus.ACTIVE, "Already active"),
        ("suspended", "x" * 256),
    ],
    ids=["unknown-status", "blank-reason", "no-change", "reason-too-long"],
)
def test_a_status_change_without_a_valid_status_or_reason_is_refused(member, status, reason):
    with pytest.raises(ValidationError):
        member_status_change(member=member, status=status, reason=reason, actor=None)

    assert not MemberStatusChange.objects.exists()
