"""Pay with points racing redemptions on PostgreSQL: held and redeemed points never add up to more than the balance."""

from collections import Counter
from decimal import Decimal

import pytest

from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.partners.services import presence_code_issue
from rewards import payments
from rewards.services import redemption_create
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import RewardFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_hold_racing_redemptions_never_overspends(settings):
    settings.LOYALTY_HOLD_MAX_SHARE = Decimal("1")
    # given 1,000 points, a till about to hold 700 of them and a reward of 300 points
    partner = PartnerFactory()
    member = MemberFactory(enrolled_by=partner)
    ledger.credit(member.account, 1000, expires_on=None, cause=member)
    reward = RewardFactory(points_cost=300, stock=None)
    proof = payments.points_payment_proof_check(
        partner=partner, member=member, external_id="basket-1", presence_code=presence_code_issue(member=member)[1]
    )

    def hold():
        return payments.points_payment_hold(
            partner=partner,
            member=member,
            basket_amount=Decimal("20.00"),
            currency="EUR",
            points=700,
            external_id="basket-1",
            proof=proof,
        )

    def redeem(number):
        return lambda: redemption_create(member=member, reward=reward, idempotency_key=f"portal-{number}")

    # when the hold and five redemptions in the portal run at once
    outcomes = run_together(hold, *[redeem(n) for n in range(5)])

    # then what was held and what was redeemed fit in the 1,000 points, and the losers got insufficient_points
    names = Counter(type(outcome).__name__ for outcome in outcomes)
    held = 700 if names["PaymentPlaced"] else 0
    redeemed = 300 * names["RedemptionResult"]
    assert held + redeemed <= 1000
    assert names["InsufficientPoints"] == 6 - names["PaymentPlaced"] - names["RedemptionResult"]
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.held) == (1000 - held - redeemed, held)
    assert member.account.balance < 300  # every refused redemption found too few points
    assert audit() == []
