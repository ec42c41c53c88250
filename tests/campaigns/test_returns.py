"""Returns (``services.purchase_return``): exactly what the returned lines earned comes back, bonuses and
tier shares included, in full or in part, never beyond what was bought, never twice; spent points follow
the program's return policy."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from campaigns.models import Award, Campaign, CampaignUsage, CapPeriod, PurchaseLine, PurchaseReturn, ReturnPolicy
from campaigns.services import ReturnItem, purchase_return
from loyalty.exceptions import ExternalIdConflict, NotFound, ReturnExceedsPurchase, ValidationError
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Entry, EntryKind
from members.models import MemberStatus
from members.services import member_status_change
from members.tiers.models import QualifyingDay
from tests.factories.campaigns import (
    NOW,
    bonus_campaign,
    earning_policy_set,
    item,
    multiplier_campaign,
    purchase_post,
    return_post,
)
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tiers import MemberTierFactory, TierFactory
from tests.helpers import ledger_state

pytestmark = pytest.mark.django_db

LATER = NOW + timedelta(days=3)


@pytest.fixture
def member():
    return MemberFactory()


@pytest.fixture
def bought(member):
    """3 coffees at 10.00 and a mug at 30.00, for a Gold member (x1.5) in a x2 campaign with a 20-point
    basket bonus: base 60, campaign 60 + 20, tier 30 = 170 points."""
    gold = TierFactory(name="Gold", earning_multiplier=Decimal("1.5"))
    MemberTierFactory(member=member, tier=gold)
    multiplier_campaign(name="Double", budget=1000, member_cap=500, cap_period=CapPeriod.WEEK)
    bonus_campaign(20, name="Basket")
    return purchase_post(member, item("COFFEE", "3", "10.00"), item("MUG", "1", "30.00"))


def per_award(purchase):
    return list(
        Award.objects.filter(purchase=purchase)
        .order_by("pk")
        .values_list("line__position", "source", "points", "returned_points")
    )


def account_of(member):
    member.account.refresh_from_db()
    return member.account.balance, member.account.pending, member.account.debt


def test_the_purchase_earned_per_line_and_source(bought):
    assert bought.points == 170
    assert per_award(bought) == [
        (1, "base", 30, 0),
        (2, "base", 30, 0),
        (1, "campaign", 30, 0),
        (2, "campaign", 30, 0),
        (1, "campaign", 10, 0),
        (2, "campaign", 10, 0),
        (1, "tier", 15, 0),
        (2, "tier", 15, 0),
    ]


def test_returning_one_coffee_of_three_reverses_a_third_of_what_its_line_earned_from_every_source(member, bought):
    returned = return_post(bought, items=[("COFFEE", 1)], now=LATER)

    # the coffee line earned 30 + 30 + 10 + 15 = 85; a third of each, half up: 10 + 10 + 3 + 5
    assert (returned.points, returned.amount, returned.shortfall, returned.policy) == (
        28,
        Decimal("10.00"),
        0,
        ReturnPolicy.DEBT,
    )
    assert per_award(bought) == [
        (1, "base", 30, 10),
        (2, "base", 30, 0),
        (1, "campaign", 30, 10),
        (2, "campaign", 30, 0),
        (1, "campaign", 10, 3),
        (2, "campaign", 10, 0),
        (1, "tier", 15, 5),
        (2, "tier", 15, 0),
    ]
    line = PurchaseLine.objects.get(purchase=bought, position=1)
    assert (line.returned_quantity, line.returned_amount, line.returned_points) == (1, Decimal("10.00"), 28)
    assert list(returned.lines.values_list("line__position", "quantity", "amount", "points")) == [
        (1, Decimal("1.000"), Decimal("10.00"), 28)
    ]
    assert account_of(member) == (142, 0, 0)
    reversal = returned.entry
    assert (reversal.kind, reversal.amount, reversal.reverses_id, reversal.cause) == (
        "reverse",
        -28,
        bought.entry_id,
        bought,
    )
    # the campaigns get their points back: the budget and the member's week
    assert dict(Campaign.objects.values_list("name", "points_awarded")) == {"Double": 50, "Basket": 17}
    assert sorted(CampaignUsage.objects.values_list("period_start", "points")) == [
        (date(2000, 1, 1), 17),
        (date(2027, 3, 8), 50),
    ]


def test_three_returns_of_one_coffee_each_give_back_exactly_what_the_line_earned(member, bought):
    points = [return_post(bought, items=[(1, 1)], now=LATER).points for _ in range(3)]

    # each award gives back its cumulated share rounded half up: the bonus's 10 gives 3, then 7 - 3, then 10 - 7
    assert points == [28, 29, 28]
    assert sum(points) == PurchaseLine.objects.get(purchase=bought, position=1).points
    with pytest.raises(ReturnExceedsPurchase):
        return_post(bought, items=[(1, 1)], now=LATER)
    assert account_of(member) == (85, 0, 0)


def test_a_full_return_by_amount_gives_everything_back(member, bought):
    returned = return_post(bought, amount="60.00", now=LATER)

    assert (returned.points, returned.amount) == (170, Decimal("60.00"))
    assert account_of(member) == (0, 0, 0)
    assert all(points == back for _line, _source, points, back in per_award(bought))
    assert dict(Campaign.objects.values_list("name", "points_awarded")) == {"Double": 0, "Basket": 0}
    assert set(CampaignUsage.objects.values_list("points", flat=True)) == {0}
    with pytest.raises(ReturnExceedsPurchase):
        return_post(bought, amount="0.01", now=LATER)


def test_a_refund_by_amount_is_shared_over_what_is_left_of_the_lines(member, bought):
    return_post(bought, items=[("COFFEE", 3)], now=LATER)  # the coffees: 30.00 left, all on the mug

    returned = return_post(bought, amount="15.00", now=LATER)

    assert list(returned.lines.values_list("line__position", "amount", "points")) == [(2, Decimal("15.00"), 43)]
    assert account_of(member) == (42, 0, 0)  # 170 - 85 - 43


def test_a_refund_by_amount_shares_cents_by_largest_remainder(member):
    purchase = purchase_post(member, item("A", "1", "10.00"), item("B", "1", "20.00"))

    returned = return_post(purchase, amount="0.01", now=LATER)

    assert list(returned.lines.values_list("line__position", "amount")) == [(2, Decimal("0.01"))]


def test_a_return_beyond_what_was_bought_is_refused_and_writes_nothing(member, bought):
    def state():
        return (
            ledger_state(member.account),
            PurchaseReturn.objects.count(),
            list(PurchaseLine.objects.order_by("pk").values_list("returned_quantity", "returned_amount")),
            list(Award.objects.order_by("pk").values_list("returned_points", flat=True)),
            list(Campaign.objects.order_by("pk").values_list("points_awarded", flat=True)),
            list(QualifyingDay.objects.values_list("points", "spend_amount")),
        )

    before = state()
    for refused in (
        {"items": [("COFFEE", 4)]},
        {"items": [("COFFEE", 2), (1, 2)]},
        {"items": [("TEA", 1)]},
        {"items": [(3, 1)]},
        {"amount": "60.01"},
    ):
        with pytest.raises(ReturnExceedsPurchase):
            return_post(bought, now=LATER, **refused)

    assert state() == before


def test_a_return_is_never_recorded_twice(member, bought):
    first = return_post(bought, items=[("MUG", 1)], external_id="R-1", now=LATER)
    again = purchase_return(
        partner=bought.partner,
        purchase_id=bought.pk,
        external_id="R-1",
        items=[ReturnItem(sku="MUG", quantity=Decimal("1.000"))],
        now=LATER,
    )

    assert (again.created, again.purchase_return.pk) == (False, first.pk)
    with pytest.raises(ExternalIdConflict):
        return_post(bought, items=[("COFFEE", 1)], external_id="R-1", now=LATER)
    assert Entry.objects.filter(kind=EntryKind.REVERSE).count() == 1
    assert account_of(member) == (85, 0, 0)


def test_only_the_partner_of_the_purchase_may_return_it(bought):
    with pytest.raises(NotFound):
        purchase_return(
            partner=PartnerFactory(), purchase_id=bought.pk, external_id="R", amount=Decimal("1"), now=LATER
        )


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({}, ValidationError),
        ({"amount": Decimal("1"), "items": [ReturnItem(sku="MUG", quantity=Decimal(1))]}, ValidationError),
        ({"items": [ReturnItem(quantity=Decimal(1))]}, ValidationError),
        ({"items": [ReturnItem(sku="MUG", quantity=Decimal(0))]}, ValidationError),
        ({"amount": Decimal("-1")}, ValidationError),
    ],
    ids=["neither", "both", "no sku nor position", "zero quantity", "negative amount"],
)
def test_a_return_names_items_or_an_amount(bought, fields, error):
    with pytest.raises(error):
        purchase_return(partner=bought.partner, purchase_id=bought.pk, external_id="R", now=LATER, **fields)

    assert PurchaseReturn.objects.count() == 0


def test_pending_points_are_taken_back_first(member):
    purchase = purchase_post(member, item(unit_price="50.00"), partner=PartnerFactory(return_window_days=14))
    ledger.credit(member.account, 100, now=NOW)

    return_post(purchase, amount="20.00", now=LATER)

    assert account_of(member) == (100, 30, 0)


def test_a_return_takes_the_spend_back_from_the_day_it_counted(member):
    purchase = purchase_post(member, item(unit_price="50.00"))

    return_post(purchase, amount="20.00", now=LATER)

    assert list(QualifyingDay.objects.values_list("day", "points", "spend_amount")) == [
        (date(2027, 3, 10), 30, Decimal("30.00"))
    ]


def test_a_return_of_a_purchase_that_earned_nothing_takes_its_spend_back_only(member):
    earning_policy_set(points_per_unit=Decimal("0.01"))
    purchase = purchase_post(member, item(unit_price="50.00"))

    returned = return_post(purchase, amount="20.00", now=LATER)

    assert (returned.points, returned.entry, returned.policy) == (0, None, "")
    assert list(QualifyingDay.objects.values_list("spend_amount", flat=True)) == [Decimal("30.00")]


# After spending: the program's policy decides, and is recorded.


def test_after_spending_the_default_policy_takes_what_is_left_and_records_a_debt_the_next_earnings_pay(member, bought):
    ledger.debit(member.account, 150, now=NOW)  # 20 left

    returned = return_post(bought, items=[("MUG", 1)], now=LATER)  # its line earned 85

    assert (returned.points, returned.shortfall, returned.policy) == (85, 65, ReturnPolicy.DEBT)
    assert (returned.entry.amount, returned.entry.debt) == (-20, 65)
    assert account_of(member) == (0, 0, 65)
    # the next purchase pays the debt first (base 30, campaign 30 + 20, tier 15 = 95)
    purchase_post(member, item(unit_price="30.00"), now=LATER)
    assert account_of(member) == (30, 0, 0)
    assert Entry.objects.filter(kind=EntryKind.REPAY).count() == 1
    assert audit(now=LATER) == []


def test_after_spending_a_write_off_policy_takes_what_is_left_and_writes_the_rest_off(member, bought):
    earning_policy_set(return_policy=ReturnPolicy.WRITE_OFF)
    ledger.debit(member.account, 150, now=NOW)

    returned = return_post(bought, items=[("MUG", 1)], now=LATER)

    assert (returned.points, returned.shortfall, returned.policy) == (85, 65, ReturnPolicy.WRITE_OFF)
    assert account_of(member) == (0, 0, 0)
    assert Entry.objects.filter(kind=EntryKind.WRITE_OFF).count() == 1
    purchase_post(member, item(unit_price="30.00"), now=LATER)
    assert account_of(member) == (95, 0, 0)
    assert audit(now=LATER) == []


def test_a_suspended_member_s_return_is_still_reversed(member, bought):
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Check", actor=None)

    returned = return_post(bought, items=[("MUG", 1)], now=LATER)

    assert returned.points == 85
    assert account_of(member) == (85, 0, 0)
