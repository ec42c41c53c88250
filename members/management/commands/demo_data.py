from datetime import timedelta
from decimal import Decimal

import tablib
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, CapPeriod, Purchase, RateOverride, Rule, RuleKind
from campaigns.services import PurchaseItem, purchase_record
from loyalty.clock import program_date, program_day_start
from loyalty.ledger import services as ledger
from loyalty.ledger.models import EntryKind
from loyalty.partners.models import Partner
from members.models import Member
from members.services import member_email_verify, member_enroll
from members.tiers.models import MemberTier, Tier
from members.tiers.services import member_tier_set
from rewards.models import Charity, Reward, RewardKind
from rewards.resources import VoucherCodeResource

DEMO_PASSWORD = "demo-password-1"
DEMO_TIERS = [
    # name, French name, rank, threshold (points earned in 12 months), colour, earning multiplier
    ("Silver", "Argent", 1, 500, "#9ca3af", "1.25"),
    ("Gold", "Or", 2, 2000, "#d4a017", "1.5"),
    ("Platinum", "Platine", 3, 5000, "#4b5563", "2"),
]
DEMO_GIFT_CODES = [f"DEMO-GIFT-{number:04d}" for number in range(1, 6)]  # a small pool, as if bought from the issuer
DEMO_BENEFITS = {
    "Silver": ("Free coffee on your birthday.", "Un café offert pour votre anniversaire."),
    "Gold": (
        "Double points on Mondays.\nA free pastry every month.",
        "Points doublés le lundi.\nUne viennoiserie offerte chaque mois.",
    ),
    "Platinum": (
        "Everything Gold gives, and a free drink every week.",
        "Tous les avantages Or, et une boisson offerte chaque semaine.",
    ),
}


