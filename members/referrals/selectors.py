"""Reads of referrals: a code's member, and what the member's *Invite friends* page shows."""

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from loyalty.exceptions import InvalidReferralCode
from members.models import Member, MemberStatus

from . import rules
from .models import ReferralCode, ReferralStatus

MAX_MERGE_HOPS = 10


def referral_code_member(*, code: str) -> Member:
    """The member whose code this is (case, spaces and dashes ignored), or the member they were merged into.

    Raises ``InvalidReferralCode`` for an unknown code or a closed member's.
    """
    cleaned = rules.code_clean(code or "")
    found = ReferralCode.objects.select_related("member__user").filter(code=cleaned).first() if cleaned else None
    if found is None:
        raise InvalidReferralCode(field="referral_code")
    member = found.member
    for _hop in range(MAX_MERGE_HOPS):
        if member.merged_into_id is None:
            break
        member = Member.objects.select_related("user").get(pk=member.merged_into_id)
    if member.status == MemberStatus.CLOSED or member.merged_into_id is not None:
        raise InvalidReferralCode(field="referral_code")
    return member


def referral_summary(*, member: Member) -> dict:
    """How many friends joined and qualified with the member's code, and the points it earned them: one query."""
    counted = ~Q(status=ReferralStatus.DECLINED)
    return member.referrals_made.aggregate(
        joined=Count("pk", filter=counted & Q(referee__isnull=False)),
        qualified=Count("pk", filter=counted & Q(qualified_at__isnull=False)),
        points=Coalesce(Sum("referrer_entry__amount"), 0),
    )
