"""The transactions API: purchases posted, listed, read and returned by partners."""

from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone, translation

from campaigns.models import Award, CampaignUsage, Purchase, PurchaseLine, PurchaseReturn, RuleKind
from campaigns.reasons import reason_label
from loyalty.ledger.models import Entry
from loyalty.partners.models import IdempotentResponse, Partner
from members.models import MemberStatus
from members.services import member_status_change
from tests.factories.campaigns import CampaignFactory, bonus_campaign, earning_policy_set, multiplier_campaign
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory, partner_key
from tests.factories.tiers import MemberTierFactory, TierFactory
from tests.helpers import ledger_state

URL = "/api/v1/transactions/"
SCOPES = ("transactions:read", "transactions:write")
_keys = iter(range(1, 10**6))


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Acme")


@pytest.fixture
def api(partner, client_for):
    return client_for(partner_key(partner, scopes=SCOPES)[1])


@pytest.fixture
def other_api(other_partner, client_for):
    return client_for(partner_key(other_partner, scopes=SCOPES)[1])


@pytest.fixture
def member(db):
    return MemberFactory()


def body(who, **fields):
    return {
        "member": who.member_number,
        "external_id": "T-1",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount": "50.00",
        "currency": "EUR",
        "items": [
            {"sku": "A", "category": "food", "quantity": "2", "unit_price": "10.00"},
            {"sku": "B", "quantity": "1", "unit_price": "30.00"},
        ],
        **fields,
    }


def post(api, data, key=None, url=URL):
    return api.post(url, data, format="json", HTTP_IDEMPOTENCY_KEY=key or f"key-{next(_keys)}")


def nothing_written(member):
    return (
        ledger_state(member.account),
        Purchase.objects.count(),
        PurchaseLine.objects.count(),
        Award.objects.count(),
    )


def test_a_purchase_earns_the_base_rate_and_the_campaign_and_says_where_every_point_comes_from(api, member):
    gold = TierFactory(name="Gold", earning_multiplier=Decimal("1.5"))
    MemberTierFactory(member=member, tier=gold)
    double = multiplier_campaign(name="Double points")

    response = post(api, body(member))

    assert response.status_code == 201, response.json()
    data = response.json()
    purchase = Purchase.objects.get()
    rule = double.rules.get()
    assert data == {
        "id": purchase.pk,
        "external_id": "T-1",
        "member": member.member_number,
        "occurred_at": "2026-11-20T10:00:00Z",
        "created_at": data["created_at"],
        "amount": "50.00",
        "currency": "EUR",
        "channel": "",
        "store": "",
        "outcome": "earned",
        "points": 125,
        "pending_points": 0,
        "available_at": None,
        "returned_points": 0,
        "breakdown": [
            {"source": "base", "rule": None, "campaign": None, "points": 50, "returned_points": 0, "reason": "Base"},
            {
                "source": "campaign",
                "rule": rule.pk,
                "campaign": double.pk,
                "points": 50,
                "returned_points": 0,
                "reason": "Double points",
            },
            {
                "source": "tier",
                "rule": None,
                "campaign": None,
                "points": 25,
                "returned_points": 0,
                "reason": "Gold multiplier",
            },
        ],
        "returns": [],
        "balance": 125,
        "pending": 0,
        "debt": 0,
    }
    assert response["Location"] == f"http://testserver{URL}{purchase.pk}/"
    entry = Entry.objects.get(account=member.account)
    assert (entry.kind, entry.amount, entry.cause, entry.actor) == ("earn", 125, purchase, purchase.partner)
    assert list(purchase.lines.values_list("position", "sku", "paid_amount", "points")) == [
        (1, "A", Decimal("20.00"), 50),
        (2, "B", Decimal("30.00"), 75),
    ]


