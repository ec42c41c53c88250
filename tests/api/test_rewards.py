"""The partner API for rewards: the catalog, redemptions at a till, and vouchers shown at a till."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from loyalty.ledger import services as ledger
from loyalty.partners.models import PresenceCode
from loyalty.partners.services import presence_code_issue
from members.services import member_merge
from rewards.models import Redemption, Voucher, VoucherStatus
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory, partner_key
from tests.factories.rewards import RewardFactory
from tests.factories.tiers import MemberTierFactory, TierFactory
from tests.helpers import ledger_state

SCOPES = ["rewards:read", "rewards:redeem", "vouchers:use", "members:read"]


@pytest.fixture
def shop(db):
    return PartnerFactory(name="Shop")


@pytest.fixture
def till(shop, client_for):
    return client_for(partner_key(shop, scopes=SCOPES)[1])


@pytest.fixture
def other_shop(db):
    return PartnerFactory(name="Other shop")


@pytest.fixture
def other_till(other_shop, client_for):
    return client_for(partner_key(other_shop, scopes=SCOPES)[1])


@pytest.fixture
def member(db):
    member = MemberFactory()
    ledger.credit(member.account, 1200)
    return member


def code_of(member) -> str:
    return presence_code_issue(member=member)[1]


def redeem(client, member, reward, key="k1", **extra):
    body = {"member": member.member_number, "reward": reward.pk, "presence_code": code_of(member), **extra}
    return client.post("/api/v1/redemptions/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


# The catalog.


def test_the_catalog_lists_rewards_on_offer_cheapest_first(till):
    RewardFactory(name="Inactive", active=False)
    RewardFactory(name="Sold out", stock=0)
    RewardFactory(name="Later", available_from=timezone.now() + timedelta(days=1))
    RewardFactory(name="Over", available_until=timezone.now())
    cheap = RewardFactory(name="Coffee", points_cost=100, stock=4)
    dear = RewardFactory(name="Mug", points_cost=900)

    response = till.get("/api/v1/rewards/")

    assert response.status_code == 200
    body = response.json()["results"]
    assert [r["id"] for r in body] == [cheap.pk, dear.pk]
    assert body[0] | {"id": 0} == {
        "id": 0,
        "code": cheap.code,
        "name": "Coffee",
        "kind": "fixed_discount",
        "description": "",
        "image": None,
        "points_cost": 100,
        "value_amount": "5.00",
        "percent": None,
        "max_discount_amount": None,
        "currency": "EUR",
        "sku": "",
        "charity": None,
        "starts_at": None,
        "validity_days": None,
        "valid_until": None,
        "stock": 4,
        "limit_per_member": None,
        "limit_period": "ever",
        "available_from": None,
        "available_until": None,
        "cancel_window_hours": 0,
        "refund_on_expiry": False,
        "tiers": [],
        "accepted_here": True,
    }


def test_the_catalog_for_a_member_holds_what_the_member_can_redeem_now(till, member):
    gold, silver = TierFactory(name="Gold", rank=2), TierFactory(name="Silver", rank=1)
    MemberTierFactory(member=member, tier=silver)
    open_cheap = RewardFactory(points_cost=1200)
    RewardFactory(points_cost=1201)  # too dear
    for_silver = RewardFactory(points_cost=100, tiers=[silver, gold])
    RewardFactory(points_cost=100, tiers=[gold])

    response = till.get(f"/api/v1/rewards/?member={member.member_number}")

    assert [r["id"] for r in response.json()["results"]] == [for_silver.pk, open_cheap.pk]
    assert response.json()["results"][0]["tiers"] == [{"name": "Silver", "rank": 1}, {"name": "Gold", "rank": 2}]


def test_the_catalog_filters_by_tier_kind_and_what_this_partner_accepts(till, shop, other_shop):
    gold = TierFactory(name="Gold", rank=2)
    everyone = RewardFactory(points_cost=100)
    golden = RewardFactory(points_cost=200, tiers=[gold], kind="free_product", sku="TEA")
    elsewhere = RewardFactory(points_cost=300, partners=[other_shop])
    here = RewardFactory(points_cost=400, partners=[shop, other_shop])

    def ids(query):
        return [r["id"] for r in till.get(f"/api/v1/rewards/?{query}").json()["results"]]

    assert ids(f"tier={gold.pk}") == [everyone.pk, golden.pk, elsewhere.pk, here.pk]
    assert ids("tier=999999") == [everyone.pk, elsewhere.pk, here.pk]
    assert ids("kind=free_product") == [golden.pk]
    assert ids("accepted=true") == [everyone.pk, golden.pk, here.pk]
    assert ids("accepted=false") == [elsewhere.pk]
    assert till.get("/api/v1/rewards/").json()["results"][2]["accepted_here"] is False


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        pytest.param("member=1234567890", 400, "invalid_member_number", id="mistyped-number"),
        pytest.param("member=1234567897", 404, "not_found", id="unknown-member"),
        pytest.param("kind=bogus", 400, "invalid", id="unknown-kind"),
    ],
)
def test_a_bad_filter_answers_its_error(till, query, status, code):
    response = till.get(f"/api/v1/rewards/?{query}")

    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_a_reward_is_read_while_it_is_on_offer(till):
    reward = RewardFactory(name="Coffee", stock=0)
    gone = RewardFactory(active=False)

    assert till.get(f"/api/v1/rewards/{reward.pk}/").json()["stock"] == 0
    assert till.get(f"/api/v1/rewards/{gone.pk}/").status_code == 404


def test_the_catalog_needs_its_scope(shop, client_for):
    client = client_for(partner_key(shop, scopes=["vouchers:use"])[1])

    assert client.get("/api/v1/rewards/").status_code == 403
    assert client.post("/api/v1/redemptions/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 403


# Redemptions.


def test_a_redemption_at_a_till_debits_the_member_and_answers_its_vouchers(till, member):
    reward = RewardFactory(name="Coffee", points_cost=500, stock=3, validity_days=30)

    response = redeem(till, member, reward, quantity=2)

    assert response.status_code == 201
    body = response.json()
    redemption = Redemption.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/redemptions/{redemption.pk}/"
    assert (body["member"], body["quantity"], body["points"], body["balance"]) == (member.member_number, 2, 1000, 200)
    assert body["reward"] == {"id": reward.pk, "code": reward.code, "name": "Coffee"}
    codes = list(Voucher.objects.order_by("pk").values_list("code", flat=True))
    assert [v["code"] for v in body["vouchers"]] == codes
    assert body["vouchers"][0]["status"] == "issued"
    assert body["vouchers"][0]["terms"]["value_amount"] == "5.00"
    assert body["donations"] == []
    assert PresenceCode.objects.get().used_at is not None
    again = till.post(
        "/api/v1/redemptions/",
        {"member": member.member_number, "reward": reward.pk, "presence_code": "000000"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert again.status_code == 409  # the same key with another body (the code differs)
    assert Redemption.objects.count() == 1


def test_a_retry_with_the_same_key_answers_the_first_redemption(till, member):
    reward = RewardFactory(points_cost=500)
    body = {"member": member.member_number, "reward": reward.pk, "presence_code": code_of(member)}

    first = till.post("/api/v1/redemptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = till.post("/api/v1/redemptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    member.account.refresh_from_db()
    assert (member.account.balance, Redemption.objects.count()) == (700, 1)


@pytest.mark.parametrize(
    ("reward_fields", "code", "details"),
    [
        pytest.param({"points_cost": 1201}, "insufficient_points", {"available": 1200, "requested": 1201}, id="dear"),
        pytest.param({"stock": 0}, "out_of_stock", None, id="sold-out"),
        pytest.param({"active": False}, "not_eligible", {"reason": "inactive"}, id="inactive"),
    ],
)
def test_a_refused_redemption_answers_409_and_writes_nothing(till, member, reward_fields, code, details):
    reward = RewardFactory(**{"points_cost": 500, **reward_fields})
    before = ledger_state(member.account)

    response = redeem(till, member, reward)

    assert (response.status_code, response.json()["error"]["code"]) == (409, code)
    assert response.json()["error"].get("details") == details
    assert response.json()["error"]["message"]
    assert ledger_state(member.account) == before
    assert PresenceCode.objects.get().used_at is None  # the member can try another reward with the same code


def test_the_limit_and_the_partner_are_checked(till, member, other_shop):
    limited = RewardFactory(points_cost=100, limit_per_member=1, limit_period="month")
    assert redeem(till, member, limited, key="a").status_code == 201

    limit = redeem(till, member, limited, key="b").json()["error"]
    partner = redeem(till, member, RewardFactory(points_cost=100, partners=[other_shop]), key="c").json()["error"]

    assert (limit["code"], limit["details"]) == ("limit_reached", {"limit": 1, "period": "month"})
    assert (partner["code"], partner["details"]) == ("not_eligible", {"reason": "partner"})


def test_a_redemption_needs_the_members_presence_code(till, member):
    reward = RewardFactory(points_cost=500)
    presence_code_issue(member=member)

    missing = till.post(
        "/api/v1/redemptions/",
        {"member": member.member_number, "reward": reward.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    wrong = till.post(
        "/api/v1/redemptions/",
        {"member": member.member_number, "reward": reward.pk, "presence_code": "000000"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k2",
    )

    assert (missing.status_code, list(missing.json()["error"]["fields"])) == (400, ["presence_code"])
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "presence_code_invalid")
    assert PresenceCode.objects.get().failed_attempts == 1
    member.account.refresh_from_db()
    assert (member.account.balance, Redemption.objects.count()) == (1200, 0)


def test_an_unknown_reward_or_a_merged_member_is_refused_before_the_code_counts(till, member):
    survivor = MemberFactory()
    code = code_of(member)
    unknown = till.post(
        "/api/v1/redemptions/",
        {"member": member.member_number, "reward": 999999, "presence_code": code},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    member_merge(source=member, survivor=survivor, reason="Duplicate")
    merged = till.post(
        "/api/v1/redemptions/",
        {"member": member.member_number, "reward": RewardFactory().pk, "presence_code": "000000"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k2",
    )

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert merged.json()["error"] | {"fields": {}} == {
        "code": "member_merged",
        "message": "This member was merged into another: use the survivor's number.",
        "fields": {},
        "details": {"merged_into": survivor.member_number},
    }
    assert PresenceCode.objects.get().failed_attempts == 0


def test_a_partner_reads_and_cancels_only_its_own_redemptions(till, other_till, member):
    reward = RewardFactory(points_cost=500, stock=2, cancel_window_hours=24)
    created = redeem(till, member, reward).json()
    url = f"/api/v1/redemptions/{created['id']}/"

    assert till.get(url).json() == created
    assert other_till.get(url).status_code == 404
    assert other_till.post(url + "cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="c").status_code == 404

    cancelled = till.post(url + "cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="c")

    assert cancelled.status_code == 200
    assert ([v["status"] for v in cancelled.json()["vouchers"]], cancelled.json()["balance"]) == (["cancelled"], 1200)
    reward.refresh_from_db()
    assert reward.stock == 2
    again = till.post(url + "cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="c2")
    assert (again.status_code, again.json()["balance"]) == (200, 1200)
    history = till.get(f"/api/v1/members/{member.member_number}/entries/").json()["results"]
    assert [(e["kind"], e["amount"], e["memo"]) for e in history][:2] == [
        ("reverse", 500, f"Voucher cancelled, points back: {reward.name}"),
        ("redeem", -500, f"Redeemed: {reward.name}"),
    ]


def test_a_redemption_outside_its_window_is_not_cancelled(till, member):
    created = redeem(till, member, RewardFactory(points_cost=500)).json()

    response = till.post(f"/api/v1/redemptions/{created['id']}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="c")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_cancellable")
    member.account.refresh_from_db()
    assert member.account.balance == 700


# Vouchers at a till.


@pytest.fixture
def voucher(till, member):
    reward = RewardFactory(name="Coffee", points_cost=500, validity_days=30)
    redeem(till, member, reward)
    return Voucher.objects.get()


def test_checking_a_voucher_says_what_it_is_worth_and_nothing_of_the_member(other_till, voucher, member):
    response = other_till.get(f"/api/v1/vouchers/{voucher.code}/")

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {
        "code", "status", "issued_at", "expires_at", "used_at", "terms", "reward", "accepted_here", "used_here",
        "usable", "refusal",
    }  # fmt: skip
    assert (body["status"], body["usable"], body["refusal"], body["accepted_here"]) == ("issued", True, None, True)
    assert body["terms"]["name"] == "Coffee"
    text = response.content.decode()
    for secret in (member.member_number, member.user.first_name, member.user.last_name, member.user.email, "700"):
        assert secret not in text


def test_a_voucher_is_used_once(other_till, voucher):
    first = other_till.post(f"/api/v1/vouchers/{voucher.code}/use/", {}, format="json", HTTP_IDEMPOTENCY_KEY="u1")
    retry = other_till.post(f"/api/v1/vouchers/{voucher.code}/use/", {}, format="json", HTTP_IDEMPOTENCY_KEY="u1")
    second = other_till.post(f"/api/v1/vouchers/{voucher.code}/use/", {}, format="json", HTTP_IDEMPOTENCY_KEY="u2")

    assert (first.status_code, first.json()["status"], first.json()["used_here"]) == (200, "used", True)
    assert retry.json() == first.json()
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "already_used"
    assert second.json()["error"]["details"] == {"used_at": first.json()["used_at"].replace("Z", "+00:00")}
    assert other_till.get(f"/api/v1/vouchers/{voucher.code}/").json()["refusal"]["code"] == "already_used"


def test_a_code_typed_in_lower_case_with_spaces_is_found(other_till, voucher):
    typed = quote(voucher.code.lower().replace("-", " "))

    assert other_till.get(f"/api/v1/vouchers/{typed}/").json()["code"] == voucher.code


@pytest.mark.parametrize("code", ["ZZZZ-ZZZZ-ZZZZ-ZZZZ", "nope", quote("a\tb")])
def test_an_unknown_code_is_not_found(other_till, voucher, code):
    response = other_till.get(f"/api/v1/vouchers/{code}/")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_a_partner_that_does_not_accept_the_reward_sees_why_and_cannot_use_it(till, member, other_shop, other_till):
    assert redeem(other_till, member, RewardFactory(points_cost=500, partners=[other_shop])).status_code == 201
    code = Voucher.objects.get().code

    check = till.get(f"/api/v1/vouchers/{code}/").json()
    use = till.post(f"/api/v1/vouchers/{code}/use/", {}, format="json", HTTP_IDEMPOTENCY_KEY="u")

    assert (check["accepted_here"], check["usable"], check["refusal"]["code"]) == (False, False, "not_eligible")
    assert (use.status_code, use.json()["error"]["code"]) == (409, "not_eligible")
    assert (
        other_till.post(f"/api/v1/vouchers/{code}/use/", {}, format="json", HTTP_IDEMPOTENCY_KEY="u").status_code
        == 200
    )


def test_an_expired_voucher_reads_expired_before_the_task_runs(other_till, voucher):
    Voucher.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    check = other_till.get(f"/api/v1/vouchers/{voucher.code}/").json()
    use = other_till.post(f"/api/v1/vouchers/{voucher.code}/use/", {}, format="json", HTTP_IDEMPOTENCY_KEY="u")

    assert (check["status"], check["refusal"]["code"]) == ("expired", "voucher_not_usable")
    assert use.json()["error"] | {"message": ""} == {
        "code": "voucher_not_usable",
        "message": "",
        "fields": {},
        "details": {"status": "expired"},
    }
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.ISSUED


def test_names_come_in_the_requests_language(till, member):
    reward = RewardFactory(
        name="Free coffee", name_fr="Café offert", description="Any size", description_fr="Au choix"
    )
    redeem(till, member, reward)
    code = Voucher.objects.get().code

    listed = till.get("/api/v1/rewards/", HTTP_ACCEPT_LANGUAGE="fr").json()["results"][0]
    checked = till.get(f"/api/v1/vouchers/{code}/", HTTP_ACCEPT_LANGUAGE="fr").json()

    assert (listed["name"], listed["description"], checked["terms"]["name"]) == (
        "Café offert",
        "Au choix",
        "Café offert",
    )
    assert till.get("/api/v1/rewards/").json()["results"][0]["name"] == "Free coffee"
