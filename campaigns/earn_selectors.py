"""The member portal's reads of earning: the ways this member can earn, and the breakdown of history entries.

Each runs a fixed number of queries whatever the number of campaigns, rules, event types or
entries (``tests/members/test_earn_page.py`` pins them).
"""

from dataclasses import dataclass
from datetime import datetime, time

from django.db.models import Exists, F, OuterRef, Prefetch, Q, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from loyalty.clock import program_date
from members.tiers.models import MemberTier, Tier

from .breakdown import breakdown_labels, localized
from .models import (
    Award,
    AwardSource,
    Campaign,
    CampaignMember,
    CampaignStatus,
    CampaignUsage,
    EventType,
    Rule,
)
from .services import cap_period_start


@dataclass(frozen=True)
class WayToEarn:
    """A campaign as a member reads it (the template turns it into words)."""

    campaign: Campaign
    name: str
    description: str
    rules: list[Rule]
    starts_at: datetime | None
    ends_at: datetime | None
    weekdays: list[int]
    start_time: time | None
    end_time: time | None
    partners: list[str]
    channels: list[str]
    member_cap: int | None
    cap_period: str
    cap_left: int | None  # what the member may still get this period, when capped
    budget: int | None
    upcoming: bool


@dataclass(frozen=True)
class EventWay:
    event_type: EventType
    name: str
    extra_points: int  # what live campaigns add (their event points rules for this type)


def _audience(member, tier_id: int | None) -> Q:
    """The campaigns whose audience includes ``member`` (tier, join day, list): a filter, no query."""
    joined_on = program_date(member.joined_at)
    tiers = Campaign.tiers.through.objects.filter(campaign_id=OuterRef("pk"))
    in_tier = ~Exists(tiers) | Exists(tiers.filter(tier_id=tier_id))
    listed = Exists(CampaignMember.objects.filter(campaign_id=OuterRef("pk"), member_id=member.pk))
    return (
        in_tier
        & (Q(joined_after__isnull=True) | Q(joined_after__lte=joined_on))
        & (Q(joined_before__isnull=True) | Q(joined_before__gt=joined_on))
        & (Q(uses_member_list=False) | listed)
    )


def ways_to_earn_get(*, member, now: datetime) -> tuple[list[WayToEarn], list[EventWay]]:
    """The campaigns running now or later that apply to ``member`` (budget not spent), and the active event
    types with points; in the reader's language. Six queries: the member's tier, the campaigns,
    their rules, their partners, the member's usage of their caps, the event types."""
    tier_id = MemberTier.objects.filter(member_id=member.pk).values_list("tier_id", flat=True).first()
    rules = Prefetch("rules", queryset=Rule.objects.select_related("event_type").order_by("-priority", "pk"))
    campaigns = list(
        Campaign.objects.filter(status=CampaignStatus.ACTIVE)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .filter(Q(budget__isnull=True) | Q(points_awarded__lt=F("budget")))
        .filter(Exists(Rule.objects.filter(campaign_id=OuterRef("pk"))))
        .filter(_audience(member, tier_id))
        .prefetch_related(rules, "partners")
        .order_by(F("ends_at").asc(nulls_last=True), "pk")
    )
    usage = CampaignUsage.objects.filter(member_id=member.pk, campaign__status=CampaignStatus.ACTIVE)
    used = {
        (campaign_id, start): points
        for campaign_id, start, points in usage.values_list("campaign_id", "period_start", "points")
    }
    ways = []
    event_extra: dict[int, int] = {}
    for campaign in campaigns:
        rules_of = list(campaign.rules.all())
        upcoming = campaign.starts_at is not None and campaign.starts_at > now
        for rule in rules_of:
            if rule.event_type_id and not upcoming:
                event_extra[rule.event_type_id] = event_extra.get(rule.event_type_id, 0) + rule.points
        cap_left = None
        if campaign.member_cap:
            start = cap_period_start(campaign.cap_period, now)
            cap_left = max(campaign.member_cap - used.get((campaign.pk, start), 0), 0)
        ways.append(
            WayToEarn(
                campaign=campaign,
                name=localized(campaign.name, campaign.name_fr),
                description=localized(campaign.description, campaign.description_fr),
                rules=rules_of,
                starts_at=campaign.starts_at,
                ends_at=campaign.ends_at,
                weekdays=sorted(campaign.weekdays or []),
                start_time=campaign.start_time,
                end_time=campaign.end_time,
                partners=[partner.name for partner in campaign.partners.all()],
                channels=list(campaign.channels or []),
                member_cap=campaign.member_cap,
                cap_period=campaign.cap_period,
                cap_left=cap_left,
                budget=campaign.budget,
                upcoming=upcoming,
            )
        )
    types = EventType.objects.filter(active=True).filter(Q(points__gt=0) | Q(pk__in=list(event_extra)))
    events = [
        EventWay(
            event_type=event_type,
            name=localized(event_type.name, event_type.name_fr),
            extra_points=event_extra.get(event_type.pk, 0),
        )
        for event_type in types.order_by("name")
    ]
    return ways, events


def entry_breakdowns_get(*, entry_ids: list[int]) -> dict[int, list[str]]:
    """For each entry of a purchase or an event among ``entry_ids``, its breakdown in the reader's language
    ("Base: 120", "Double points weekend: 120", "Gold multiplier: 24"), net of returns. One query
    (the awards, their campaigns' names, their tiers' French names), none without entries."""
    if not entry_ids:
        return {}
    tier_fr = Tier.objects.filter(name=OuterRef("tier_key")).values("name_fr")[:1]
    awards = (
        Award.objects.filter(Q(purchase__entry_id__in=entry_ids) | Q(event__entry_id__in=entry_ids))
        .annotate(entry_key=Coalesce("purchase__entry_id", "event__entry_id"), tier_key=KT("params__tier"))
        .annotate(tier_name_fr=Subquery(tier_fr))
        .select_related("campaign")
        .order_by("pk")
    )
    per_entry: dict[int, list[Award]] = {}
    campaign_names: dict[int, tuple[str, str]] = {}
    tier_names: dict[str, str] = {}
    for award in awards:
        per_entry.setdefault(award.entry_key, []).append(award)
        if award.campaign_id is not None:
            campaign_names[award.campaign_id] = (award.campaign.name, award.campaign.name_fr)
        if award.source == AwardSource.TIER and award.tier_name_fr:
            tier_names[award.params.get("tier", "")] = award.tier_name_fr
    return {
        entry_id: breakdown_labels(rows, campaign_names=campaign_names, tier_names=tier_names)
        for entry_id, rows in per_entry.items()
    }