def test_the_breakdown_reads_in_the_request_language(api, member):
    bonus_campaign(10, name="Big basket", name_fr="Gros panier")

    response = api.post(URL, body(member), format="json", HTTP_IDEMPOTENCY_KEY="fr-1", HTTP_ACCEPT_LANGUAGE="fr")

    with translation.override("fr"):  # the catalog's words, the campaign's French name
        expected = [reason_label("base"), reason_label("basket_bonus", {"campaign": "Gros panier"})]
    assert [line["reason"] for line in response.json()["breakdown"]] == expected


def test_a_partner_with_a_return_window_holds_the_points_pending(api, partner, member):
    Partner.objects.filter(pk=partner.pk).update(return_window_days=14)

    response = post(api, body(member))

    data = response.json()
    assert (data["points"], data["pending_points"], data["balance"], data["pending"]) == (50, 50, 0, 50)
    available_at = datetime.fromisoformat(data["available_at"])
    assert timedelta(days=14) - timedelta(minutes=1) < available_at - timezone.now() <= timedelta(days=14)


def test_a_tiny_basket_is_recorded_as_earning_nothing(api, member):
    response = post(api, body(member, amount="0.50", items=[{"sku": "A", "quantity": "1", "unit_price": "0.50"}]))

    assert response.status_code == 201
    data = response.json()
    assert (data["outcome"], data["points"], data["breakdown"]) == ("nothing", 0, [])
    assert Entry.objects.filter(account=member.account).count() == 0


def test_discounts_and_the_part_paid_with_points_earn_nothing(api, member):
    data = body(
        member,
        amount="40.00",
        discount="5.00",
        points_amount="15.00",
        items=[{"sku": "A", "quantity": "1", "unit_price": "50.00", "discount": "5.00"}],
    )

    response = post(api, data)

    assert response.status_code == 201, response.json()
    assert response.json()["points"] == 25  # 50 - 5 - 5 - 15 paid in money
    assert PurchaseLine.objects.get().paid_amount == Decimal("25.00")


# Replays and conflicts.


