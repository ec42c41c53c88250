"""Merging two members: everything moves to the survivor, the source closes pointing at it, the audit passes."""

from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from loyalty.exceptions import MergeRefused, PermissionDenied, ValidationError
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit, audit_causes
from loyalty.ledger.models import Entry, EntryKind, Lot
from members.models import Member, MemberStatus, MemberStatusChange
from members.services import member_merge, member_status_change
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory, partner_key
from tests.helpers import ledger_state

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 10, 12, tzinfo=UTC)
EARLIER = datetime(2027, 2, 1, 12, tzinfo=UTC)
LATER = datetime(2027, 4, 1, 9, tzinfo=UTC)


def staff(group: str) -> User:
    user = User.objects.create_user(f"{group.lower().replace(' ', '-')}@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def pair():
    """A duplicate with points available, pending and never expiring, and the member it merges into."""
    source, survivor = MemberFactory(), MemberFactory()
    ledger.credit(source.account, 100, expires_on=date(2027, 6, 30), now=EARLIER)
    ledger.credit(source.account, 40, available_at=LATER, expires_on=date(2028, 4, 30), now=EARLIER)
    ledger.credit(source.account, 25, expires_on=None, now=EARLIER)
    ledger.debit(source.account, 30, now=EARLIER)
    ledger.credit(survivor.account, 10, now=EARLIER)
    return source, survivor


def test_a_merge_moves_every_point_with_its_dates_and_closes_the_source(pair):
    source, survivor = pair
    manager = staff("Program manager")
    source_entries = list(source.account.entries.values_list("pk", flat=True))

    change = member_merge(source=source, survivor=survivor, reason="Duplicate card", actor=manager, now=NOW)

    source.refresh_from_db()
    survivor.account.refresh_from_db()
    assert (source.status, source.merged_into, source.user.is_active) == (MemberStatus.CLOSED, survivor, False)
    assert (change.member, change.from_status, change.to_status, change.reason, change.actor) == (
        source,
        MemberStatus.ACTIVE,
        MemberStatus.CLOSED,
        "Duplicate card",
        manager,
    )
    assert ledger_state(source.account)[:5] == (0, 0, 165, 165, 0)
    assert (survivor.account.balance, survivor.account.pending) == (105, 40)
    assert list(
        Lot.objects.filter(account=survivor.account, entry__kind=EntryKind.MERGE)
        .order_by("pk")
        .values_list("amount", "pending", "expires_on")
    ) == [(70, False, date(2027, 6, 30)), (40, True, date(2028, 4, 30)), (25, False, None)]
    out, into = Entry.objects.filter(kind=EntryKind.MERGE).order_by("pk")
    assert (out.account_id, out.amount, into.account_id, into.amount) == (
        source.account.pk,
        -135,
        survivor.account.pk,
        135,
    )
    assert out.cause == change == into.cause
    assert out.memo_display == f"Moved to member {survivor.member_number}: the two memberships were merged"
    assert into.memo_display == f"Moved from member {source.member_number}: the two memberships were merged"
    # the source's history stays on the source's account: the ledger never moves entries
    assert set(source_entries) < set(source.account.entries.values_list("pk", flat=True))
    assert not Entry.objects.filter(kind=EntryKind.FORFEIT).exists()
    assert audit(now=NOW) == []
    assert [line for line in audit_causes() if "merge" in line] == []  # (the fixture's credits name none)
    ledger.release_pending(now=LATER)
    assert audit(now=LATER) == []


def test_a_suspended_duplicate_merges_into_a_suspended_survivor(pair):
    source, survivor = pair
    for member in pair:
        member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Checking duplicates")

    change = member_merge(source=source, survivor=survivor, reason="Duplicate", now=NOW)

    assert change.from_status == MemberStatus.SUSPENDED
    survivor.account.refresh_from_db()
    assert survivor.account.balance == 105
    assert audit(now=NOW) == []


@pytest.mark.parametrize("closed", ["source", "survivor"])
def test_a_closed_member_is_neither_merged_nor_merged_into(pair, closed):
    source, survivor = pair
    member_status_change(member=source if closed == "source" else survivor, status="closed", reason="Left")
    before = ledger_state(source.account), ledger_state(survivor.account)

    with pytest.raises(MergeRefused):
        member_merge(source=source, survivor=survivor, reason="Duplicate", now=NOW)

    assert (ledger_state(source.account), ledger_state(survivor.account)) == before
    assert Member.objects.filter(merged_into__isnull=False).count() == 0


def test_a_merged_member_is_not_merged_again_nor_receives_a_merge(pair):
    source, survivor = pair
    third = MemberFactory()
    member_merge(source=source, survivor=survivor, reason="Duplicate", now=NOW)

    for args in ({"source": source, "survivor": third}, {"source": third, "survivor": source}):
        with pytest.raises(MergeRefused):
            member_merge(**args, reason="Again", now=NOW)
    assert MemberStatusChange.objects.filter(reason="Again").count() == 0


def test_members_merged_into_the_source_before_point_at_the_survivor(pair):
    source, survivor = pair
    older = MemberFactory()
    member_merge(source=older, survivor=source, reason="First duplicate", now=NOW)

    member_merge(source=source, survivor=survivor, reason="Second duplicate", now=NOW)

    older.refresh_from_db()
    assert older.merged_into == survivor


def test_not_into_itself(pair):
    source, _survivor = pair
    with pytest.raises(MergeRefused):
        member_merge(source=source, survivor=source, reason="Oops", now=NOW)


def test_a_reason_is_required(pair):
    source, survivor = pair
    with pytest.raises(ValidationError):
        member_merge(source=source, survivor=survivor, reason="  ", now=NOW)


@pytest.mark.parametrize("group", ["Support agent", "Analyst"])
def test_only_program_managers_merge(pair, group):
    source, survivor = pair
    before = ledger_state(source.account), ledger_state(survivor.account)

    with pytest.raises(PermissionDenied):
        member_merge(source=source, survivor=survivor, reason="Duplicate", actor=staff(group), now=NOW)

    assert (ledger_state(source.account), ledger_state(survivor.account)) == before
    assert staff("Program manager").has_perm("members.merge_member")


# The merged number in the partner API


@pytest.fixture
def api():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {partner_key(PartnerFactory())[1]}")
    return client


def test_the_merged_number_answers_with_a_pointer_to_the_survivor(pair, api, django_assert_num_queries):
    source, survivor = pair
    member_merge(source=source, survivor=survivor, reason="Duplicate", now=NOW)

    api.get(f"/api/v1/members/{survivor.member_number}/")  # the key's first use writes its last-used time
    with django_assert_num_queries(3):  # as for any member: the key; the member, survivor joined; expiring
        response = api.get(f"/api/v1/members/{source.member_number}/")

    assert response.status_code == 200
    assert response.json() == {
        "view": "merged",
        "member_number": source.member_number,
        "status": "closed",
        "merged_into": survivor.member_number,
        "merged_into_url": f"/api/v1/members/{survivor.member_number}/",
    }
    assert api.get(response.json()["merged_into_url"]).json()["balance"] == 105


@pytest.mark.parametrize("points", [50, -5])
def test_writes_to_the_merged_number_are_refused_with_the_survivors_number(pair, api, points):
    source, survivor = pair
    member_merge(source=source, survivor=survivor, reason="Duplicate", now=NOW)

    response = api.post(
        f"/api/v1/members/{source.member_number}/adjustments/",
        {"points": points, "reason": "Till"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "member_merged"
    assert response.json()["error"]["details"] == {"merged_into": survivor.member_number}
    assert ledger_state(source.account)[:2] == (0, 0)
