"""Who may redeem what: every path that refuses writes nothing (no entry, no unit, no voucher, the code unspent)."""

from datetime import timedelta

import pytest

from loyalty.exceptions import MemberClosed, MemberMerged, MemberSuspended, NotEligible
from loyalty.partners.models import PresenceCode
from loyalty.partners.services import presence_code_check, presence_code_issue
from members.services import member_merge, member_status_change
from rewards.models import Redemption, Voucher
from rewards.services import redemption_create
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import RewardFactory
from tests.factories.tiers import MemberTierFactory, TierFactory
from tests.helpers import ledger_state
from tests.rewards.conftest import NOW

pytestmark = pytest.mark.django_db


def assert_nothing_written(member, before, reward):
    assert ledger_state(member.account) == before
    assert (Redemption.objects.count(), Voucher.objects.count()) == (0, 0)
    stock = reward.stock
    reward.refresh_from_db()
    assert reward.stock == stock


@pytest.mark.parametrize(
    ("member_tier", "reward_tiers", "allowed"),
    [
        pytest.param(None, [], True, id="no-tier-open-reward"),
        pytest.param(None, ["gold"], False, id="no-tier-gold-reward"),
        pytest.param("silver", ["gold"], False, id="silver-gold-reward"),
        pytest.param("gold", ["gold"], True, id="gold-gold-reward"),
        pytest.param("gold", ["silver", "gold"], True, id="gold-silver-or-gold"),
    ],
)
def test_a_tier_gated_reward_is_for_its_tiers_only(member, member_tier, reward_tiers, allowed):
    tiers = {"silver": TierFactory(name="Silver", rank=1), "gold": TierFactory(name="Gold", rank=2)}
    if member_tier:
        MemberTierFactory(member=member, tier=tiers[member_tier])
    reward = RewardFactory(points_cost=100, stock=3, tiers=[tiers[name] for name in reward_tiers])
    before = ledger_state(member.account)

    if allowed:
        assert redemption_create(member=member, reward=reward, idempotency_key="k", now=NOW).created
        return
    with pytest.raises(NotEligible) as error:
        redemption_create(member=member, reward=reward, idempotency_key="k", now=NOW)
    assert error.value.details == {"reason": "tier"}
    assert_nothing_written(member, before, reward)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param({"active": False}, "inactive", id="inactive"),
        pytest.param({"available_from": NOW + timedelta(seconds=1)}, "not_yet", id="not-yet"),
        pytest.param({"available_until": NOW}, "ended", id="ended"),
    ],
)
def test_a_reward_out_of_its_dates_or_inactive_is_refused(member, fields, reason):
    reward = RewardFactory(points_cost=100, stock=3, **fields)
    before = ledger_state(member.account)

    with pytest.raises(NotEligible) as error:
        redemption_create(member=member, reward=reward, idempotency_key="k", now=NOW)

    assert error.value.details == {"reason": reason}
    assert_nothing_written(member, before, reward)


def test_the_last_moment_of_availability_is_still_open(member):
    reward = RewardFactory(points_cost=100, available_from=NOW, available_until=NOW + timedelta(seconds=1))

    assert redemption_create(member=member, reward=reward, idempotency_key="k", now=NOW).created


def test_a_partner_the_reward_does_not_name_cannot_redeem_it_and_the_code_stays_usable(member):
    shop, other = PartnerFactory(), PartnerFactory()
    reward = RewardFactory(points_cost=100, stock=3, partners=[other])
    _row, code = presence_code_issue(member=member)
    proof = presence_code_check(member=member, code=code)
    before = ledger_state(member.account)

    with pytest.raises(NotEligible) as error:
        redemption_create(member=member, reward=reward, partner=shop, proof=proof, idempotency_key="k", now=NOW)

    assert error.value.details == {"reason": "partner"}
    assert_nothing_written(member, before, reward)
    assert PresenceCode.objects.get().used_at is None
    assert redemption_create(member=member, reward=reward, partner=other, proof=proof, idempotency_key="k").created


@pytest.mark.parametrize(
    ("status", "error"),
    [pytest.param("suspended", MemberSuspended, id="suspended"), pytest.param("closed", MemberClosed, id="closed")],
)
def test_a_suspended_or_closed_member_redeems_nothing(member, status, error):
    reward = RewardFactory(points_cost=100, stock=3)
    member_status_change(member=member, status=status, reason="Staff decision")
    before = ledger_state(member.account)

    with pytest.raises(error):
        redemption_create(member=member, reward=reward, idempotency_key="k", now=NOW)

    assert_nothing_written(member, before, reward)


def test_a_merged_number_redeems_nothing_and_names_the_survivor(member):
    reward = RewardFactory(points_cost=100, stock=3)
    survivor = MemberFactory()
    member_merge(source=member, survivor=survivor, reason="Duplicate", now=NOW)
    member.refresh_from_db()
    before = ledger_state(member.account)

    with pytest.raises(MemberMerged) as error:
        redemption_create(member=member, reward=reward, idempotency_key="k", now=NOW)

    assert error.value.details == {"merged_into": survivor.member_number}
    assert_nothing_written(member, before, reward)