def test_the_same_idempotency_key_answers_the_first_response_once(api, member):
    first = post(api, body(member), key="k-1")
    again = post(api, body(member), key="k-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Purchase.objects.count() == 1
    assert Entry.objects.count() == 1


def test_the_same_external_id_and_body_under_another_key_answers_the_first_transaction_with_200(api, member):
    first = post(api, body(member))
    again = post(api, body(member))

    assert again.status_code == 200
    assert again.json() == first.json()
    assert Purchase.objects.count() == 1
    member.account.refresh_from_db()
    assert member.account.balance == 50


def test_the_same_external_id_with_another_body_is_a_conflict_and_writes_nothing(api, member):
    post(api, body(member))
    before = nothing_written(member)

    response = post(api, body(member, amount="51.00", items=[{"sku": "A", "quantity": "1", "unit_price": "51.00"}]))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "external_id_conflict"
    assert nothing_written(member) == before


def test_two_partners_may_use_the_same_external_id(api, other_api, member):
    assert post(api, body(member)).status_code == 201
    assert post(other_api, body(member)).status_code == 201
    assert Purchase.objects.count() == 2


def test_an_idempotency_key_is_required(api, member):
    response = api.post(URL, body(member), format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"
    assert Purchase.objects.count() == 0


# Validation: each error writes nothing.

INVALID = [
    pytest.param({"currency": "USD"}, 400, "currency_mismatch", id="another currency"),
    pytest.param(
        {"amount": "0.00", "items": [{"sku": "A", "quantity": "1", "unit_price": "0"}]},
        400,
        "invalid",
        id="zero amount",
    ),
    pytest.param({"amount": "-5.00"}, 400, "invalid", id="negative amount"),
    pytest.param({"amount": "50.06"}, 400, "amount_mismatch", id="items off by more than the tolerance"),
    pytest.param({"items": []}, 400, "invalid", id="no items"),
    pytest.param({"items": [{"sku": "A", "quantity": "0", "unit_price": "50"}]}, 400, "invalid", id="zero quantity"),
    pytest.param({"member": "1234567890"}, 400, "invalid_member_number", id="mistyped number"),
    pytest.param({"member": "0000000000"}, 404, "not_found", id="unknown member"),
    pytest.param({"occurred_at": "2999-01-01T00:00:00Z"}, 400, "invalid", id="in the future"),
    pytest.param({"occurred_at": "0001-01-01T00:00:00+14:00"}, 400, "invalid", id="before 2000"),
    pytest.param({"amount": 50.0}, 201, None, id="a JSON number is an amount too"),
]


@pytest.mark.parametrize(("fields", "status", "code"), INVALID)
def test_each_validation_error_has_its_code_and_writes_nothing(api, member, fields, status, code):
    before = nothing_written(member)

    response = post(api, body(member, **fields))

    assert response.status_code == status, response.json()
    if code:
        assert response.json()["error"]["code"] == code
        assert nothing_written(member) == before
        assert IdempotentResponse.objects.count() == 0


def test_items_within_the_tolerance_are_accepted(api, member):
    earning_policy_set(amount_tolerance=Decimal("0.05"))

    response = post(api, body(member, amount="50.05"))

    assert response.status_code == 201
    assert response.json()["amount"] == "50.05"


@pytest.mark.parametrize(
    ("status", "code"),
    [(MemberStatus.SUSPENDED, "member_suspended"), (MemberStatus.CLOSED, "member_closed")],
    ids=["suspended", "closed"],
)
def test_a_member_who_cannot_earn_gets_409_and_only_the_purchase_is_recorded_with_why(api, member, status, code):
    member_status_change(member=member, status=status, reason="Fraud check", actor=None)
    before = ledger_state(member.account)

    response = post(api, body(member), key="k-s")

    assert response.status_code == 409
    error = response.json()["error"]
    purchase = Purchase.objects.get()
    assert (error["code"], error["details"]) == (code, {"transaction": purchase.pk})
    assert (purchase.outcome, purchase.points, purchase.entry) == (code, 0, None)
    assert Award.objects.count() == 0
    assert ledger_state(member.account) == before
    # a repeat answers the same, under the same key or another
    assert post(api, body(member), key="k-s").json() == response.json()
    assert post(api, body(member)).json() == response.json()
    assert Purchase.objects.count() == 1


def test_a_merged_number_is_refused_with_the_survivor_and_nothing_written(api, member):
    from members.services import member_merge

    survivor = MemberFactory()
    member_merge(source=member, survivor=survivor, actor=None, reason="Duplicate")

    response = post(api, body(member))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "member_merged"
    assert Purchase.objects.count() == 0


def test_a_return_after_the_member_was_merged_takes_the_points_back_from_the_survivor(api, member):
    from loyalty.ledger.audit import audit
    from members.services import member_merge

    created = post(api, body(member)).json()  # 50 points
    survivor = MemberFactory()
    member_merge(source=member, survivor=survivor, actor=None, reason="Duplicate")

    response = post(
        api, {"external_id": "R-1", "items": [{"sku": "A", "quantity": "1"}]}, url=f"{URL}{created['id']}/returns/"
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["points"], response.json()["balance"], response.json()["debt"]) == (10, 40, 0)
    survivor.account.refresh_from_db()
    assert survivor.account.balance == 40
    assert Entry.objects.get(kind="reverse").account_id == survivor.account.pk
    assert audit() == []


# Reading: the partner's own only.


def test_a_partner_lists_and_reads_only_its_own_transactions(api, other_api, member):
    mine = post(api, body(member)).json()
    theirs = post(other_api, body(member, external_id="T-2")).json()

    listed = api.get(URL).json()

    assert [row["id"] for row in listed["results"]] == [mine["id"]]
    assert api.get(f"{URL}{mine['id']}/").json() == {**mine, "balance": 100}  # the balance now
    assert api.get(f"{URL}{theirs['id']}/").status_code == 404
    assert api.post(f"{URL}{theirs['id']}/returns/", {"external_id": "R", "amount": "1.00"}, format="json",
                    HTTP_IDEMPOTENCY_KEY="r").status_code == 404  # fmt: skip


def test_the_list_filters_by_member_external_id_outcome_and_time(api, member):
    other = MemberFactory()
    post(api, body(member, external_id="A", occurred_at="2026-11-01T10:00:00Z"))
    post(api, body(other, external_id="B", occurred_at="2026-11-02T10:00:00Z"))
    post(api, body(member, external_id="C", occurred_at="2026-11-03T10:00:00Z"))

    def ids(query):
        return [row["external_id"] for row in api.get(URL + query).json()["results"]]

    assert ids("") == ["C", "B", "A"]
    assert ids(f"?member={member.member_number}") == ["C", "A"]
    assert ids("?external_id=B") == ["B"]
    assert ids("?outcome=nothing") == []
    assert ids("?occurred_after=2026-11-02T10:00:00Z&occurred_before=2026-11-03T10:00:00Z") == ["B"]
    assert api.get(URL + "?member=1234567890").json()["error"]["code"] == "invalid_member_number"


@pytest.mark.parametrize(
    ("scopes", "method", "url"),
    [
        (("transactions:read",), "post", URL),
        (("transactions:write",), "get", URL),
        (("transactions:write",), "get", URL + "1/"),
        (("transactions:read",), "post", URL + "1/returns/"),
        (("members:read", "members:write", "points:adjust"), "get", URL),
    ],
    ids=["post without write", "list without read", "read without read", "return without write", "no scope"],
)
def test_each_operation_needs_its_scope(partner, client_for, member, scopes, method, url):
    client = client_for(partner_key(partner, scopes=scopes)[1])

    response = getattr(client, method)(url, body(member), format="json", HTTP_IDEMPOTENCY_KEY="s")

    assert response.status_code == 403
    assert Purchase.objects.count() == 0


# Returns through the API.


def test_a_return_of_one_item_reverses_what_it_earned_and_shows_on_the_transaction(api, member):
    campaign = multiplier_campaign(name="Double points", budget=1000)
    created = post(api, body(member)).json()

    response = post(
        api, {"external_id": "R-1", "items": [{"sku": "A", "quantity": "1"}]}, url=f"{URL}{created['id']}/returns/"
    )

    assert response.status_code == 201, response.json()
    returned = PurchaseReturn.objects.get()
    assert response.json() == {
        "id": returned.pk,
        "external_id": "R-1",
        "transaction": created["id"],
        "amount": "10.00",
        "points": 20,
        "shortfall": 0,
        "policy": "debt",
        "created_at": response.json()["created_at"],
        "lines": [{"position": 1, "sku": "A", "quantity": "1.000", "amount": "10.00", "points": 20}],
        "balance": 80,
        "pending": 0,
        "debt": 0,
    }
    assert response["Location"] == f"http://testserver{URL}{created['id']}/"
    campaign.refresh_from_db()
    assert campaign.points_awarded == 40
    shown = api.get(f"{URL}{created['id']}/").json()
    assert (shown["returned_points"], [row["returned_points"] for row in shown["breakdown"]]) == (20, [10, 10])
    assert [row["external_id"] for row in shown["returns"]] == ["R-1"]
    assert CampaignUsage.objects.get().points == 40


def test_a_return_beyond_what_was_bought_is_refused_and_writes_nothing(api, member):
    created = post(api, body(member)).json()
    before = (
        nothing_written(member),
        PurchaseReturn.objects.count(),
        list(PurchaseLine.objects.values_list("returned_quantity", flat=True)),
    )

    response = post(
        api, {"external_id": "R-1", "items": [{"position": 1, "quantity": "3"}]}, url=f"{URL}{created['id']}/returns/"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "return_exceeds_purchase"
    assert (
        nothing_written(member),
        PurchaseReturn.objects.count(),
        list(PurchaseLine.objects.values_list("returned_quantity", flat=True)),
    ) == before


def test_a_return_repeated_answers_the_first_and_another_body_under_its_id_conflicts(api, member):
    created = post(api, body(member)).json()
    url = f"{URL}{created['id']}/returns/"
    first = post(api, {"external_id": "R-1", "amount": "10.00"}, url=url)

    again = post(api, {"external_id": "R-1", "amount": "10.00"}, url=url)
    other = post(api, {"external_id": "R-1", "amount": "11.00"}, url=url)

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json() == first.json()
    assert other.json()["error"]["code"] == "external_id_conflict"
    assert PurchaseReturn.objects.count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"external_id": "R"},
        {"external_id": "R", "amount": "1.00", "items": [{"sku": "A", "quantity": "1"}]},
        {"external_id": "R", "items": [{"quantity": "1"}]},
        {"external_id": "R", "items": [{"sku": "A", "position": 1, "quantity": "1"}]},
        {"external_id": "R", "amount": "0"},
    ],
    ids=["neither", "both", "item without sku or position", "item with both", "zero amount"],
)
def test_a_return_names_items_or_an_amount(api, member, data):
    created = post(api, body(member)).json()

    response = post(api, data, url=f"{URL}{created['id']}/returns/")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert PurchaseReturn.objects.count() == 0


