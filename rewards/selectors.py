"""Reads of rewards for the partner API and the portal: each runs a fixed number of queries."""

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from loyalty.exceptions import NotFound

from .models import Donation, Redemption, Reward, Voucher


def rewards_on_offer(*, now: datetime | None = None) -> QuerySet[Reward]:
    """Rewards a member may redeem now, whoever they are: active, within their dates, in stock (or unlimited);
    their tiers and accepting partners prefetched (two queries more, whatever the page holds)."""
    now = now or timezone.now()
    return (
        Reward.objects.filter(active=True)
        .filter(Q(available_from__isnull=True) | Q(available_from__lte=now))
        .filter(Q(available_until__isnull=True) | Q(available_until__gt=now))
        .prefetch_related("tiers", Prefetch("partners", to_attr="accepting_partners"))
    )


def rewards_in_stock(*, now: datetime | None = None) -> QuerySet[Reward]:
    """``rewards_on_offer`` with units left (or unlimited), cheapest first: what the partner API lists."""
    rewards = rewards_on_offer(now=now).filter(Q(stock__isnull=True) | Q(stock__gt=0))
    return rewards.select_related("charity").order_by("points_cost", "pk")


def rewards_affordable(rewards: QuerySet[Reward], *, member) -> QuerySet[Reward]:
    """Of ``rewards``, what ``member`` can redeem now: a cost within the balance, and a tier that may redeem it."""
    from members.tiers.models import MemberTier

    tier_id = MemberTier.objects.filter(member_id=member.pk).values_list("tier_id", flat=True).first()
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
    accepting = ~Q(pk__in=through.values("reward_id")) | Q(
        pk__in=through.filter(partner_id=partner.pk).values("reward_id")
    )
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
            Prefetch("vouchers", queryset=Voucher.objects.order_by("pk")),
            Prefetch("donations", queryset=Donation.objects.select_related("charity").order_by("pk")),
        )
    )


def voucher_get_by_code(*, code: str) -> Voucher:
    """The voucher a code typed or scanned at a till stands for (``services.voucher_code_candidates``), with its
    reward, member (and a merged member's survivor) and accounts joined. Raises ``NotFound``."""
    from .services import voucher_code_candidates

    candidates = voucher_code_candidates(code)
    voucher = (
        Voucher.objects.filter(code__in=candidates)
        .select_related("reward", "member__account", "member__merged_into__account")
        .first()
        if candidates
        else None
    )
    if voucher is None:
        raise NotFound("No voucher has this code.")
    return voucher
