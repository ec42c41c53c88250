"""What a member sees of badges."""

from dataclasses import dataclass

from django.db.models import OuterRef, Q, Subquery

from .models import Badge, MemberBadge


@dataclass(frozen=True)
class MemberBadges:
    earned: list[Badge]  # each with ``earned_at``, the latest first
    to_earn: list[Badge]  # active badges not earned yet, in the order staff named them


def member_badges_get(*, member) -> MemberBadges:
    """The member's badges (even one made inactive since) and the active ones still to earn. One query."""
    held = MemberBadge.objects.filter(member_id=member.pk, badge=OuterRef("pk"))
    badges = (
        Badge.objects.select_related("milestone_tier")
        .annotate(earned_at=Subquery(held.values("earned_at")[:1]))
        .filter(Q(active=True) | Q(earned_at__isnull=False))
        .order_by("name", "pk")
    )
    earned, to_earn = [], []
    for badge in badges:
        (earned if badge.earned_at is not None else to_earn).append(badge)
    earned.sort(key=lambda badge: (badge.earned_at, badge.pk), reverse=True)
    return MemberBadges(earned=earned, to_earn=to_earn)
