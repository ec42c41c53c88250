"""Racing purchases and reviews of one referral on PostgreSQL, each on its own thread and connection."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from loyalty.ledger.models import Entry, EntryKind
from members.referrals.models import Referral, ReferralCode, ReferralPolicy
from members.referrals.services import referral_approve, referral_policy_get, referral_purchase_record
from tests.factories.members import MemberFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def policy_set(**values) -> None:
    """The policy row (a transactional test's flush removes the one the migration made)."""
    referral_policy_get()
    ReferralPolicy.objects.filter(pk=1).update(**values)


def referred_friends(count: int):
    referrer = MemberFactory(email="ada@example.com")
    code = ReferralCode.objects.get(member=referrer).code
    friends = [MemberFactory(email=f"f{n}@example.com", referral_code=code) for n in range(count)]
    return referrer, friends


def balances(*members) -> list[int]:
    for member in members:
        member.account.refresh_from_db()
    return [member.account.balance for member in members]


def purchase(member, ref):
    return lambda: referral_purchase_record(member=member, amount=Decimal("30.00"), currency="EUR", purchase_ref=ref)


def test_two_qualifying_purchases_at_once_credit_once():
    referrer, (friend,) = referred_friends(1)

    outcomes = run_together(purchase(friend, "P-1"), purchase(friend, "P-2"), purchase(friend, "P-3"))

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert Entry.objects.filter(kind=EntryKind.BONUS).count() == 2
    assert balances(referrer, friend) == [500, 250]
    assert Referral.objects.get().status == "credited"


def test_friends_buying_at_once_do_not_pass_the_referrers_monthly_cap():
    policy_set(monthly_cap=2)
    referrer, friends = referred_friends(5)

    outcomes = run_together(*[purchase(friend, f"P-{n}") for n, friend in enumerate(friends)])

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert balances(referrer, *friends) == [1000, 250, 250, 250, 250, 250]
    assert Referral.objects.filter(unpaid_reasons=["referrer_monthly_cap"]).count() == 3


def test_an_approval_racing_the_purchase_pays_once(django_user_model):
    policy_set(signups_per_address_per_day=1)
    referrer = MemberFactory(email="ada@example.com")
    code = ReferralCode.objects.get(member=referrer).code
    MemberFactory(email="f0@example.com", referral_code=code, client_address="198.51.100.7")
    friend = MemberFactory(email="f1@example.com", referral_code=code, client_address="198.51.100.7")
    staff = django_user_model.objects.create_user("pm", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="review_referral"))
    referral = friend.referral
    assert referral.status == "flagged"

    outcomes = run_together(purchase(friend, "P-1"), lambda: referral_approve(referral=referral, actor=staff))

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    referral.refresh_from_db()
    assert referral.status == "credited"
    assert balances(referrer, friend) == [500, 250]