# Fixed query counts.

AUTH = 2  # the key with its partner, then its last use


def fresh_client(partner, client_for):
    """A client with a key never used: its first request writes ``last_used_at`` (``AUTH``)."""
    return client_for(partner_key(partner, scopes=SCOPES)[1])


@pytest.fixture
def warm(partner):
    for model in (Partner, Purchase, Entry):
        ContentType.objects.get_for_model(model)


# Per purchase: the key (2); the idempotency key's stored answer and its savepoint (3); the policy and the
# member with its referral waiting (2); the purchase's savepoint (2); the account lock, a repeat of the
# external id (2); the overrides and the member's facts (2); the live campaigns, their rules, tiers and
# partners (4); the campaign lists and the campaigns locked (2: no cap usage, none of the capped
# campaigns matches a line); the purchase in its
# savepoint and its lines (4); the credit: its savepoint, the lock, its entry, lot and balances (one
# statement on PostgreSQL, three elsewhere), the qualifying day with the tiers' two reads (2 + 3 + 3);
# the purchase's entry, the points.earned event, the awards, the usage, the campaigns' totals (5); the member's
# activity, its streak and count of purchases (missions/streaks: read and write, 2), with the streak policy and the
# milestone badges the first time (2, then cached); the stored answer (1); the live missions (1: there are none,
# so neither their steps nor their tiers are read).
PURCHASE_QUERIES = 43 if connection.vendor != "postgresql" else 41


