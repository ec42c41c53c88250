"""Every change that partners hear of writes its outbox event, in its own transaction, with what a receiver needs."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from loyalty.ledger import services as ledger
from loyalty.ledger.models import ExpiryRun
from loyalty.outbox.models import EventType, OutboxEvent
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import RewardFactory
from tests.factories.tiers import TierFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def events(type):
    return list(OutboxEvent.objects.filter(type=type).order_by("occurred_at", "data__member"))


def test_an_enrolment_writes_member_enrolled_without_personal_data():
    partner = PartnerFactory()

    member = MemberFactory(enrolled_by=partner, email="ann@example.com", first_name="Ann")

    [event] = events(EventType.MEMBER_ENROLLED)
    assert (event.member_id, event.partner_id) == (member.pk, partner.pk)
    assert event.data == {"member": member.member_number, "language": "en", "referred": False}


def test_a_purchase_writes_points_earned_by_its_partner():
    from campaigns import services as campaigns

    partner = PartnerFactory()
    member = MemberFactory()

    recorded = campaigns.purchase_record(
        partner=partner,
        member_number=member.member_number,
        external_id="T-1",
        occurred_at=NOW,
        amount=Decimal("50.00"),
        currency="EUR",
        items=[campaigns.PurchaseItem(sku="A", category="", quantity=Decimal(1), unit_price=Decimal("50.00"))],
        now=NOW,
    )

    [event] = events(EventType.POINTS_EARNED)
    assert (event.member_id, event.partner_id, event.occurred_at) == (member.pk, partner.pk, NOW)
    assert event.data == {
        "member": member.member_number,
        "points": recorded.purchase.points,
        "balance": recorded.purchase.points,
        "available_at": None,
        "transaction": recorded.purchase.pk,
    }


def test_a_redemption_writes_points_redeemed_and_voucher_issued_without_the_code():
    from rewards.services import redemption_create

    member = MemberFactory()
    ledger.credit(member.account, 800, now=NOW)
    reward = RewardFactory(code="coffee", points_cost=500)

    result = redemption_create(member=member, reward=reward, idempotency_key="r-1", now=NOW)

    [redeemed] = events(EventType.POINTS_REDEEMED)
    [issued] = events(EventType.VOUCHER_ISSUED)
    [voucher] = result.vouchers
    assert redeemed.data == {
        "member": member.member_number,
        "points": 500,
        "balance": 300,
        "redemption": result.redemption.pk,
        "reward": "coffee",
        "quantity": 1,
    }
    assert issued.data == {
        "member": member.member_number,
        "redemption": result.redemption.pk,
        "reward": "coffee",
        "vouchers": [
            {
                "id": voucher.pk,
                "code_hint": voucher.code[-4:],
                "expires_at": voucher.expires_at and voucher.expires_at.isoformat(),
            }
        ],
    }
    assert voucher.code not in str(issued.data)


def test_expiry_writes_one_points_expired_per_account_set_based(django_assert_num_queries):
    first, second, untouched = MemberFactory(), MemberFactory(), MemberFactory()
    for member, points in ((first, 70), (second, 30), (second, 5)):
        ledger.credit(member.account, points, expires_on=date(2020, 1, 31), now=datetime(2020, 1, 1, tzinfo=UTC))
    ledger.credit(untouched.account, 10, expires_on=None, now=datetime(2020, 1, 1, tzinfo=UTC))
    ledger.credit(first.account, 40, expires_on=None, now=datetime(2020, 1, 1, tzinfo=UTC))

    ledger.expire_due(now=NOW)

    expired = {event.member_id: event.data for event in events(EventType.POINTS_EXPIRED)}
    assert {member_id: (data["member"], data["points"], data["balance"]) for member_id, data in expired.items()} == {
        first.pk: (first.member_number, 70, 40),
        second.pk: (second.member_number, 35, 0),
    }
    # a second run expires nothing and writes no event
    ledger.expire_due(now=NOW)
    assert len(events(EventType.POINTS_EXPIRED)) == 2


def test_the_expiry_run_writes_its_events_in_one_statement_whatever_the_accounts(django_assert_num_queries):
    members = [MemberFactory() for _ in range(3)]
    for member in members:
        ledger.credit(member.account, 10, expires_on=date(2020, 1, 31), now=datetime(2020, 1, 1, tzinfo=UTC))
    postgres = connection.vendor == "postgresql"
    ContentType.objects.get_for_model(ExpiryRun)  # cached per process

    # in a savepoint and its release: the batch's accounts, their lock, the settlement (one statement on
    # PostgreSQL; the ORM's several on SQLite), the events (one INSERT ... SELECT); then the empty next batch in
    # its savepoint (3)
    with django_assert_num_queries(9 if postgres else 14):
        ledger.expire_due(now=NOW)

    assert len(events(EventType.POINTS_EXPIRED)) == 3


def test_the_daily_tier_recalculation_writes_one_tier_changed_per_change():
    from members.tiers.models import TierChange
    from members.tiers.services import tier_recalculate_all

    TierFactory(name="Member", rank=1, threshold=0)
    members = [MemberFactory(), MemberFactory()]

    tier_recalculate_all(now=NOW)
    tier_recalculate_all(now=NOW)  # the second run changes nothing

    changes = {change.member_id: change.pk for change in TierChange.objects.all()}
    assert {event.member_id: event.data for event in events(EventType.TIER_CHANGED)} == {
        member.pk: {
            "member": member.member_number,
            "from_tier": None,
            "to_tier": "Member",
            "reason": "recalculated",
            "change": changes[member.pk],
        }
        for member in members
    }


def test_a_tier_set_by_hand_writes_tier_changed():
    from django.contrib.auth.models import Permission

    from members.tiers.services import member_tier_set
    from tests.factories.members import MemberFactory as Members

    gold = TierFactory(name="Gold", rank=2, threshold=2000)
    member = Members()
    staff = (
        __import__("django.contrib.auth", fromlist=["get_user_model"])
        .get_user_model()
        .objects.create_user(username="staff", is_staff=True)
    )
    staff.user_permissions.add(Permission.objects.get(codename="set_tier"))

    change = member_tier_set(member=member, tier=gold, until=date(2027, 12, 31), reason="Status match", actor=staff)

    [event] = events(EventType.TIER_CHANGED)
    assert event.data == {
        "member": member.member_number,
        "from_tier": None,
        "to_tier": "Gold",
        "reason": "manual",
        "change": change.pk,
    }
