"""The CSV import of a partner's purchases (``campaigns/imports.py``, ``manage.py purchases_import``)."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from campaigns import services
from campaigns.imports import COLUMNS, columns_check, purchases_import
from campaigns.models import Award, Campaign, CampaignStatus, CampaignUsage, Outcome, Purchase, PurchaseLine, Rule
from loyalty.exceptions import ValidationError
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Account, Entry, Lot
from members.models import Member, MemberStatus
from members.services import member_status_change
from members.tiers.models import MemberTier, QualifyingDay
from missions.badges.milestones import milestones_get
from missions.streaks.services import streak_policy_get
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tiers import program_tiers

NOW = datetime(2027, 3, 10, 18, 0, tzinfo=UTC)  # a Wednesday
AT = "2027-03-10T11:00:00+00:00"


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in COLUMNS})
    return out.getvalue()


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _purchase(external_id: str, member: Member, items: list[tuple], **head) -> list[dict]:
    amount = sum(Decimal(quantity) * Decimal(price) for _sku, _category, quantity, price in items)
    base = {
        "external_id": external_id,
        "member": member.member_number,
        "occurred_at": AT,
        "amount": str(amount),
        "currency": "EUR",
        "channel": "store",
        "store": "Paris 1",
        **head,
    }
    return [
        {**base, "sku": sku, "category": category, "quantity": quantity, "unit_price": price}
        for sku, category, quantity, price in items
    ]


@pytest.fixture
def shop():
    return PartnerFactory(name="Import shop")


@pytest.fixture
def campaigns(shop):
    """Double points on coffee, and a basket bonus of 30 points over 20.00 with a budget of 70."""
    window = {
        "status": CampaignStatus.ACTIVE,
        "starts_at": NOW - timedelta(days=30),
        "ends_at": NOW + timedelta(days=30),
    }
    coffee = Campaign.objects.create(name="Double coffee", **window)
    Rule.objects.create(campaign=coffee, kind="multiplier", multiplier=2, categories=["coffee"])
    basket = Campaign.objects.create(name="Basket of 20", budget=70, **window)
    Rule.objects.create(campaign=basket, kind="basket_bonus", points=30, min_amount=20)
    return coffee, basket


def _state() -> dict:
    return {
        "purchases": Purchase.objects.count(),
        "lines": PurchaseLine.objects.count(),
        "awards": Award.objects.count(),
        "entries": Entry.objects.count(),
        "lots": Lot.objects.count(),
        "balances": sorted(Account.objects.values_list("pk", "balance", "pending")),
        "awarded": sorted(Campaign.objects.values_list("pk", "points_awarded")),
        "usage": CampaignUsage.objects.count(),
        "days": sorted(QualifyingDay.objects.values_list("member_id", "points")),
    }


@pytest.mark.django_db
def test_a_small_file_is_imported_with_the_rules_applied(shop, campaigns):
    # given
    coffee, basket = campaigns
    alice, bob = MemberFactory(), MemberFactory()
    text = _csv(
        _purchase("T-1", alice, [("COF-1", "coffee", "2", "6.40"), ("BRD-1", "bakery", "1", "2.20")])
        + _purchase("T-2", bob, [("SOP-1", "household", "1", "25.00")])
        + _purchase("T-3", alice, [("SOP-1", "household", "3", "8.00")])
        + _purchase("T-4", bob, [("SOP-1", "household", "1", "21.00")])
    )

    # when
    result = purchases_import(partner=shop, rows=_rows(text), now=NOW)

    # then: T-1 earns 15 base (13 + 2 by largest remainder) + 12 coffee (12.80 x 1, rounded down);
    # T-2 25 + 30; T-3 24 + 30; T-4 21 + 10, the budget's last 10
    assert (result.purchases, result.earned, result.errors, result.already_imported) == (4, 4, [], 0)
    points = dict(Purchase.objects.values_list("external_id", "points"))
    assert points == {"T-1": 27, "T-2": 55, "T-3": 54, "T-4": 31}
    assert result.points == 167
    assert Account.objects.get(member=alice).balance == 81
    assert Account.objects.get(member=bob).balance == 86
    basket.refresh_from_db()
    coffee.refresh_from_db()
    assert (basket.points_awarded, coffee.points_awarded) == (70, 12)
    t1 = Purchase.objects.get(external_id="T-1")
    assert list(t1.lines.values_list("position", "sku", "paid_amount", "points")) == [
        (1, "COF-1", Decimal("12.80"), 25),
        (2, "BRD-1", Decimal("2.20"), 2),
    ]
    assert sorted(t1.awards.values_list("source", "points")) == [("base", 2), ("base", 13), ("campaign", 12)]
    assert t1.entry.amount == 27
    assert t1.entry.cause == t1
    assert t1.outcome == Outcome.EARNED
    assert audit(now=NOW) == []


@pytest.mark.django_db
def test_bad_purchases_are_reported_by_line_and_skipped_whole(shop, campaigns):
    # given
    alice = MemberFactory()
    good = _purchase("G-1", alice, [("BRD-1", "bakery", "1", "2.20")])
    mismatch = _purchase(
        "B-1", alice, [("BRD-1", "bakery", "1", "2.20"), ("MLK", "dairy", "1", "1.00")], amount="9.99"
    )
    bad_quantity = _purchase("B-2", alice, [("BRD-1", "bakery", "1", "2.20"), ("MLK", "dairy", "0", "1.00")])
    unknown = [{**row, "member": "1234567897"} for row in _purchase("B-3", alice, [("BRD-1", "bakery", "1", "2")])]
    dollars = _purchase("B-4", alice, [("BRD-1", "bakery", "1", "2.20")], currency="USD")
    mistyped = [{**row, "member": "1234567890"} for row in _purchase("B-5", alice, [("BRD-1", "bakery", "1", "2")])]
    naive = _purchase("B-6", alice, [("BRD-1", "bakery", "1", "2.20")], occurred_at="2027-03-10 11:00")
    text = _csv(good + mismatch + bad_quantity + unknown + dollars + mistyped + naive)

    # when
    result = purchases_import(partner=shop, rows=_rows(text), now=NOW)

    # then
    assert [(error.line, error.external_id, error.code) for error in result.errors] == [
        (3, "B-1", "amount_mismatch"),
        (6, "B-2", "invalid"),
        (7, "B-3", "not_found"),
        (8, "B-4", "currency_mismatch"),
        (9, "B-5", "invalid_member_number"),
        (10, "B-6", "invalid"),
    ]
    assert list(Purchase.objects.values_list("external_id", flat=True)) == ["G-1"]
    assert PurchaseLine.objects.count() == 1
    assert Entry.objects.count() == 1


@pytest.mark.django_db
def test_a_second_run_of_the_same_file_writes_nothing(shop, campaigns):
    # given
    alice, bob = MemberFactory(), MemberFactory()
    text = _csv(
        _purchase("T-1", alice, [("COF-1", "coffee", "2", "6.40")]) + _purchase("T-2", bob, [("X", "misc", "1", "30")])
    )
    purchases_import(partner=shop, rows=_rows(text), now=NOW)
    before = _state()

    # when
    again = purchases_import(partner=shop, rows=_rows(text), now=NOW + timedelta(minutes=5))

    # then
    assert (again.purchases, again.already_imported, again.points, again.errors) == (0, 2, 0, [])
    assert _state() == before


@pytest.mark.django_db
def test_a_suspended_members_purchase_is_recorded_without_points(shop, campaigns):
    # given
    alice = MemberFactory()
    member_status_change(member=alice, status=MemberStatus.SUSPENDED, reason="Audit")
    text = _csv(_purchase("T-1", alice, [("COF-1", "coffee", "2", "6.40")]))

    # when
    result = purchases_import(partner=shop, rows=_rows(text), now=NOW)

    # then
    purchase = Purchase.objects.get()
    assert (purchase.outcome, purchase.points, purchase.entry) == (Outcome.MEMBER_SUSPENDED, 0, None)
    assert (result.purchases, result.not_earning, result.points) == (1, 1, 0)
    assert Entry.objects.count() == 0
    assert Award.objects.count() == 0


@pytest.mark.django_db
def test_a_member_reaches_a_tier_in_a_batch_and_the_next_purchase_has_it(shop):
    # given: Silver at 500 points
    silver, _gold, _platinum = program_tiers()
    silver.earning_multiplier = Decimal(2)
    silver.save()
    alice = MemberFactory()
    text = _csv(
        _purchase("T-1", alice, [("TV", "electronics", "1", "600.00")])
        + _purchase("T-2", alice, [("CBL", "electronics", "1", "10.00")])
    )

    # when
    purchases_import(partner=shop, rows=_rows(text), now=NOW)

    # then: the second purchase earns the Silver multiplier
    assert dict(Purchase.objects.values_list("external_id", "points")) == {"T-1": 600, "T-2": 20}
    assert MemberTier.objects.get(member=alice).tier == silver
    assert audit(now=NOW) == []


def test_a_file_without_a_column_is_refused():
    with pytest.raises(ValidationError, match="no column unit_price"):
        columns_check([column for column in COLUMNS if column != "unit_price"])


@pytest.mark.django_db
def test_the_command_imports_a_file_and_reports_its_errors(shop, campaigns, tmp_path, capsys):
    # given
    alice = MemberFactory()
    path = tmp_path / "purchases.csv"
    past = {"occurred_at": "2026-11-02T10:00:00+00:00"}  # the command's now is the wall clock: before the campaigns
    rows = _purchase("T-1", alice, [("COF-1", "coffee", "2", "6.40")], **past)
    path.write_text(_csv(rows + _purchase("T-2", alice, [("X", "misc", "1", "3")], currency="USD", **past)))

    # when
    with pytest.raises(CommandError, match="1 purchases were not imported"):
        call_command("purchases_import", "--partner", "import shop", str(path))

    # then
    out, err = capsys.readouterr()
    assert "1 purchases imported (1 earned 12 points" in out
    assert "line 3: T-2: currency_mismatch" in err
    assert Purchase.objects.get().external_id == "T-1"


class _Rollback(Exception):
    pass


def _written() -> dict:
    """What the purchases wrote, by external id and member email: comparable across two runs."""
    email = dict(Member.objects.values_list("pk", "user__email"))
    out = {}
    for purchase in Purchase.objects.order_by("external_id"):
        out[purchase.external_id] = {
            "purchase": (purchase.outcome, purchase.points, purchase.pending_points, purchase.available_at,
                         purchase.body_hash, purchase.amount, email[purchase.member_id]),
            "lines": list(purchase.lines.order_by("position").values_list("position", "sku", "paid_amount", "points")),
            "awards": sorted(
                (a.line.position, a.source, a.campaign_id or 0, a.rule_id or 0, a.points, a.reason,
                 sorted(a.params.items()), a.cap_period_start)
                for a in purchase.awards.select_related("line")
            ),
            "entry": None if purchase.entry is None else (
                purchase.entry.kind, purchase.entry.amount, purchase.entry.balance_after, purchase.entry.actor_id,
                purchase.entry.memo_code, purchase.entry.lots.values_list("amount", "pending", "expires_on").get(),
            ),
        }  # fmt: skip
    out["accounts"] = sorted(
        (email[m], b, p, e)
        for m, b, p, e in Account.objects.values_list("member", "balance", "pending", "lifetime_earned")
    )
    out["days"] = sorted(
        (email[m], d, p, s)
        for m, d, p, s in QualifyingDay.objects.values_list("member", "day", "points", "spend_amount")
    )
    out["tiers"] = sorted((email[m], t) for m, t in MemberTier.objects.values_list("member", "tier__name"))
    out["usage"] = sorted(
        (c, email[m], d, p)
        for c, m, d, p in CampaignUsage.objects.values_list("campaign", "member", "period_start", "points")
    )
    out["awarded"] = sorted(Campaign.objects.values_list("name", "points_awarded"))
    return out  # fmt: skip


@pytest.mark.django_db
def test_the_import_writes_what_the_api_path_writes_for_the_same_purchases(shop, campaigns):
    # given: tiers with a multiplier, a first-purchase bonus, a capped campaign, a member list, a return window
    silver, _gold, _platinum = program_tiers()
    silver.earning_multiplier = Decimal("1.5")
    silver.save()
    shop.return_window_days = 14
    shop.save()
    window = {
        "status": CampaignStatus.ACTIVE,
        "starts_at": NOW - timedelta(days=30),
        "ends_at": NOW + timedelta(days=30),
    }
    first = Campaign.objects.create(name="Welcome", **window)
    Rule.objects.create(campaign=first, kind="first_purchase_bonus", points=40)
    capped = Campaign.objects.create(name="Bakery x3", member_cap=20, cap_period="week", **window)
    Rule.objects.create(campaign=capped, kind="multiplier", multiplier=3, categories=["bakery"])
    listed = Campaign.objects.create(name="VIP", uses_member_list=True, **window)
    Rule.objects.create(campaign=listed, kind="basket_bonus", points=15, min_amount=1)
    alice, bob, carol = MemberFactory(), MemberFactory(), MemberFactory()
    listed.listed_members.create(member=bob)
    purchases = [
        ("T-1", alice, [("COF-1", "coffee", "2", "6.40"), ("BRD-1", "bakery", "3", "2.20")]),
        ("T-2", bob, [("SOP-1", "household", "1", "25.00")]),
        ("T-3", alice, [("TV", "electronics", "1", "480.00")]),
        ("T-4", alice, [("BRD-1", "bakery", "4", "2.20"), ("COF-1", "coffee", "1", "6.40")]),
        ("T-5", carol, [("BRD-1", "bakery", "1", "1.10")]),
        ("T-6", bob, [("SOP-1", "household", "2", "12.50")]),
    ]
    try:
        with transaction.atomic():
            for external_id, member, items in purchases:
                services.purchase_record(
                    partner=shop, member_number=member.member_number, external_id=external_id,
                    occurred_at=datetime.fromisoformat(AT),
                    amount=sum(Decimal(q) * Decimal(p) for _s, _c, q, p in items),
                    currency="EUR", channel="store", store="Paris 1",
                    items=[services.PurchaseItem(sku=s, category=c, quantity=Decimal(q), unit_price=Decimal(p))
                           for s, c, q, p in items],
                    now=NOW,
                )  # fmt: skip
            by_api = _written()
            raise _Rollback
    except _Rollback:
        pass
    text = _csv([row for external_id, member, items in purchases for row in _purchase(external_id, member, items)])

    # when
    result = purchases_import(partner=shop, rows=_rows(text), now=NOW, batch_size=4)

    # then
    assert result.errors == []
    assert _written() == by_api
    assert by_api["T-3"]["purchase"][1] > 480  # the tier reached by T-3 (Silver at 500) multiplies T-4
    assert audit(now=NOW) == []


@pytest.mark.django_db
def test_a_purchase_imported_then_posted_to_the_api_is_a_repeat(shop, campaigns):
    # given
    alice = MemberFactory()
    purchases_import(
        partner=shop, rows=_rows(_csv(_purchase("T-1", alice, [("COF-1", "coffee", "2", "6.40")]))), now=NOW
    )

    # when
    recorded = services.purchase_record(
        partner=shop, member_number=alice.member_number, external_id="T-1", occurred_at=datetime.fromisoformat(AT),
        amount=Decimal("12.80"), currency="EUR", channel="store", store="Paris 1",
        items=[services.PurchaseItem(sku="COF-1", category="coffee", quantity=Decimal(2), unit_price=Decimal("6.40"))],
        now=NOW,
    )  # fmt: skip

    # then
    assert recorded.created is False
    assert Purchase.objects.count() == 1
    assert Entry.objects.count() == 1


@pytest.mark.django_db
def test_a_member_in_debt_takes_the_api_path_and_pays_the_debt(shop):
    # given: alice owes 5 points (a credit of 10 spent, then reversed with the shortfall as a debt)
    alice = MemberFactory()
    entry = ledger.credit(alice.account, 10, cause=shop, now=NOW - timedelta(days=2))
    ledger.debit(alice.account, 10, now=NOW - timedelta(days=2))
    ledger.reverse(entry, points=10, shortfall="debt", now=NOW - timedelta(days=1))
    assert Account.objects.get(member=alice).debt == 10
    text = _csv(_purchase("T-1", alice, [("SOP-1", "household", "1", "25.00")]))

    # when
    result = purchases_import(partner=shop, rows=_rows(text), now=NOW)

    # then
    account = Account.objects.get(member=alice)
    assert (result.purchases, result.one_by_one, result.points) == (1, 1, 25)
    assert (account.debt, account.balance) == (0, 15)
    assert audit(now=NOW) == []


@pytest.mark.django_db
def test_a_budget_is_never_exceeded_across_batches(shop, campaigns):
    # given: the basket bonus has 70 points of budget; six baskets over 20.00 would take 180
    _coffee, basket = campaigns
    members = [MemberFactory() for _ in range(6)]
    text = _csv([row for n, m in enumerate(members) for row in _purchase(f"T-{n}", m, [("X", "misc", "1", "21.00")])])

    # when
    purchases_import(partner=shop, rows=_rows(text), now=NOW, batch_size=2)

    # then
    basket.refresh_from_db()
    assert basket.points_awarded == 70
    assert sorted(Award.objects.filter(campaign=basket).values_list("points", flat=True)) == [10, 30, 30]


@pytest.mark.django_db
def test_a_batch_takes_the_same_statements_whatever_its_size(shop, campaigns):
    # given: coffee under the x2 campaign (usage and totals written by both batches), no basket bonus
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    program_tiers()
    members = [MemberFactory() for _ in range(9)]
    for member in members:  # the content types and the rules' caches warm
        ledger.credit(member.account, 1, cause=shop, now=NOW - timedelta(days=1))
    milestones_get(), streak_policy_get()  # the milestone badges and the streak policy: cached per process

    def statements(external_ids: list[str], buyers: list[Member]) -> int:
        rows = [
            row
            for e, m in zip(external_ids, buyers, strict=True)
            for row in _purchase(e, m, [("C", "coffee", "1", "12")])
        ]
        with CaptureQueriesContext(connection) as queries:
            result = purchases_import(partner=shop, rows=_rows(_csv(rows)), now=NOW)
        assert result.purchases == len(buyers)
        return len(queries)

    # when
    three = statements(["A-1", "A-2", "A-3"], members[:3])
    six = statements([f"B-{n}" for n in range(6)], members[3:])

    # then
    assert three == six
