"""Presence codes: issued by the portal, checked with counted attempts, spent with the debit they prove."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from loyalty.exceptions import (
    MemberClosed,
    MemberSuspended,
    PresenceCodeExpired,
    PresenceCodeInvalid,
    PresenceCodeLocked,
    PresenceCodeUsed,
)
from loyalty.partners.models import PresenceCode
from loyalty.partners.services import (
    presence_code_check,
    presence_code_consume,
    presence_code_issue,
    presence_code_payload,
)
from members.models import MemberStatus
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def member(db):
    return MemberFactory()


def test_a_code_has_six_digits_is_stored_hashed_and_lives_a_few_minutes(member, settings):
    settings.PRESENCE_CODE_TTL_MINUTES = 5
    now = timezone.now()

    row, code = presence_code_issue(member=member, now=now)

    assert len(code) == 6
    assert code.isdigit()
    stored = PresenceCode.objects.get()
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64
    assert (stored.member, stored.expires_at, stored.failed_attempts, stored.used_at) == (
        member,
        now + timedelta(minutes=5),
        0,
        None,
    )
    assert presence_code_payload(member=member, code=code) == f"{member.member_number}:{code}"


def test_a_new_code_ends_the_previous_one(member):
    _, first = presence_code_issue(member=member)
    _, second = presence_code_issue(member=member)

    assert presence_code_check(member=member, code=second).member_id == member.pk
    if first != second:
        with pytest.raises(PresenceCodeInvalid):
            presence_code_check(member=member, code=first)
    assert PresenceCode.objects.filter(expires_at__gt=timezone.now()).count() == 1


def test_a_code_is_bound_to_its_member(member):
    other = MemberFactory()
    _, code = presence_code_issue(member=member)

    with pytest.raises(PresenceCodeInvalid):
        presence_code_check(member=other, code=code)


def test_a_wrong_code_counts_an_attempt_that_stays_counted(member):
    row, code = presence_code_issue(member=member)

    with pytest.raises(PresenceCodeInvalid):
        presence_code_check(member=member, code=wrong(code))

    row.refresh_from_db()
    assert row.failed_attempts == 1


def test_too_many_wrong_codes_lock_the_code_even_against_the_right_one(member, settings):
    settings.PRESENCE_CODE_MAX_ATTEMPTS = 3
    row, code = presence_code_issue(member=member)
    for _ in range(3):
        with pytest.raises(PresenceCodeInvalid):
            presence_code_check(member=member, code=wrong(code))

    with pytest.raises(PresenceCodeLocked):
        presence_code_check(member=member, code=code)

    row.refresh_from_db()
    assert (row.failed_attempts, row.used_at) == (3, None)


def test_an_expired_code_is_refused(member, settings):
    settings.PRESENCE_CODE_TTL_MINUTES = 5
    _, code = presence_code_issue(member=member, now=timezone.now() - timedelta(minutes=5, seconds=1))

    with pytest.raises(PresenceCodeExpired):
        presence_code_check(member=member, code=code)


def test_a_code_is_spent_once(member):
    partner = PartnerFactory()
    _, code = presence_code_issue(member=member)
    proof = presence_code_check(member=member, code=code)
    presence_code_consume(proof=proof, partner=partner)

    with pytest.raises(PresenceCodeUsed):
        presence_code_check(member=member, code=code)
    with pytest.raises(PresenceCodeUsed):
        presence_code_consume(proof=proof, partner=partner)
    row = PresenceCode.objects.get()
    assert row.used_by == partner


def test_a_spend_rolled_back_with_its_transaction_leaves_the_code_usable(member):
    partner = PartnerFactory()
    _, code = presence_code_issue(member=member)
    proof = presence_code_check(member=member, code=code)

    def debit_that_fails():
        with transaction.atomic():
            presence_code_consume(proof=proof, partner=partner)
            raise RuntimeError("the debit failed")

    with pytest.raises(RuntimeError):
        debit_that_fails()

    assert PresenceCode.objects.get().used_at is None
    presence_code_consume(proof=proof, partner=partner)


def test_checking_inside_another_transaction_is_refused_so_attempts_cannot_be_rolled_back(member):
    _, code = presence_code_issue(member=member)

    with pytest.raises(RuntimeError), transaction.atomic():
        presence_code_check(member=member, code=wrong(code))


@pytest.mark.parametrize("status", [MemberStatus.SUSPENDED, MemberStatus.CLOSED])
def test_a_member_who_cannot_spend_gets_no_code(member, status):
    member.status = status

    with pytest.raises((MemberSuspended, MemberClosed)):
        presence_code_issue(member=member)

    assert PresenceCode.objects.count() == 0