class Command(BaseCommand):
    help = (
        "Load demo data: a staff login, tiers, members with points, campaigns and a rewards catalog. "
        "Safe to run again: nothing is doubled."
    )

    def handle(self, *args, **options):
        users = get_user_model().objects
        if not users.filter(username="admin").exists():
            users.create_superuser("admin", "admin@example.com", "admin")
        tiers = self._tiers()
        today = program_date()
        alice = self._member("alice@example.com", "Alice", "Martin")
        bob = self._member("bob@example.com", "Bob", "Durand")
        # Older history from the demo shop, which is its cause (every entry names one:
        # ledger_audit checks it). Idempotency keys make every write happen once, however often
        # this runs; the purchases below go through the earning engine.
        shop, _ = Partner.objects.get_or_create(name="Demo café")
        by_shop = {"actor": shop, "cause": shop}
        ledger.credit(alice.account, 500, memo="Welcome purchase", **by_shop, idempotency_key="demo:alice:1")
        ledger.credit(
            alice.account,
            200,
            EntryKind.BONUS,
            expires_on=today + timedelta(days=20),
            memo="Double points weekend",
            **by_shop,
            idempotency_key="demo:alice:2",
        )
        ledger.debit(alice.account, 150, memo="Free coffee", **by_shop, idempotency_key="demo:alice:3")
        ledger.credit(
            alice.account,
            120,
            available_at=timezone.now() + timedelta(days=7),
            memo="Purchase inside its return window",
            **by_shop,
            idempotency_key="demo:alice:4",
        )
        self._badges(tiers)
        self._campaigns()
        self._missions()
        self._catalog(tiers, shop)
        # Two purchases through the earning engine: their history lines open a breakdown.
        cafe = [PurchaseItem(sku="ESPRESSO-BEANS", category="coffee", quantity=Decimal(2), unit_price=Decimal("9.50"))]
        basket = [
            *cafe,
            PurchaseItem(sku="CROISSANT", category="bakery", quantity=Decimal(3), unit_price=Decimal("1.50")),
        ]
        for number, (external_id, items, amount) in enumerate(
            [("demo-till-1", cafe, Decimal("19.00")), ("demo-till-2", basket, Decimal("23.50"))]
        ):
            if Purchase.objects.filter(partner=shop, external_id=external_id).exists():
                continue  # posted by an earlier run, at its own time
            purchase_record(
                partner=shop,
                member_number=alice.member_number,
                external_id=external_id,
                occurred_at=timezone.now() - timedelta(hours=2 - number),
                amount=amount,
                currency=settings.LOYALTY_CURRENCY,
                items=items,
                channel="store",
            )
        ledger.credit(bob.account, 80, expires_on=today + timedelta(days=10), **by_shop, idempotency_key="demo:bob:1")
        ledger.adjust(bob.account, 25, reason="Apology for a late delivery", idempotency_key="demo:bob:2")
        # Bob shows a tier set by hand (a status match); he gets it again only once it has ended.
        if not MemberTier.objects.filter(member=bob, manual_until__gte=today).exists():
            member_tier_set(
                member=bob,
                tier=tiers["Gold"],
                until=today + timedelta(days=90),
                reason="Status match: Gold card of another coffee chain",
                actor=users.get(username="admin"),
            )
        self._leaderboard(alice, today)
        self.stdout.write(self.style.SUCCESS("Demo data is loaded."))

    def _badges(self, tiers: dict[str, Tier]) -> None:
        """Milestone badges (Alice earns the first purchase's with the purchases below)."""
        from missions.badges.models import Badge
        from missions.badges.services import badge_save

        purchases, years = "purchases", "years"
        for code, name, name_fr, icon, milestone in [
            ("first-buy", "First purchase", "Premier achat", "cart", {"milestone": purchases, "milestone_count": 1}),
            ("ten-purchases", "Regular", "Habitué", "star", {"milestone": purchases, "milestone_count": 10}),
            ("gold", "Gold member", "Membre Or", "crown", {"milestone": "tier", "milestone_tier": tiers["Gold"]}),
            ("one-year", "A year with us", "Un an avec nous", "calendar", {"milestone": years, "milestone_count": 1}),
        ]:  # fmt: skip
            if not Badge.objects.filter(code=code).exists():
                badge_save(badge=Badge(code=code, name=name, name_fr=name_fr, icon=icon, **milestone))

    def _leaderboard(self, alice: Member, today) -> None:
        """This month's points leaderboard, which Alice joined."""
        import calendar

        from missions.leaderboards.models import Leaderboard, LeaderboardEntry
        from missions.leaderboards.services import leaderboard_join, leaderboard_save

        start = today.replace(day=1)
        end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
        board = Leaderboard.objects.filter(name="Points of the month", starts_on=start).first()
        if board is None:
            board = leaderboard_save(
                leaderboard=Leaderboard(
                    name="Points of the month", name_fr="Les points du mois", starts_on=start, ends_on=end
                )
            )
        if not LeaderboardEntry.objects.filter(leaderboard=board, member=alice).exists():
            leaderboard_join(member=alice, leaderboard_id=board.pk, nickname="Alice M")

    def _campaigns(self) -> None:
        """A double-points offer on coffee, a basket bonus with a budget, a rate for bakery; staff edits are kept."""
        RateOverride.objects.get_or_create(category="bakery", partner=None, sku="", defaults={"points_per_unit": 2})
        coffee, created = Campaign.objects.get_or_create(
            name="Coffee lovers",
            defaults={
                "name_fr": "Amateurs de café",
                "description": "Double points on coffee beans.",
                "description_fr": "Points doublés sur le café en grains.",
                "status": CampaignStatus.ACTIVE,
                "member_cap": 500,
                "cap_period": CapPeriod.WEEK,
            },
        )
        if created:
            Rule.objects.create(campaign=coffee, kind=RuleKind.MULTIPLIER, multiplier=2, categories=["coffee"])
        basket, created = Campaign.objects.get_or_create(
            name="Big basket bonus",
            defaults={
                "name_fr": "Bonus grand panier",
                "description": "50 points on a basket of 20.00 or more.",
                "description_fr": "50 points pour un panier de 20,00 ou plus.",
                "status": CampaignStatus.ACTIVE,
                "budget": 10000,
            },
        )
        if created:
            Rule.objects.create(campaign=basket, kind=RuleKind.BASKET_BONUS, points=50, min_amount=20)

    def _missions(self) -> None:
        """A challenge Alice's demo purchases take two thirds of the way (before they are posted); staff edits kept."""
        from missions.models import Mission, MissionStatus, MissionStep, StepKind

        mission, created = Mission.objects.get_or_create(
            name="Coffee week",
            defaults={
                "name_fr": "Semaine du café",
                "description": "Three purchases, one of them coffee: 100 points.",
                "description_fr": "Trois achats, dont un de café : 100 points.",
                "status": MissionStatus.ACTIVE,
                "prize_points": 100,
            },
        )
        if created:
            MissionStep.objects.create(mission=mission, position=1, kind=StepKind.PURCHASES, count=3)
            MissionStep.objects.create(mission=mission, position=2, kind=StepKind.CATEGORY, category="coffee")

    def _catalog(self, tiers: dict[str, Tier], shop: Partner) -> None:
        """One reward of each kind, checked as the admin checks them; a gift card with five imported codes.
        A reward that exists (by code) is left as staff edited it."""
        charity, _ = Charity.objects.get_or_create(
            name="Food bank",
            defaults={"name_fr": "Banque alimentaire", "description": "Meals for families in need."},
        )
        tasting_day = program_date() + timedelta(days=30)
        tasting_at = program_day_start(tasting_day) + timedelta(hours=19)
        catalog = [
            ("coffee-free", RewardKind.FREE_PRODUCT, "A coffee", "Un café", 150,
             {"sku": "COFFEE", "validity_days": 30, "limit_per_member": 1, "limit_period": "week"}, [shop], []),
            ("five-off", RewardKind.FIXED_DISCOUNT, "5 EUR off", "5 EUR de remise", 500,
             {"value_amount": Decimal("5.00"), "validity_days": 60, "cancel_window_hours": 24}, [], []),
            ("ten-percent", RewardKind.PERCENT_DISCOUNT, "10% off (up to 20 EUR)", "10 % de remise (jusqu'à 20 EUR)",
             800, {"percent": Decimal(10), "max_discount_amount": Decimal("20.00"), "validity_days": 30}, [], []),
            ("gift-card-25", RewardKind.GIFT_CARD, "25 EUR gift card", "Carte cadeau de 25 EUR", 2500,
             {"value_amount": Decimal("25.00"), "validity_days": 365}, [], []),
            ("gold-early-access", RewardKind.EXCLUSIVE, "Winter blend, before everyone",
             "Le mélange d'hiver en avant-première", 300, {"sku": "WINTER-BLEND", "validity_days": 14}, [],
             [tiers["Gold"]]),
            ("tasting-evening", RewardKind.EXPERIENCE, "Coffee tasting evening", "Soirée dégustation de café", 1200,
             {"starts_at": tasting_at, "available_until": tasting_at, "stock": 12, "limit_per_member": 1,
              "valid_until": tasting_day, "cancel_window_hours": 48}, [], []),
            ("give-a-meal", RewardKind.DONATION, "Give a meal", "Offrir un repas", 200,
             {"charity": charity, "value_amount": Decimal("2.00")}, [], []),
        ]  # fmt: skip
        for code, kind, name, name_fr, cost, fields, partners, reward_tiers in catalog:
            if Reward.objects.filter(code=code).exists():
                continue
            reward = Reward(code=code, kind=kind, name=name, name_fr=name_fr, points_cost=cost, **fields)
            reward.full_clean()
            reward.clean_tiers(reward_tiers)
            reward.save()
            reward.partners.set(partners)
            reward.tiers.set(reward_tiers)
        card = Reward.objects.get(code="gift-card-25")
        if not card.pool_codes.exists():  # through the admin's own import: the same checks
            dataset = tablib.Dataset(*[(code,) for code in DEMO_GIFT_CODES], headers=["code"])
            result = VoucherCodeResource(reward=card).import_data(dataset, rollback_on_validation_errors=True)
            if result.has_errors() or result.has_validation_errors():
                raise CommandError("The demo gift card codes could not be imported.")

    def _tiers(self) -> dict[str, Tier]:
        """Silver, Gold and Platinum on the default policy (points in 12 months); staff edits are kept."""
        tiers = {}
        for name, name_fr, rank, threshold, colour, multiplier in DEMO_TIERS:
            benefits_en, benefits_fr = DEMO_BENEFITS[name]
            tiers[name], _ = Tier.objects.get_or_create(
                name=name,
                defaults={
                    "name_fr": name_fr,
                    "rank": rank,
                    "threshold": threshold,
                    "colour": colour,
                    "earning_multiplier": multiplier,
                    "benefits_en": benefits_en,
                    "benefits_fr": benefits_fr,
                },
            )
        return tiers

    def _member(self, email, first_name, last_name) -> Member:
        """A demo member who proved the e-mail already, so they log in at once."""
        existing = Member.objects.filter(user__email=email).select_related("account").first()
        member = existing or member_enroll(
            email=email, first_name=first_name, last_name=last_name, password=DEMO_PASSWORD
        )
        return member_email_verify(member=member)
