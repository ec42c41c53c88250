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


def rewards_for_partner_catalog(
    *,
    partner,
    member=None,
    member_tier_id: int | None = None,
    tier_id: int | None = None,
    kind: str = "",
    accepted: bool | None = None,
    now: datetime | None = None,
) -> QuerySet[Reward]:
    """The catalog as the partner API lists it (``rewards_on_offer`` with units left), filtered.

    ``member``: only what that member can redeem now: a cost within their balance and a tier that may redeem it
    (``member_tier_id``, the member's tier; ``None``: none). ``tier_id``: rewards that tier may redeem.
    ``accepted``: only rewards ``partner`` accepts (true) or only those it does not (false).
    """
    rewards = rewards_on_offer(now=now).filter(Q(stock__isnull=True) | Q(stock__gt=0))
    if member is not None:
        rewards = rewards.filter(points_cost__lte=member.account.balance)
        rewards = rewards.filter(_for_tier(member_tier_id))
    if tier_id is not None:
        rewards = rewards.filter(_for_tier(tier_id))
    if kind:
        rewards = rewards.filter(kind=kind)
    if accepted is not None:
        named = Reward.partners.through.objects.filter(partner_id=partner.pk).values("reward_id")
        accepting = ~Q(pk__in=Reward.partners.through.objects.values("reward_id")) | Q(pk__in=named)
        rewards = rewards.filter(accepting) if accepted else rewards.exclude(accepting)
    return rewards


def _for_tier(tier_id: int | None) -> Q:
    """Rewards open to every tier, or to ``tier_id``."""
    open_to_all = ~Q(pk__in=Reward.tiers.through.objects.values("reward_id"))
    if tier_id is None:
        return open_to_all
    return open_to_all | Q(pk__in=Reward.tiers.through.objects.filter(tier_id=tier_id).values("reward_id"))


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
