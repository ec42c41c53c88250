"""The only place referral rows are locked, in primary-key order."""

from collections.abc import Iterable

from .models import Referral


def referral_for_update(referral_id: int) -> Referral:
    return Referral.objects.select_for_update(of=("self",)).select_related("referrer", "referee").get(pk=referral_id)


def referrals_for_update(referral_ids: Iterable[int]) -> list[Referral]:
    return list(Referral.objects.filter(pk__in=list(referral_ids)).order_by("pk").select_for_update())
