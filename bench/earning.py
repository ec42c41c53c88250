"""What the purchase benchmarks share: members with valid numbers, a partner, ten active campaigns, baskets.

Of the ten campaigns, two match the baskets (a x2 multiplier on coffee and a basket bonus
over 15.00, under a budget that does not run out) and eight do not (other categories,
SKUs, channels, partners, weekdays or joining days): the engine must look at all ten and
the statements per purchase must not grow with the eight.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection

from members.numbers import luhn_check_digit

from . import db

# (sku, category, unit price): five items a basket.
ITEMS = (
    ("COF-250", "coffee", Decimal("6.40")),
    ("BRD-01", "bakery", Decimal("2.20")),
    ("MLK-1L", "dairy", Decimal("1.15")),
    ("CHO-70", "snacks", Decimal("2.85")),
    ("SOP-500", "household", Decimal("3.90")),
)


MATCHING = ("Double coffee", "Basket of 15")  # the two campaigns the baskets match


def member_number(member_id: int) -> str:
    body = f"2{member_id:08d}"  # the seed's own numbers start with 1: no clash while they change
    return body + luhn_check_digit(body)


def fix_member_numbers() -> None:
    """Give the seeded members (``seed.seed``: ``1`` and 9 digits, no check digit) numbers with a valid check digit."""
    ids = [row[0] for row in db.rows("SELECT id FROM members_member ORDER BY id")]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE members_member AS m SET member_number = v.number"
            " FROM unnest(%s::bigint[], %s::varchar[]) AS v(id, number) WHERE m.id = v.id",
            [ids, [member_number(member_id) for member_id in ids]],
        )


def basket(n: int) -> list[dict]:
    """The ``n``-th basket: the five items, one or two of each."""
    return [
        {"sku": sku, "category": category, "quantity": Decimal(1 + (n + k) % 2), "unit_price": price}
        for k, (sku, category, price) in enumerate(ITEMS)
    ]


def basket_amount(lines: list[dict]) -> Decimal:
    return sum((line["quantity"] * line["unit_price"] for line in lines), Decimal(0))


def reset_earning() -> None:
    """Empty the purchases and campaigns (their tables reference members, which the seed truncates)."""
    tables = (
        "campaigns_award, campaigns_returnline, campaigns_purchasereturn, campaigns_purchaseline,"
        " campaigns_purchase, campaigns_campaignusage, campaigns_campaignmember, campaigns_rule,"
        " campaigns_campaign_tiers, campaigns_campaign_partners, campaigns_campaign, campaigns_event,"
        " campaigns_rateoverride, tiers_qualifyingday, tiers_tierchange, tiers_membertier,"
        " partners_idempotentresponse, partners_presencecode, partners_partnerapikey, partners_partner"
    )
    db.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def seed_campaigns(partner, other_partner, now: datetime) -> list:
    """The ten active campaigns; returns them."""
    from campaigns.models import Campaign, CampaignStatus, Rule, RuleKind

    window = {
        "status": CampaignStatus.ACTIVE,
        "starts_at": now - timedelta(days=30),
        "ends_at": now + timedelta(days=60),
    }
    near = {
        (now + timedelta(days=offset)).weekday() for offset in (-1, 0, 1)
    }  # the baskets' days, wherever the program is
    other_weekdays = [day for day in range(7) if day not in near]
    first_bonus = {"kind": RuleKind.FIRST_PURCHASE_BONUS, "points": 50}
    double = {"kind": RuleKind.MULTIPLIER, "multiplier": 2}
    specs = [
        ("Double coffee", {}, {"kind": RuleKind.MULTIPLIER, "multiplier": 2, "categories": ["coffee"]}),
        (
            "Basket of 15",
            {"budget": 10**12},
            {"kind": RuleKind.BASKET_BONUS, "points": 5, "min_amount": 15, "priority": 1},
        ),
        ("Garden x3", {}, {"kind": RuleKind.MULTIPLIER, "multiplier": 3, "categories": ["garden"]}),
        ("TV bonus", {}, {"kind": RuleKind.QUANTITY_BONUS, "points": 500, "skus": ["TV-55"], "min_quantity": 1}),
        ("Web double", {"channels": ["web"]}, {"kind": RuleKind.MULTIPLIER, "multiplier": 2}),
        ("Other shop", {"partners": [other_partner]}, {"kind": RuleKind.BASKET_BONUS, "points": 100, "min_amount": 1}),
        ("Newcomers", {"joined_after": (now + timedelta(days=10)).date()}, first_bonus),
        ("Other days", {"weekdays": other_weekdays}, {"kind": RuleKind.MULTIPLIER, "multiplier": 2}),
        ("Electronics", {"member_cap": 1000, "cap_period": "week"}, {**double, "categories": ["electronics"]}),
        ("Toys", {"budget": 1000}, {"kind": RuleKind.MULTIPLIER, "multiplier": 4, "categories": ["toys"]}),
    ]  # fmt: skip
    campaigns = []
    for name, options, rule in specs:
        partners = options.pop("partners", [])
        campaign = Campaign.objects.create(name=name, **window, **options)
        if partners:
            campaign.partners.set(partners)
        Rule.objects.create(campaign=campaign, **rule)
        campaigns.append(campaign)
    return campaigns
