"""Recording purchases (``services.purchase_record``): what they earn, what they write, what they refuse."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.models import Award, Campaign, CampaignUsage, CapPeriod, Outcome, Purchase, PurchaseLine, RuleKind
from campaigns.services import PurchaseItem, purchase_record
from loyalty.exceptions import (
    AmountMismatch,
    CurrencyMismatch,
    ExternalIdConflict,
    InvalidMemberNumber,
    MemberMerged,
    NotFound,
    ValidationError,
)
from loyalty.ledger.models import Entry, EntryKind
from members.models import MemberStatus
from members.referrals.models import Referral, ReferralCode
from members.services import member_merge, member_status_change
from members.tiers.models import MemberTier, QualificationBasis, QualifyingDay
from tests.factories.campaigns import (
    NOW,
    CampaignFactory,
    bonus_campaign,
    earning_policy_set,
    item,
    multiplier_campaign,
    purchase_post,
)
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tiers import MemberTierFactory, TierFactory, policy_set
from tests.helpers import ledger_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MemberFactory()


@pytest.fixture
def partner():
    return PartnerFactory()


def awards(purchase):
    return list(
        Award.objects.filter(purchase=purchase)
        .order_by("pk")
        .values_list("line__position", "source", "campaign__name", "points")
    )


def written(member) -> tuple:
    """Everything a refused purchase must leave as it was."""
    return (
        ledger_state(member.account),
        Purchase.objects.count(),
        PurchaseLine.objects.count(),
        Award.objects.count(),
        list(CampaignUsage.objects.values_list("points", flat=True)),
        list(Campaign.objects.values_list("points_awarded", flat=True)),
        list(QualifyingDay.objects.values_list("points", "spend_amount")),
    )


def test_a_purchase_writes_its_lines_one_earn_entry_and_an_award_per_line_and_source(member, partner):
    CampaignFactory(name="x2 coffee", rules=[{"kind": RuleKind.MULTIPLIER, "categories": ["coffee"]}])

    purchase = purchase_post(
        member, item("BEANS", "2", "9.99", category="coffee"), item("MUG", "1", "12.50"), partner=partner
    )

    assert (purchase.outcome, purchase.points, purchase.amount) == (Outcome.EARNED, 51, Decimal("32.48"))
    assert list(purchase.lines.values_list("position", "sku", "paid_amount", "points")) == [
        (1, "BEANS", Decimal("19.98"), 39),
        (2, "MUG", Decimal("12.50"), 12),
    ]
    # base: 32.48 rounded down to 32, shared by largest remainder (19.98 -> 20, 12.50 -> 12); the x2 adds
    # the coffee's exact base 19.98 rounded down
    assert awards(purchase) == [(1, "base", None, 20), (2, "base", None, 12), (1, "campaign", "x2 coffee", 19)]
    entry = Entry.objects.get()
    assert (entry.kind, entry.amount, entry.cause, entry.actor, entry.account_id) == (
        EntryKind.EARN,
        51,
        purchase,
        partner,
        member.account.pk,
    )
    assert purchase.entry == entry
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.pending) == (51, 0)


def test_the_campaigns_are_those_of_the_moment_of_the_purchase_not_of_its_posting(member):
    multiplier_campaign(starts_at=datetime(2027, 3, 1, tzinfo=UTC), ends_at=datetime(2027, 3, 8, tzinfo=UTC))

    during = purchase_post(member, occurred_at=datetime(2027, 3, 7, 23, 59, tzinfo=UTC), now=NOW)
    after = purchase_post(member, occurred_at=datetime(2027, 3, 8, tzinfo=UTC), now=NOW)

    assert (during.points, after.points) == (20, 10)


def test_the_first_purchase_bonus_goes_to_the_first_purchase_that_earns_only(member):
    bonus_campaign(100, RuleKind.FIRST_PURCHASE_BONUS, name="Welcome")

    first, second = purchase_post(member), purchase_post(member)

    assert (first.points, second.points) == (110, 10)


def test_a_budget_stops_a_campaign_at_its_last_point(member):
    campaign = bonus_campaign(30, budget=50, name="Limited")

    points = [purchase_post(member).points for _ in range(3)]

    assert points == [40, 30, 10]  # 30, then the 20 left, then nothing but the base
    campaign.refresh_from_db()
    assert campaign.points_awarded == 50


def test_a_member_cap_per_day_holds_for_the_program_day_and_starts_again_the_next(member):
    bonus_campaign(30, member_cap=40, cap_period=CapPeriod.DAY, name="Daily")
    monday = datetime(2027, 3, 8, 9, tzinfo=UTC)

    points = [purchase_post(member, occurred_at=monday, now=NOW).points for _ in range(2)]
    points.append(purchase_post(member, occurred_at=monday + timedelta(days=1), now=NOW).points)

    assert points == [40, 20, 40]
    assert sorted(CampaignUsage.objects.values_list("period_start", "points")) == [
        (date(2027, 3, 8), 40),
        (date(2027, 3, 9), 30),
    ]


def test_the_tier_multiplier_applies_to_the_base_only(member):
    gold = TierFactory(name="Gold", earning_multiplier=Decimal("1.5"))
    MemberTierFactory(member=member, tier=gold)
    multiplier_campaign()

    purchase = purchase_post(member, item(unit_price="20.00"))

    assert [(source, points) for _line, source, _name, points in awards(purchase)] == [
        ("base", 20),
        ("campaign", 20),
        ("tier", 10),
    ]


def test_a_partner_with_a_return_window_holds_the_points_pending_until_it_ends(member):
    partner = PartnerFactory(return_window_days=14)

    purchase = purchase_post(member, partner=partner)

    assert (purchase.pending_points, purchase.available_at) == (10, NOW + timedelta(days=14))
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.pending) == (0, 10)


def test_a_tiny_basket_earns_nothing_but_its_spend_counts_for_tiers(member):
    policy_set(basis=QualificationBasis.ROLLING_SPEND)
    TierFactory(name="Silver", threshold=Decimal("0.40"))

    purchase = purchase_post(member, item(unit_price="0.50"))

    assert (purchase.outcome, purchase.points, purchase.entry) == (Outcome.NOTHING, 0, None)
    assert list(QualifyingDay.objects.values_list("day", "points", "spend_amount")) == [
        (date(2027, 3, 10), 0, Decimal("0.50"))
    ]
    assert MemberTier.objects.get(member=member).tier.name == "Silver"  # an upgrade at once


def test_what_counts_for_tiers_is_what_was_paid(member):
    policy_set(basis=QualificationBasis.ROLLING_SPEND)
    TierFactory(name="Silver", threshold=Decimal("30.00"))

    purchase_post(member, item(unit_price="40.00", discount="5.00"), points_amount=Decimal("10.00"))

    assert list(QualifyingDay.objects.values_list("points", "spend_amount")) == [(25, Decimal("25.00"))]
    assert not MemberTier.objects.filter(member=member, tier__isnull=False).exists()


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(MemberStatus.SUSPENDED, Outcome.MEMBER_SUSPENDED), (MemberStatus.CLOSED, Outcome.MEMBER_CLOSED)],
    ids=["suspended", "closed"],
)
def test_a_member_who_cannot_earn_has_the_purchase_recorded_with_why_and_nothing_else(member, status, outcome):
    multiplier_campaign(budget=100)
    member_status_change(member=member, status=status, reason="Check", actor=None)
    before = ledger_state(member.account)

    purchase = purchase_post(member)

    assert (purchase.outcome, purchase.points, purchase.entry) == (outcome, 0, None)
    assert list(purchase.lines.values_list("sku", "paid_amount", "points")) == [("SKU-1", Decimal("10.00"), 0)]
    assert ledger_state(member.account) == before
    assert (Award.objects.count(), CampaignUsage.objects.count(), QualifyingDay.objects.count()) == (0, 0, 0)
    assert Campaign.objects.get().points_awarded == 0


def test_a_repeat_with_the_same_content_returns_the_first_purchase_and_other_content_conflicts(member, partner):
    items = [item()]
    first = purchase_record(
        partner=partner,
        member_number=member.member_number,
        external_id="X",
        occurred_at=NOW,
        amount=Decimal("10.00"),
        currency="EUR",
        items=items,
        now=NOW,
    )
    again = purchase_record(
        partner=partner,
        member_number=member.member_number,
        external_id="X",
        occurred_at=NOW,
        amount=Decimal("10"),
        currency="eur",
        items=items,
        now=NOW + timedelta(minutes=1),
    )
    before = written(member)

    with pytest.raises(ExternalIdConflict):
        purchase_record(
            partner=partner,
            member_number=member.member_number,
            external_id="X",
            occurred_at=NOW,
            amount=Decimal("10.00"),
            currency="EUR",
            items=[item(sku="OTHER")],
            now=NOW,
        )

    assert (first.created, again.created, again.purchase.pk) == (True, False, first.purchase.pk)
    assert written(member) == before
    assert Entry.objects.count() == 1


REFUSED = [
    pytest.param({"currency": "USD"}, CurrencyMismatch, id="currency"),
    pytest.param({"amount": Decimal("0")}, ValidationError, id="zero amount"),
    pytest.param({"amount": Decimal("-1")}, ValidationError, id="negative amount"),
    pytest.param({"amount": Decimal("10.06")}, AmountMismatch, id="beyond the tolerance"),
    pytest.param({"amount": Decimal("10.001")}, ValidationError, id="a fraction of a cent"),
    pytest.param({"items": []}, ValidationError, id="no items"),
    pytest.param({"items": [item(quantity="0")]}, ValidationError, id="zero quantity"),
    pytest.param({"items": [item(discount="11")], "amount": Decimal("1")}, ValidationError, id="discount over price"),
    pytest.param({"points_amount": Decimal("11")}, ValidationError, id="more paid with points than the amount"),
    pytest.param({"member_number": "1234567890"}, InvalidMemberNumber, id="mistyped number"),
    pytest.param({"member_number": "0000000000"}, NotFound, id="unknown member"),
    pytest.param({"occurred_at": datetime(2027, 3, 10, 12)}, ValidationError, id="naive time"),  # noqa: DTZ001
    pytest.param({"external_id": ""}, ValidationError, id="no external id"),
]


@pytest.mark.parametrize(("fields", "error"), REFUSED)
def test_a_refused_purchase_writes_nothing(member, partner, fields, error):
    multiplier_campaign(budget=100)
    before = written(member)
    values = {
        "partner": partner,
        "member_number": member.member_number,
        "external_id": "X",
        "occurred_at": NOW,
        "amount": Decimal("10.00"),
        "currency": "EUR",
        "items": [item()],
        "now": NOW,
        **fields,
    }

    with pytest.raises(error):
        purchase_record(**values)

    assert written(member) == before


@pytest.mark.parametrize("amount", ["9.95", "10.05"], ids=["0.05 under", "0.05 over"])
def test_items_may_differ_from_the_amount_by_the_tolerance(member, amount):
    earning_policy_set(amount_tolerance=Decimal("0.05"))

    purchase = purchase_post(member, amount=amount)

    assert (purchase.amount, purchase.points) == (Decimal(amount), 10)  # what earns is what the items paid


def test_a_merged_number_is_refused_with_the_survivor_s_number(member):
    survivor = MemberFactory()
    member_merge(source=member, survivor=survivor, reason="Duplicate", actor=None)

    with pytest.raises(MemberMerged) as refused:
        purchase_post(member)

    assert refused.value.details == {"merged_into": survivor.member_number}
    assert Purchase.objects.count() == 0


def test_the_first_purchase_of_a_referred_member_pays_the_referral_in_the_same_transaction():
    referrer = MemberFactory()
    friend = MemberFactory(referral_code=ReferralCode.objects.get(member=referrer).code)

    purchase = purchase_post(friend, item(unit_price="30.00"))

    referral = Referral.objects.get()
    assert (referral.status, referral.purchase_amount) == ("credited", Decimal("30.00"))
    assert Entry.objects.filter(kind=EntryKind.BONUS).count() == 2
    assert purchase.points == 30
    purchase_post(friend)
    assert Entry.objects.filter(kind=EntryKind.BONUS).count() == 2


def test_a_campaign_for_a_list_reaches_only_its_members(member):
    other = MemberFactory()
    CampaignFactory(rules=[{"kind": RuleKind.MULTIPLIER, "multiplier": 3}], members=[member])

    assert (purchase_post(member).points, purchase_post(other).points) == (30, 10)


def test_the_engine_sees_each_item_as_posted():
    member = MemberFactory()
    partner = PartnerFactory()

    recorded = purchase_record(
        partner=partner,
        member_number=member.member_number,
        external_id="Y",
        occurred_at=NOW,
        amount=Decimal("9.00"),
        currency="EUR",
        items=[PurchaseItem(sku="A", quantity=Decimal("0.5"), unit_price=Decimal("20.00"), discount=Decimal("1.00"))],
        channel="web",
        store="Online",
        now=NOW,
    )

    line = recorded.purchase.lines.get()
    assert (line.quantity, line.unit_price, line.discount_amount, line.paid_amount) == (
        Decimal("0.500"),
        Decimal("20.00"),
        Decimal("1.00"),
        Decimal("9.00"),
    )
    assert (recorded.purchase.channel, recorded.purchase.store) == ("web", "Online")