@pytest.mark.parametrize("unmatched", [1, 10], ids=["1-unmatched-campaign", "10-unmatched-campaigns"])
def test_a_purchase_runs_a_fixed_number_of_queries_whatever_the_campaigns_that_do_not_match(
    partner, client_for, member, warm, unmatched, django_assert_num_queries
):
    # given a campaign that applies, and others that do not (another member's list, another channel,
    # another partner, a tier), or apply but match no line (capped, budgeted: their usage is not read)
    multiplier_campaign(budget=10_000)
    tier, someone = TierFactory(), MemberFactory()
    multiplier_campaign(members=[someone])
    garden = {"rules": [{"kind": RuleKind.MULTIPLIER, "multiplier": 3, "categories": ["garden"]}]}
    for index in range(unmatched):
        CampaignFactory(
            **[
                {"channels": ["web"], **garden},
                {"partners": [PartnerFactory()], **garden},
                {"tiers": [tier], **garden},
                {"member_cap": 500, "cap_period": "week", "budget": 5_000, **garden},
            ][index % 4]
        )

    fresh = fresh_client(partner, client_for)
    with django_assert_num_queries(PURCHASE_QUERIES):
        response = post(fresh, body(member, channel="store"))

    assert response.status_code == 201
    assert response.json()["points"] == 100


# The next purchase of a process whose rules did not change: the overrides and the live campaigns, their
# rules, tiers and partners, and the live missions are kept (6 fewer), and the key's last use was written a
# moment ago (1 fewer); the streak policy and the milestone badges are in the cache (2 fewer).
WARM_PURCHASE_QUERIES = PURCHASE_QUERIES - 9


