"""Reads of rewards. Each runs a fixed number of queries whatever the catalog or the member's vouchers hold."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from loyalty.clock import program_date
from loyalty.exceptions import NotFound
from members.tiers.models import MemberTier, Tier

from . import eligibility
from .models import Charity, Donation, LimitPeriod, Redemption, Reward, Voucher, VoucherCode, VoucherStatus

# --- The portal: the catalog as one member sees it, and the member's own vouchers -----------------------------


@dataclass(frozen=True)
class CatalogItem:
    """One reward as the member sees it now.

    ``missing`` is the points still to earn (0 when affordable) and ``progress`` the balance as a
    share of the cost, 0 to 100. ``refusal`` is ``eligibility.reward_refusal``'s answer (the same
    rule the redemption service applies): a reward of other tiers is listed, locked, with
    ``tiers`` the ones that may redeem it. ``units_left`` is ``None`` when unlimited; a gift card
    whose pool of codes is empty is sold out too.
    """

    reward: Reward
    affordable: bool
    missing: int
    progress: int
    refusal: eligibility.Refusal | None
    tiers: list[Tier]
    units_left: int | None

    @property
    def locked(self) -> bool:
        return self.refusal is not None

    @property
    def sold_out(self) -> bool:
        return self.units_left == 0

    @property
    def available(self) -> bool:
        """Affordable, for the member's tier, and in stock: what *affordable now* lists."""
        return self.affordable and not self.locked and not self.sold_out


def member_tier_id_get(*, member) -> int | None:
    """The id of the member's current tier, or ``None``."""
    return MemberTier.objects.filter(member_id=member.pk).values_list("tier_id", flat=True).first()


def _offered(now: datetime) -> QuerySet[Reward]:
    """Rewards offered at ``now``: active, within their availability dates, their vouchers' fixed last day not past
    (``eligibility.reward_refusal``'s rules)."""
    return Reward.objects.filter(
        Q(available_from__isnull=True) | Q(available_from__lte=now),
        Q(available_until__isnull=True) | Q(available_until__gt=now),
        Q(valid_until__isnull=True) | Q(valid_until__gte=program_date(now)),
        active=True,
    )


def _with_pool(rewards: QuerySet[Reward]) -> QuerySet[Reward]:
    """Add ``pool_free`` (free codes of the reward's pool) and ``has_pool``, in the same query."""
    codes = VoucherCode.objects.filter(reward_id=OuterRef("pk"))
    free = codes.filter(taken_at__isnull=True).order_by().values("reward_id").annotate(n=Count("pk")).values("n")
    return rewards.annotate(
        has_pool=Exists(codes), pool_free=Coalesce(Subquery(free, output_field=IntegerField()), Value(0))
    )


def units_in_limit_period(*, member_id: int, now: datetime, donations: bool = False) -> QuerySet:
    """The member's units (vouchers, or donations) of any reward redeemed within that reward's limit period; a
    cancelled voucher, or one won as a prize, does not count. The one definition the redemption's limit check
    and the catalog share."""
    model = Donation if donations else Voucher
    window = Q(redemption__reward__limit_period=LimitPeriod.EVER)
    for period in (LimitPeriod.DAY, LimitPeriod.WEEK, LimitPeriod.MONTH, LimitPeriod.YEAR):
        since = eligibility.limit_period_start(period, now)
        window |= Q(redemption__reward__limit_period=period, redemption__created_at__gte=since)
    units = model.objects.filter(window, member_id=member_id)
    # A voucher won as a mission's prize does not use up what the member may redeem.
    return units if donations else units.exclude(status=VoucherStatus.CANCELLED).filter(mission_completion=None)


