"""Voucher codes: unique and unguessable when generated, taken once from an imported pool."""

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from loyalty.exceptions import OutOfStock
from rewards import services
from rewards.models import Redemption, RewardKind, Voucher, VoucherCode
from rewards.services import CODE_ALPHABET, redemption_create, voucher_code_generate
from tests.factories.rewards import RewardFactory
from tests.helpers import ledger_state
from tests.rewards.conftest import NOW

pytestmark = pytest.mark.django_db
ISSUES = 100_000
BATCH = 2_000
CODE = re.compile(f"^[{CODE_ALPHABET}]{{4}}(-[{CODE_ALPHABET}]{{4}}){{3}}$")


def test_100000_generated_codes_are_distinct_and_the_unique_index_takes_them_all(member):
    # given one real redemption through the service
    reward = RewardFactory(points_cost=1)
    redemption = redemption_create(member=member, reward=reward, idempotency_key="k", now=NOW).redemption

    # when 100,000 codes are drawn by the generator every issue calls, and stored as vouchers (raw rows: the ORM's
    # per-row cost would make this test minutes long; the unique index is what judges)
    codes = [voucher_code_generate() for _ in range(ISSUES)]
    row = [redemption.pk, reward.pk, member.pk, 1, "{}", "issued", NOW]
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO rewards_voucher (redemption_id, reward_id, member_id, points, terms, status, issued_at, code)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [[*row, code] for code in codes],
        )
    # and 2,000 more are issued through the service's own issuing step, in one batch beside them
    redemption.quantity = BATCH  # what _vouchers_issue reads: the units to issue
    with transaction.atomic():
        services._vouchers_issue(redemption, reward, NOW)

    # then every code is distinct, and of the generated form
    assert len(set(codes)) == ISSUES
    assert all(CODE.match(code) for code in codes)
    stored = Voucher.objects.values_list("code", flat=True)
    assert (stored.count(), stored.distinct().count()) == (ISSUES + BATCH + 1, ISSUES + BATCH + 1)


def test_the_database_refuses_a_second_voucher_with_a_code(member):
    reward = RewardFactory(points_cost=1)
    voucher = redemption_create(member=member, reward=reward, idempotency_key="k", now=NOW).vouchers[0]
    copy = Voucher(
        redemption=voucher.redemption, reward=reward, member=member, code=voucher.code, points=1, issued_at=NOW
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        Voucher.objects.bulk_create([copy])


def test_a_generated_code_that_exists_already_is_drawn_again(member, monkeypatch):
    reward = RewardFactory(points_cost=1)
    taken = redemption_create(member=member, reward=reward, idempotency_key="a", now=NOW).vouchers[0].code
    drawn = iter([taken, "AAAA-BBBB-CCCC-DDDD"])
    monkeypatch.setattr(services, "voucher_code_generate", lambda: next(drawn))

    voucher = redemption_create(member=member, reward=reward, idempotency_key="b", now=NOW).vouchers[0]

    assert voucher.code == "AAAA-BBBB-CCCC-DDDD"


def test_codes_that_always_clash_fail_the_whole_redemption(member, monkeypatch):
    reward = RewardFactory(points_cost=1, stock=5)
    taken = redemption_create(member=member, reward=reward, idempotency_key="a", now=NOW).vouchers[0].code
    monkeypatch.setattr(services, "voucher_code_generate", lambda: taken)
    before = ledger_state(member.account)

    with pytest.raises(IntegrityError):
        redemption_create(member=member, reward=reward, idempotency_key="b", now=NOW)

    assert ledger_state(member.account) == before
    reward.refresh_from_db()
    assert (reward.stock, Redemption.objects.count()) == (4, 1)


def test_generated_codes_spread_over_the_alphabet():
    codes = [voucher_code_generate() for _ in range(2_000)]
    letters = "".join(codes).replace("-", "")

    assert len(set(codes)) == len(codes)
    counts = [letters.count(c) for c in CODE_ALPHABET]
    assert min(counts) > 0.7 * len(letters) / len(CODE_ALPHABET)  # 1,000 per character expected; far from 700


def pool(reward, *codes):
    VoucherCode.objects.bulk_create(VoucherCode(reward=reward, code=c, imported_at=NOW) for c in codes)


def test_gift_cards_take_their_pools_codes_oldest_first_until_none_is_left(member):
    reward = RewardFactory(kind=RewardKind.GIFT_CARD, points_cost=100)
    pool(reward, "GC-0001", "GC-0002", "GC-0003")

    first = redemption_create(member=member, reward=reward, quantity=2, idempotency_key="a", now=NOW)
    before = ledger_state(member.account)
    with pytest.raises(OutOfStock):
        redemption_create(member=member, reward=reward, quantity=2, idempotency_key="b", now=NOW)
    assert ledger_state(member.account) == before
    last = redemption_create(member=member, reward=reward, idempotency_key="c", now=NOW + timedelta(minutes=1))
    with pytest.raises(OutOfStock):
        redemption_create(member=member, reward=reward, idempotency_key="d", now=NOW)

    assert [v.code for v in first.vouchers + last.vouchers] == ["GC-0001", "GC-0002", "GC-0003"]
    assert list(VoucherCode.objects.order_by("pk").values_list("taken_at", flat=True)) == [
        NOW,
        NOW,
        NOW + timedelta(minutes=1),
    ]
    assert [v.pool_code.code for v in Voucher.objects.order_by("pk")] == ["GC-0001", "GC-0002", "GC-0003"]