@pytest.mark.parametrize("unmatched", [1, 10], ids=["1-unmatched-campaign", "10-unmatched-campaigns"])
def test_the_next_purchase_reads_the_rules_kept_whatever_the_campaigns_that_do_not_match(
    partner, client_for, member, warm, unmatched, django_assert_num_queries
):
    # given the campaigns of the test above
    multiplier_campaign(budget=10_000)
    tier, someone = TierFactory(), MemberFactory()
    multiplier_campaign(members=[someone])
    garden = {"rules": [{"kind": RuleKind.MULTIPLIER, "multiplier": 3, "categories": ["garden"]}]}
    for index in range(unmatched):
        CampaignFactory(
            **[
                {"channels": ["web"], **garden},
                {"partners": [PartnerFactory()], **garden},
                {"tiers": [tier], **garden},
                {"member_cap": 500, "cap_period": "week", "budget": 5_000, **garden},
            ][index % 4]
        )
    fresh = fresh_client(partner, client_for)
    assert post(fresh, body(member, channel="store")).status_code == 201

    with django_assert_num_queries(WARM_PURCHASE_QUERIES):
        response = post(fresh, body(member, channel="store", external_id="T-2"))

    assert response.status_code == 201
    assert response.json()["points"] == 100


@pytest.mark.parametrize("count", [1, 20], ids=["1-transaction", "20-transactions"])
def test_listing_and_reading_transactions_run_a_fixed_number_of_queries(
    api, partner, client_for, member, warm, count, django_assert_num_queries
):
    multiplier_campaign()
    for index in range(count):
        post(api, body(member, external_id=f"T-{index}"))
    returned = Purchase.objects.first()
    post(api, {"external_id": "R-1", "amount": "5.00"}, url=f"{URL}{returned.pk}/returns/")

    lister, reader = fresh_client(partner, client_for), fresh_client(partner, client_for)
    with django_assert_num_queries(AUTH + 3):  # the page with members and accounts; its awards; its returns
        listed = lister.get(URL)
    with django_assert_num_queries(AUTH + 3):
        shown = reader.get(f"{URL}{returned.pk}/")

    assert len(listed.json()["results"]) == count
    assert shown.json()["returns"][0]["external_id"] == "R-1"


# Per return: the key (2); the stored answer and its savepoint (3); the purchase with its entry, a repeat
# of the return's external id (2); its savepoint, the account lock, the repeat again, the lines, the
# awards, the policy (6); the reversal: its savepoint (2), the lock, its replay, the settling's read,
# what is reversible (2), the lots, then its entry with its lot moves and balances (one statement on
# PostgreSQL, four elsewhere), the tiers' take-back; the return, its lines, the lines' and the awards'
# updates, the usage and the campaigns (6); the missions' progress the purchase made (1: none); the stored
# answer (1).
RETURN_QUERIES = 35 if connection.vendor != "postgresql" else 32


@pytest.mark.parametrize("lines", [1, 5], ids=["1-line", "5-lines"])
def test_a_return_runs_a_fixed_number_of_queries(
    api, partner, client_for, member, warm, lines, django_assert_num_queries
):
    multiplier_campaign(budget=10_000)
    items = [{"sku": f"S{index}", "quantity": "1", "unit_price": "10.00"} for index in range(lines)]
    created = post(api, body(member, amount=f"{10 * lines}.00", items=items)).json()

    fresh = fresh_client(partner, client_for)
    with django_assert_num_queries(RETURN_QUERIES):
        response = post(fresh, {"external_id": "R-1", "amount": "5.00"}, url=f"{URL}{created['id']}/returns/")

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("moment", "status"),
    [
        pytest.param("2821-04-05T00:43:21-23:19", 200, id="offset-past-postgresql-range"),
        pytest.param("9999-12-31T23:59:59-23:00", 400, id="past-year-9999-in-utc"),
    ],
)
def test_a_time_filter_with_any_iso_offset_answers_without_a_5xx(api, moment, status):
    response = api.get(f"/api/v1/transactions/?occurred_after={quote(moment)}")

    assert response.status_code == status