def _with_member_units(rewards: QuerySet[Reward], *, member, now: datetime) -> QuerySet[Reward]:
    """Add ``member_units``: the member's units of each reward in its limit period, in the same query."""

    def count(donations: bool):
        units = units_in_limit_period(member_id=member.pk, now=now, donations=donations)
        per_reward = units.filter(redemption__reward_id=OuterRef("pk")).order_by().values("redemption__reward_id")
        counted = per_reward.annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

    return rewards.annotate(member_units=count(False) + count(True))


def _catalog_item(reward: Reward, *, balance: int, tier_id: int | None, now: datetime) -> CatalogItem:
    tiers = list(reward.tiers.all())  # prefetched, ordered by rank
    refusal = eligibility.reward_refusal(
        reward,
        tier_id=tier_id,
        tier_ids=frozenset(tier.pk for tier in tiers),
        partner_ids=frozenset(),  # the portal redeems without a partner: no partner rule applies
        partner_id=None,
        now=now,
    ) or eligibility.limit_refusal(reward, used=reward.member_units)
    units_left = reward.stock
    if reward.has_pool:
        units_left = reward.pool_free if units_left is None else min(units_left, reward.pool_free)
    missing = max(reward.points_cost - balance, 0)
    return CatalogItem(
        reward=reward,
        affordable=missing == 0,
        missing=missing,
        progress=min(100, max(balance, 0) * 100 // reward.points_cost),
        refusal=refusal,
        tiers=tiers,
        units_left=units_left,
    )


def _tiers_prefetch() -> Prefetch:
    return Prefetch("tiers", queryset=Tier.objects.order_by("rank"))


def reward_catalog_get(
    *, member, affordable: bool = False, kind: str = "", now: datetime | None = None
) -> list[CatalogItem]:
    """The rewards offered now as ``member`` sees them, cheapest first; three queries whatever their number.

    The member's balance comes with the member (``member_for_user`` joins the account) and the
    tier is read once. ``affordable`` keeps only what the member can redeem now (affordable, for
    their tier, in stock); ``kind`` one ``RewardKind``.
    """
    now = now or timezone.now()
    balance, tier_id = member.account.balance, member_tier_id_get(member=member)
    rewards = _with_member_units(_with_pool(_offered(now)), member=member, now=now)
    rewards = rewards.prefetch_related(_tiers_prefetch()).order_by("points_cost", "name", "pk")
    if kind:
        rewards = rewards.filter(kind=kind)
    if affordable:
        rewards = rewards.filter(points_cost__lte=balance)
    items = [_catalog_item(reward, balance=balance, tier_id=tier_id, now=now) for reward in rewards]
    return [item for item in items if item.available] if affordable else items


def reward_for_member_get(*, member, code: str, now: datetime | None = None) -> CatalogItem | None:
    """One reward offered now, by its code, as ``member`` sees it, with the partners that accept it
    (``reward.partners.all()``); ``None`` if no such reward is offered. Four queries."""
    now = now or timezone.now()
    rewards = _with_member_units(_with_pool(_offered(now)), member=member, now=now)
    reward = rewards.prefetch_related(_tiers_prefetch(), "partners").filter(code=code).first()
    if reward is None:
        return None
    return _catalog_item(reward, balance=member.account.balance, tier_id=member_tier_id_get(member=member), now=now)


def rewards_affordable_count(*, member, now: datetime | None = None) -> int:
    """How many rewards ``member`` can redeem now (affordable, for their tier, in stock: what the catalog's
    *affordable now* lists), in one query: the dashboard's figure."""
    now = now or timezone.now()
    tier = MemberTier.objects.filter(member_id=member.pk).values("tier_id")
    codes = VoucherCode.objects.filter(reward_id=OuterRef("pk"))
    return (
        _offered(now)
        .filter(points_cost__lte=member.account.balance)
        .filter(Q(stock__isnull=True) | Q(stock__gt=0))
        .filter(~Exists(codes) | Exists(codes.filter(taken_at__isnull=True)))
        .filter(Q(tiers__isnull=True) | Q(tiers__in=Subquery(tier)))
        .values("pk")
        .distinct()
        .count()
    )


def member_vouchers(*, member) -> QuerySet[Voucher]:
    """The member's vouchers, newest first, with their reward and redemption joined (paginate it)."""
    return (
        Voucher.objects.filter(member_id=member.pk)
        .select_related("reward", "redemption")
        .order_by("-issued_at", "-id")
    )


def member_voucher_get(*, member, voucher_id: int) -> Voucher | None:
    """One of the member's own vouchers, its reward and redemption joined; ``None`` for any other id
    (another member's voucher is not found, never forbidden)."""
    return member_vouchers(member=member).filter(pk=voucher_id).first()


def member_donations_by_charity(*, member) -> list[dict]:
    """What the member gave each charity: rows of ``charity__name``, ``charity__name_fr``, ``currency``,
    ``points`` and ``amount``, by name. One query."""
    rows = (
        Donation.objects.filter(member_id=member.pk)
        .values("charity__name", "charity__name_fr", "currency")
        .annotate(points=Sum("points"), amount=Sum("amount"))
        .order_by("charity__name", "currency")
    )
    return list(rows)


@dataclass(frozen=True)
class VoucherState:
    """What the member may do with a voucher now: its status as shown (an issued voucher past its expiry
    reads expired before the task runs) and until when it can be cancelled (``None``: it cannot)."""

    status: str
    cancel_until: datetime | None

    @property
    def label(self) -> str:
        return VoucherStatus(self.status).label


def voucher_state(voucher: Voucher, *, now: datetime | None = None) -> VoucherState:
    """Pure: reads the voucher, its reward and its redemption (joined by ``member_vouchers``)."""
    now = now or timezone.now()
    status = voucher.status
    if status == VoucherStatus.ISSUED and voucher.expires_at is not None and voucher.expires_at <= now:
        status = VoucherStatus.EXPIRED
    window = voucher.reward.cancel_window_hours
    cancel_until = voucher.redemption.created_at + timedelta(hours=window) if window else None
    if status != VoucherStatus.ISSUED or cancel_until is None or now >= cancel_until:
        cancel_until = None
    return VoucherState(status=status, cancel_until=cancel_until)


# --- Staff: the catalog's and the charities' figures in the admin ----------------------------------------------


def _count_per_reward(queryset: QuerySet, reward_path: str) -> Subquery:
    counted = queryset.filter(**{reward_path: OuterRef("pk")}).order_by().values(reward_path)
    return Subquery(counted.annotate(units=Count("pk")).values("units"), output_field=IntegerField())


def rewards_with_redeemed(queryset: QuerySet[Reward]) -> QuerySet[Reward]:
    """The rewards with ``redeemed_units``: the units redeemed and not cancelled (vouchers, and donations)."""
    vouchers = _count_per_reward(Voucher.objects.exclude(status=VoucherStatus.CANCELLED), "reward")
    donations = _count_per_reward(Donation.objects.all(), "redemption__reward")
    return queryset.annotate(redeemed_units=Coalesce(vouchers, 0) + Coalesce(donations, 0))


def pool_counts(*, reward: Reward) -> dict[str, int]:
    """How many codes of the reward's pool are free and taken (one query)."""
    return VoucherCode.objects.filter(reward=reward).aggregate(
        free=Count("pk", filter=Q(taken_at__isnull=True)), taken=Count("pk", filter=Q(taken_at__isnull=False))
    )


def charities_with_totals(queryset: QuerySet[Charity]) -> QuerySet[Charity]:
    """The charities with what members gave them: ``donated_points``, ``donated_amount`` (the program's
    currency) and ``donation_count``, grouped in one query."""
    return queryset.annotate(
        donated_points=Coalesce(Sum("donations__points"), Value(0), output_field=IntegerField()),
        donated_amount=Coalesce(
            Sum("donations__amount"),
            Value(Decimal("0.00")),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        ),
        donation_count=Count("donations"),
    )


# --- The partner API: the catalog as a till lists it, a partner's redemptions, a voucher by the code shown ---------


def rewards_on_offer(*, now: datetime | None = None) -> QuerySet[Reward]:
    """Rewards offered now (active, within their dates) with their tiers (by rank) and accepting partners
    (``accepting_partners``) prefetched: two queries more, whatever the page holds."""
    return _offered(now or timezone.now()).prefetch_related(
        _tiers_prefetch(), Prefetch("partners", to_attr="accepting_partners")
    )


def rewards_in_stock(*, now: datetime | None = None) -> QuerySet[Reward]:
    """``rewards_on_offer`` with units left (or unlimited; a gift card with a free code in its pool), cheapest first:
    what the partner API lists."""
    rewards = _with_pool(rewards_on_offer(now=now)).filter(Q(stock__isnull=True) | Q(stock__gt=0))
    rewards = rewards.filter(Q(has_pool=False) | Q(pool_free__gt=0))
    return rewards.select_related("charity").order_by("points_cost", "pk")


def rewards_affordable(rewards: QuerySet[Reward], *, member) -> QuerySet[Reward]:
    """Of ``rewards``, what ``member`` can redeem now: a cost within the balance, and a tier that may redeem it."""
    tier_id = member_tier_id_get(member=member)
    return rewards_for_tier(rewards.filter(points_cost__lte=member.account.balance), tier_id=tier_id)


def rewards_for_tier(rewards: QuerySet[Reward], *, tier_id: int | None) -> QuerySet[Reward]:
    """Of ``rewards``, those open to every tier or to ``tier_id`` (``None``: a member without a tier)."""
    through = Reward.tiers.through.objects
    open_to_all = ~Q(pk__in=through.values("reward_id"))
    if tier_id is None:
        return rewards.filter(open_to_all)
    return rewards.filter(open_to_all | Q(pk__in=through.filter(tier_id=tier_id).values("reward_id")))


def rewards_accepted_by(rewards: QuerySet[Reward], *, partner, accepted: bool = True) -> QuerySet[Reward]:
    """Of ``rewards``, those whose vouchers ``partner`` accepts (no partner named: every one), or with
    ``accepted=False`` those it does not."""
    through = Reward.partners.through.objects
    named = through.filter(partner_id=partner.pk).values("reward_id")
    accepting = ~Q(pk__in=through.values("reward_id")) | Q(pk__in=named)
    return rewards.filter(accepting) if accepted else rewards.exclude(accepting)


def reward_accepts(reward: Reward, partner) -> bool:
    """Whether ``partner`` accepts ``reward``'s vouchers; reads the prefetched ``accepting_partners``."""
    return not reward.accepting_partners or any(p.pk == partner.pk for p in reward.accepting_partners)


def redemptions_for_partner(*, partner) -> QuerySet[Redemption]:
    """The redemptions ``partner`` made, with what their output needs joined and prefetched (vouchers, donations)."""
    return (
        Redemption.objects.filter(partner=partner)
        .select_related("member__account", "reward")
        .prefetch_related(
            Prefetch("vouchers", queryset=Voucher.objects.select_related("reward").order_by("pk")),
            Prefetch("donations", queryset=Donation.objects.select_related("charity").order_by("pk")),
        )
    )


def voucher_get_by_code(*, code: str) -> Voucher:
    """The voucher a code typed or scanned at a till stands for (``services.voucher_code_candidates``), with its
    reward, redemption, member (and a merged member's survivor) and accounts joined. Raises ``NotFound``."""
    from .services import voucher_code_candidates

    candidates = voucher_code_candidates(code)
    voucher = (
        Voucher.objects.filter(code__in=candidates)
        .select_related("reward", "redemption", "member__account", "member__merged_into__account")
        .first()
        if candidates
        else None
    )
    if voucher is None:
        raise NotFound("No voucher has this code.")
    return voucher
