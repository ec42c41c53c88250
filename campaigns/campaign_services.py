"""Staff's writes on campaigns: their status, and their uploaded member list.

(Purchases, returns and the budgets are ``campaigns.services``; these are the admin's.)
A campaign is written as a **draft**; *publish* makes it active (it starts awarding within
its dates), *pause* stops it awarding for a while, *publish* again resumes it, and
*archive* ends it for good. Each change is one conditional UPDATE: two staff pressing two
buttons at once cannot both win from the same status.
"""

import secrets
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.exceptions import CampaignMembersUnknown, CampaignStatusRefused
from members.models import Member

from .models import Campaign, CampaignMember, CampaignStatus, EarningPolicy

# The statuses a campaign may move to each status from.
STATUS_FROM = {
    CampaignStatus.ACTIVE: [CampaignStatus.DRAFT, CampaignStatus.PAUSED],
    CampaignStatus.PAUSED: [CampaignStatus.ACTIVE],
    CampaignStatus.ARCHIVED: [CampaignStatus.DRAFT, CampaignStatus.ACTIVE, CampaignStatus.PAUSED],
}
MEMBER_LIST_BATCH = 2000


def earning_rules_changed() -> None:
    """Say that the earning rules changed: a new random ``EarningPolicy.rules_version`` (one UPDATE, in
    the caller's transaction), so that every process reads the rules again (``selectors``). The
    saves and deletes of the rules' models call it (``campaigns.signals``); a write without
    signals (``QuerySet.update``) calls it itself."""
    EarningPolicy.objects.filter(pk=1).update(rules_version=secrets.randbits(62) + 1)


def campaign_status_set(*, campaign: Campaign, status: str, now=None) -> Campaign:
    """Move ``campaign`` to ``status`` (active, paused or archived) from a status that allows it.

    Publishing needs at least one rule and an end still to come. One conditional UPDATE (no
    lock held), and the rules' new version (``earning_rules_changed``) beside it: raises
    ``CampaignStatusRefused`` if the campaign is not, or no longer, in a status it may move
    from, and changes nothing then.
    """
    now = now or timezone.now()
    allowed = STATUS_FROM.get(status)
    if allowed is None:
        raise CampaignStatusRefused(_("A campaign cannot be set to this status."), status=status)
    if status == CampaignStatus.ACTIVE:
        if not campaign.rules.exists():
            raise CampaignStatusRefused(_("%(name)s has no rule: add one before publishing.") % {"name": campaign})
        if campaign.ends_at is not None and campaign.ends_at <= now:
            raise CampaignStatusRefused(_("%(name)s has ended: change its end first.") % {"name": campaign})
    with transaction.atomic():
        updated = Campaign.objects.filter(pk=campaign.pk, status__in=allowed).update(status=status, updated_at=now)
        if updated:
            earning_rules_changed()
    if not updated:
        current = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
        raise CampaignStatusRefused(
            _("%(name)s is %(status)s: it cannot become %(to)s.")
            % {
                "name": campaign,
                "status": CampaignStatus(current).label.lower() if current else _("deleted"),
                "to": CampaignStatus(status).label.lower(),
            }
        )
    campaign.status = status
    campaign.updated_at = now
    return campaign


def campaign_members_set(*, campaign: Campaign, member_numbers: Iterable[str], replace: bool = True) -> int:
    """Make ``member_numbers`` (clean numbers) the campaign's member list, or add them to it (``replace=False``).

    All or nothing: raises ``CampaignMembersUnknown`` (``details["unknown"]``: the numbers, in
    their order) if any number is not a member's, and writes nothing then. Returns the size of
    the list after. Turns ``uses_member_list`` on.
    """
    numbers = list(dict.fromkeys(member_numbers))
    ids: dict[str, int] = {}
    for start in range(0, len(numbers), MEMBER_LIST_BATCH):
        batch = numbers[start : start + MEMBER_LIST_BATCH]
        ids.update(Member.objects.filter(member_number__in=batch).values_list("member_number", "pk"))
    unknown = [number for number in numbers if number not in ids]
    if unknown:
        raise CampaignMembersUnknown(unknown=unknown)
    with transaction.atomic():
        if replace:
            CampaignMember.objects.filter(campaign=campaign).delete()
        CampaignMember.objects.bulk_create(
            [CampaignMember(campaign=campaign, member_id=ids[number]) for number in numbers],
            batch_size=MEMBER_LIST_BATCH,
            ignore_conflicts=not replace,
        )
        if not campaign.uses_member_list:
            Campaign.objects.filter(pk=campaign.pk).update(uses_member_list=True)
            earning_rules_changed()
            campaign.uses_member_list = True
    return CampaignMember.objects.filter(campaign=campaign).count()
