"""CSV import and export of the catalog and of gift card pools, through the admin's own pages: the file is
posted to the import form, its rows previewed (or their errors listed), then the confirmation posted. Whenever
a row fails, nothing is written."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from loyalty.ledger import services as ledger
from rewards.models import Reward, RewardKind, VoucherCode
from rewards.resources import FILE_COLUMNS, REWARD_COLUMNS, VoucherCodeResource
from rewards.services import redemption_create
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import CharityFactory, RewardFactory
from tests.factories.tiers import TierFactory

pytestmark = pytest.mark.django_db
HEADER = ",".join(REWARD_COLUMNS)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def manager(client, staff_in):
    client.force_login(staff_in("Program manager"))
    return client


@pytest.fixture
def names(db):
    """The tiers, partners and charity that the files name."""
    return {
        "gold": TierFactory(name="Gold"),
        "platinum": TierFactory(name="Platinum"),
        "cafe": PartnerFactory(name="Demo café"),
        "bakery": PartnerFactory(name="Bakery, Lyon"),
        "charity": CharityFactory(name="Food bank"),
    }


def csv_file(*lines: str, name="file.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode(), content_type="text/csv")


def import_post(client, model: str, *lines: str, **fields):
    url = reverse(f"admin:rewards_{model}_import")
    return client.post(url, {"format": "0", "import_file": csv_file(*lines), **fields})


def confirm_post(client, model: str, preview):
    form = preview.context["confirm_form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    return client.post(reverse(f"admin:rewards_{model}_process_import"), data)


def invalid_rows(response) -> list[tuple[int, dict]]:
    return [(row.number, row.error_dict) for row in response.context["result"].invalid_rows]


# 26 columns: code, kind, name, name_fr, description, description_fr, points_cost, value_amount, percent,
# max_discount_amount, sku, charity, starts_at, validity_days, valid_until, tiers, partners, stock,
# limit_per_member, limit_period, available_from, available_until, cancel_window_hours, refund_on_expiry, active, image
COFFEE = (
    "coffee-free,free_product,A coffee,Un café,Any coffee.,Un café.,150,,,,COFFEE,,,30,,,Demo café,,1,week,,,0,0,1,"
)
FIVE_OFF = 'five-off,fixed_discount,5 EUR off,5 EUR de remise,,,500,5.00,,,,,,,2027-06-30,,"Demo café|Bakery, Lyon",100,,ever,2027-01-01 00:00,2027-07-01 00:00,24,1,1,'  # noqa: E501
TEN_PERCENT = "ten-percent,percent_discount,10% off,10 % de remise,,,800,,10,20.00,,,,14,,,,,,ever,,,0,0,1,"
GOLD_EARLY = "gold-early,exclusive,Early access,Avant-première,,,300,,,,WINTER,,,7,,Gold|Platinum,,,,ever,,,0,0,1,"
TASTING = "tasting,experience,Tasting evening,Soirée dégustation,,,1200,,,,,,2027-03-01 19:00,,,,,12,1,ever,,,48,0,1,"
TREES = "trees,donation,Plant trees,Planter des arbres,,,500,,,,,Food bank,,,,,,,,ever,,,0,0,1,"


def test_a_catalog_file_is_previewed_then_imported_with_every_field(manager, names):
    preview = import_post(manager, "reward", HEADER, COFFEE, FIVE_OFF, TEN_PERCENT, GOLD_EARLY, TASTING, TREES)

    assert preview.status_code == 200
    assert invalid_rows(preview) == []
    assert preview.context["confirm_form"] is not None
    assert not Reward.objects.exists()  # the preview wrote nothing

    done = confirm_post(manager, "reward", preview)

    assert done.status_code == 302
    assert done["Location"] == reverse("admin:rewards_reward_changelist")
    assert Reward.objects.count() == 6
    five = Reward.objects.get(code="five-off")
    assert (five.kind, five.name_fr, five.value_amount, five.stock, five.cancel_window_hours) == (
        RewardKind.FIXED_DISCOUNT,
        "5 EUR de remise",
        Decimal("5.00"),
        100,
        24,
    )
    assert (five.valid_until.isoformat(), five.refund_on_expiry, five.active) == ("2027-06-30", True, True)
    assert (five.available_from, five.available_until) == (
        datetime(2027, 1, 1, tzinfo=UTC),
        datetime(2027, 7, 1, tzinfo=UTC),
    )
    assert sorted(five.partners.values_list("name", flat=True)) == ["Bakery, Lyon", "Demo café"]
    coffee = Reward.objects.get(code="coffee-free")
    assert (coffee.sku, coffee.limit_per_member, coffee.limit_period, coffee.description_fr) == (
        "COFFEE",
        1,
        "week",
        "Un café.",
    )
    percent = Reward.objects.get(code="ten-percent")
    assert (percent.percent, percent.max_discount_amount) == (Decimal("10.00"), Decimal("20.00"))
    assert sorted(Reward.objects.get(code="gold-early").tiers.values_list("name", flat=True)) == ["Gold", "Platinum"]
    tasting = Reward.objects.get(code="tasting")
    assert (tasting.starts_at, tasting.stock) == (datetime(2027, 3, 1, 19, 0, tzinfo=UTC), 12)
    assert Reward.objects.get(code="trees").charity == names["charity"]


def test_a_row_with_a_known_code_updates_that_reward_and_moves_its_stock_by_the_difference(manager, names):
    five = RewardFactory(code="five-off", name="Old name", stock=40)
    member = MemberFactory()
    ledger.credit(member.account, 1000)
    preview = import_post(manager, "reward", HEADER, FIVE_OFF)  # stock 100: 60 more than when read
    redemption_create(member=member, reward=five, idempotency_key="meanwhile")  # 39 left

    confirm_post(manager, "reward", preview)

    five.refresh_from_db()
    assert (Reward.objects.count(), five.name, five.stock) == (1, "5 EUR off", 100)


def test_a_row_cannot_change_a_known_rewards_kind_as_the_admins_form_cannot(manager, names):
    known = RewardFactory(code="ten-percent", kind=RewardKind.FIXED_DISCOUNT, value_amount="5.00")

    preview = import_post(manager, "reward", HEADER, TEN_PERCENT)

    assert invalid_rows(preview) == [
        (1, {"kind": ["A reward's kind cannot change once it exists (its vouchers and pool were issued for it)."]})
    ]
    known.refresh_from_db()
    assert (known.kind, known.percent) == (RewardKind.FIXED_DISCOUNT, None)


def test_every_bad_row_is_listed_before_anything_is_written(manager, names):
    preview = import_post(
        manager,
        "reward",
        HEADER,
        COFFEE,
        TEN_PERCENT.replace(",10,20.00,", ",,20.00,"),
        GOLD_EARLY.replace("Gold|Platinum", "Gold|Diamond"),
        GOLD_EARLY.replace("gold-early", "no-tier").replace("Gold|Platinum", ""),
        TREES.replace("Food bank", "Nobody"),
        TASTING.replace("2027-03-01 19:00", "next friday"),
        FIVE_OFF.replace(",500,5.00,", ",,5.00,"),
        COFFEE.replace("free_product", "lottery").replace("coffee-free", "lottery"),
    )

    assert preview.status_code == 200
    assert preview.context.get("confirm_form") is None
    assert invalid_rows(preview) == [
        (2, {"percent": ["A reward of the kind “percentage discount” needs this field."]}),
        (3, {"tiers": ["Unknown tiers: Diamond."]}),
        (4, {"tiers": ["An exclusive offer or early access is for at least one tier."]}),
        (5, {"charity": ["No charity is named “Nobody”."]}),
        (6, {"starts_at": ["Value could not be parsed using defined formats."]}),
        (7, {"points_cost": ["This field cannot be null."]}),
        (8, {"kind": ["Value 'lottery' is not a valid choice."]}),
    ]
    html = preview.content.decode()
    assert "<li>Row 3, tiers: Unknown tiers: Diamond.</li>" in html
    assert "<li>Row 5, charity: No charity is named “Nobody”.</li>" in html
    assert not Reward.objects.exists()


def test_a_posted_confirmation_writes_nothing_if_a_row_fails_by_then(manager, names):
    preview = import_post(manager, "reward", HEADER, COFFEE, GOLD_EARLY)
    names["platinum"].name = "Platine"
    names["platinum"].save()

    done = confirm_post(manager, "reward", preview)

    assert done.status_code == 302
    assert done["Location"] == reverse("admin:rewards_reward_import")
    page = manager.get(done["Location"])
    assert messages_of(page) == [
        "The data changed since the preview and a row is no longer valid: nothing was imported."
    ]
    assert not Reward.objects.exists()


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        ((HEADER, COFFEE, COFFEE.replace("A coffee", "Another coffee")), "The code coffee-free is on 2 rows."),
        (
            ("kind,name,points_cost", "free_product,A coffee,150"),
            "The following fields are declared in 'import_id_fields' but are not present in the file headers: code",
        ),  # noqa: E501
    ],
    ids=["a code twice", "no code column"],
)
def test_a_file_that_cannot_be_read_as_a_catalog_is_refused_whole(manager, names, lines, error):
    preview = import_post(manager, "reward", *lines)

    assert preview.context.get("confirm_form") is None
    assert [str(row.error) for row in preview.context["result"].base_errors] == [error]
    assert not Reward.objects.exists()


def test_only_who_adds_and_changes_rewards_imports_them(client, staff_in, names):
    client.force_login(staff_in("Analyst"))

    assert client.get(reverse("admin:rewards_reward_import")).status_code == 403
    assert import_post(client, "reward", HEADER, COFFEE).status_code == 403
    assert client.post(reverse("admin:rewards_reward_process_import"), {}).status_code == 403
    assert not Reward.objects.exists()


# Export of the catalog


def export_post(client, model: str):
    return client.post(reverse(f"admin:rewards_{model}_export"), {"format": "0", "resource": "0"})


def test_everyone_who_reads_rewards_exports_the_catalog_as_it_imports(client, staff_in, names):
    five = RewardFactory(
        code="five-off",
        name="5 EUR off",
        name_fr="5 EUR de remise",
        stock=100,
        available_from=datetime(2027, 1, 1, tzinfo=UTC),
        image="rewards/five.png",
    )
    five.partners.set([names["cafe"], names["bakery"]])
    RewardFactory(code="trees", name="Trees", kind=RewardKind.DONATION, charity=names["charity"], value_amount=None)
    client.force_login(staff_in("Analyst"))

    response = export_post(client, "reward")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == ",".join(FILE_COLUMNS)
    assert lines[1] == (
        'five-off,fixed_discount,5 EUR off,5 EUR de remise,,,500,5.00,,,,,,,,,"Bakery, Lyon|Demo café",100,,ever,'
        "2027-01-01 00:00,,0,0,1,rewards/five.png,100"
    )
    assert lines[2] == "trees,donation,Trees,,,,500,,,,,Food bank,,,,,,,,ever,,,0,0,1,,"


def test_an_exported_catalog_imports_back_unchanged(manager, names):
    preview = import_post(manager, "reward", HEADER, COFFEE, FIVE_OFF, TEN_PERCENT, GOLD_EARLY, TASTING, TREES)
    confirm_post(manager, "reward", preview)
    before = list(Reward.objects.order_by("code").values())
    exported = export_post(manager, "reward").content.decode().splitlines()

    again = import_post(manager, "reward", *exported)
    assert invalid_rows(again) == []
    confirm_post(manager, "reward", again)

    after = list(Reward.objects.order_by("code").values())
    assert [{**row, "updated_at": None} for row in after] == [{**row, "updated_at": None} for row in before]


def test_an_old_export_imported_again_keeps_the_units_sold_since_and_applies_what_staff_changed(manager, names):
    five = RewardFactory(code="five-off", kind=RewardKind.FIXED_DISCOUNT, stock=40)
    RewardFactory(code="coffee", kind=RewardKind.FREE_PRODUCT, sku="COFFEE", stock=20)
    exported = export_post(manager, "reward").content.decode().splitlines()
    member = MemberFactory()
    ledger.credit(member.account, 10_000)
    for key in ("one", "two"):
        redemption_create(member=member, reward=five, idempotency_key=key)  # 38 left
    coffee_row = next(line for line in exported if line.startswith("coffee,"))
    edited = [line for line in exported if not line.startswith("coffee,")]
    edited.append(coffee_row.replace(",20,", ",25,", 1))  # staff add 5 coffees in the file

    confirm_post(manager, "reward", import_post(manager, "reward", *edited))

    assert dict(Reward.objects.values_list("code", "stock")) == {"five-off": 38, "coffee": 25}


def test_a_stock_when_exported_that_is_not_a_number_is_a_row_error(manager, names):
    RewardFactory(code="five-off", kind=RewardKind.FIXED_DISCOUNT, stock=40)
    header, row = export_post(manager, "reward").content.decode().splitlines()

    preview = import_post(manager, "reward", header, row.rsplit(",", 1)[0] + ",-3")

    assert invalid_rows(preview) == [
        (1, {"stock": ["stock_when_exported must be a whole number, or empty for unlimited."]})
    ]
    assert Reward.objects.get().stock == 40


def test_the_catalog_export_runs_a_fixed_number_of_queries(manager, names, django_assert_num_queries):
    def some_rewards(n):
        for _ in range(n):
            RewardFactory(tiers=[names["gold"]], partners=[names["cafe"]])
            RewardFactory(kind=RewardKind.DONATION, charity=names["charity"], value_amount=None)

    some_rewards(1)
    export_post(manager, "reward")
    # session, user, its permissions (own and groups'), the list's tier and partner filters (the export follows the
    # list's filters), the count (paged by 100), the rewards with their charities, their tiers, their partners
    with django_assert_num_queries(10):
        export_post(manager, "reward")
    some_rewards(5)
    with django_assert_num_queries(10):
        lines = export_post(manager, "reward").content.decode().splitlines()
    assert len(lines) == 13


# Gift card pools


@pytest.fixture
def card(db):
    return RewardFactory(code="gift-25", kind=RewardKind.GIFT_CARD, value_amount="25.00")


def test_a_pool_file_is_previewed_then_imported_into_the_chosen_gift_card(manager, card):
    form_page = manager.get(reverse("admin:rewards_vouchercode_import"), {"reward": card.pk})
    assert form_page.context["form"].initial["reward"] == str(card.pk)

    preview = import_post(
        manager, "vouchercode", "code", "GC-0001-AAAA", " gc-0002-bbbb ", "GC-0003-CCCC", reward=card.pk
    )
    assert invalid_rows(preview) == []
    assert not VoucherCode.objects.exists()
    done = confirm_post(manager, "vouchercode", preview)

    assert done.status_code == 302
    codes = VoucherCode.objects.order_by("code")
    assert list(codes.values_list("reward", "code", "taken_at")) == [
        (card.pk, "GC-0001-AAAA", None),
        (card.pk, "GC-0002-BBBB", None),
        (card.pk, "GC-0003-CCCC", None),
    ]
    assert all(code.imported_at is not None for code in codes)
    page = manager.get(reverse("admin:rewards_reward_change", args=[card.pk])).content.decode()
    assert "3 free, 0 taken." in page


def test_a_pool_code_twice_in_the_file_or_already_stored_is_a_row_error_and_nothing_is_written(manager, card):
    other = RewardFactory(kind=RewardKind.GIFT_CARD)
    VoucherCode.objects.create(reward=other, code="IN-OTHER-POOL", imported_at=timezone.now())
    member = MemberFactory()
    ledger.credit(member.account, 1000)
    voucher = redemption_create(member=member, reward=RewardFactory(), idempotency_key="v").vouchers[0]

    preview = import_post(
        manager,
        "vouchercode",
        "code",
        "FRESH-1",
        "twice-1",
        "TWICE-1",
        "in-other-pool",
        voucher.code.lower(),
        '" "',
        "X" * 65,
        reward=card.pk,
    )

    assert preview.context.get("confirm_form") is None
    assert invalid_rows(preview) == [
        (3, {"code": ["This code is in the file twice (first on row 2)."]}),
        (4, {"code": ["This code is already stored (in a pool or as a voucher's code)."]}),
        (5, {"code": ["This code is already stored (in a pool or as a voucher's code)."]}),
        (6, {"code": ["The code is empty."]}),
        (7, {"code": ["Ensure this value has at most 64 characters (it has 65)."]}),
    ]
    assert list(VoucherCode.objects.values_list("code", flat=True)) == ["IN-OTHER-POOL"]


def test_a_pool_code_a_till_could_not_send_in_the_api_path_is_a_row_error(manager, card):
    preview = import_post(manager, "vouchercode", "code", "GC-0001", "GC/0002", "GC\x000003", reward=card.pk)

    message = "A code cannot hold “/” nor control characters: a till could not send it."
    assert invalid_rows(preview) == [(2, {"code": [message]}), (3, {"code": [message]})]
    assert not VoucherCode.objects.exists()


def test_codes_go_only_into_a_gift_cards_pool(manager, card):
    fixed = RewardFactory()

    refused = import_post(manager, "vouchercode", "code", "C-1", reward=fixed.pk)
    preview = import_post(manager, "vouchercode", "code", "C-1", reward=card.pk)
    form = preview.context["confirm_form"]
    tampered = {name: form.initial.get(name, "") for name in form.fields} | {"reward": fixed.pk}
    confirmed = manager.post(reverse("admin:rewards_vouchercode_process_import"), tampered)

    assert list(refused.context["form"].errors) == ["reward"]
    assert confirmed.status_code == 200
    assert "reward" in confirmed.context["confirm_form"].errors
    assert not VoucherCode.objects.exists()
    resource = VoucherCodeResource(reward=fixed)
    dataset = tablib.Dataset(["C-1"], headers=["code"])
    result = resource.import_data(dataset, dry_run=True)
    assert [row.error_dict for row in result.invalid_rows] == [
        {"reward": ["Codes are imported into the pool of a gift card reward."]}
    ]


def test_a_pool_confirmation_writes_nothing_if_a_code_was_stored_since_the_preview(manager, card):
    preview = import_post(manager, "vouchercode", "code", "LATE-1", "LATE-2", reward=card.pk)
    VoucherCode.objects.create(
        reward=RewardFactory(kind=RewardKind.GIFT_CARD), code="LATE-2", imported_at=timezone.now()
    )

    done = confirm_post(manager, "vouchercode", preview)

    assert done["Location"] == reverse("admin:rewards_vouchercode_import")
    assert list(VoucherCode.objects.values_list("code", flat=True)) == ["LATE-2"]


def test_a_pool_file_without_a_code_column_is_refused(manager, card):
    preview = import_post(manager, "vouchercode", "number", "C-1", reward=card.pk)

    assert preview.context.get("confirm_form") is None
    assert [str(row.error) for row in preview.context["result"].base_errors] == ["The file needs a column “code”."]
    assert not VoucherCode.objects.exists()


@pytest.mark.parametrize(
    ("group", "status"), [("Program manager", 200), ("Analyst", 403), ("Support agent", 403)], ids=str
)
def test_only_the_pool_export_permission_reads_the_codes_in_full(client, staff_in, card, group, status):
    VoucherCode.objects.create(reward=card, code="GC-FULL-CODE-0001", imported_at=timezone.now())
    client.force_login(staff_in(group))

    page = client.get(reverse("admin:rewards_vouchercode_export"))
    response = export_post(client, "vouchercode")

    assert (page.status_code, response.status_code) == (status, status)
    if status == 200:
        lines = response.content.decode().splitlines()
        assert lines[0] == "reward,code,imported_at,taken_at"
        assert lines[1].startswith("gift-25,GC-FULL-CODE-0001,")


def test_only_who_adds_pool_codes_imports_them(client, staff_in, card):
    client.force_login(staff_in("Analyst"))

    assert import_post(client, "vouchercode", "code", "C-1", reward=card.pk).status_code == 403
    assert not VoucherCode.objects.exists()
