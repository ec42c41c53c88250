"""Reads of the earning rules, turned into the engine's dataclasses (``campaigns/engine.py``).

Each runs a fixed number of queries, whatever the number of campaigns, rules or overrides:
the purchase path pins its statements (``tests/api/test_transactions.py``).
"""

from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet

from loyalty.clock import program_date

from . import engine
from .models import (
    Award,
    Campaign,
    CampaignStatus,
    EarningPolicy,
    Outcome,
    Purchase,
    RateOverride,
    Rule,
)


def earning_policy_get() -> EarningPolicy:
    """The program's earning policy: row 1, or the model's defaults if the row is missing (one query)."""
    policy = EarningPolicy.objects.filter(pk=1).first()
    if policy is None:
        policy = EarningPolicy(pk=1)
        for name in ("points_per_unit", "amount_tolerance"):  # the defaults as the database would return them
            setattr(policy, name, EarningPolicy._meta.get_field(name).to_python(getattr(policy, name)))
    return policy


# What this process keeps of the earning rules, read under one ``EarningPolicy.rules_version``:
# ``{"version": n, "overrides": (...), "campaigns": (...)}`` (``campaigns.signals`` says when it changes).
_kept: dict = {}


def kept_rules(policy: EarningPolicy | None, name: str, read):
    """``read()``, or what it returned before while ``policy`` (the stored row, just read) still says the
    rules' version it was read under. Without a stored policy row, always ``read()``."""
    if policy is None or policy._state.adding:
        return read()
    if _kept.get("version") != policy.rules_version:
        _kept.clear()
        _kept["version"] = policy.rules_version
    if name not in _kept:
        _kept[name] = read()
    return _kept[name]


def earning_program_get(*, policy: EarningPolicy | None = None) -> engine.Program:
    """The base rate, the program's time zone and the active rate overrides, as the engine reads them.

    Two queries: the policy row and the active overrides; with ``policy`` given (read just
    before), none while the rules' version it says is the one the overrides were read under.
    """
    overrides = kept_rules(policy, "overrides", _overrides_read)
    policy = policy or earning_policy_get()
    return engine.Program(points_per_unit=policy.points_per_unit, time_zone=settings.TIME_ZONE, overrides=overrides)


def _overrides_read() -> tuple[engine.RateOverride, ...]:
    return tuple(
        engine.RateOverride(
            id=row.pk,
            points_per_unit=row.points_per_unit,
            partner_id=row.partner_id,
            category=row.category,
            sku=row.sku,
        )
        for row in RateOverride.objects.filter(active=True).order_by("pk")
    )


def campaigns_live_get(*, at, policy: EarningPolicy | None = None) -> tuple[engine.Campaign, ...]:
    """The active campaigns whose dates include ``at``, with their rules, tiers and partners, in id order.

    Four queries whatever their number (the campaigns, their rules, their tiers, their
    partners); with ``policy`` given (read just before), none while the rules' version it says
    is the one the active campaigns were read under (their dates are then checked here). Days
    of week, hours, audience and channels are the engine's to check
    (``engine.campaign_applies``); a campaign with a member list comes with
    ``member_in_list=False`` until ``services.campaigns_prepare`` looks the member up, and
    ``member_cap_used``/``budget_left`` are filled there too, under the locks (the
    ``budget_left`` given here may be old).
    """
    if policy is None:
        return _campaigns_read(
            Campaign.objects.filter(status=CampaignStatus.ACTIVE).filter(
                Q(starts_at__isnull=True) | Q(starts_at__lte=at), Q(ends_at__isnull=True) | Q(ends_at__gt=at)
            )
        )
    active = kept_rules(
        policy, "campaigns", lambda: _campaigns_read(Campaign.objects.filter(status=CampaignStatus.ACTIVE))
    )
    return tuple(
        campaign
        for campaign in active
        if (campaign.starts_at is None or campaign.starts_at <= at)
        and (campaign.ends_at is None or campaign.ends_at > at)
    )


def _campaigns_read(queryset) -> tuple[engine.Campaign, ...]:
    rows = list(queryset.order_by("pk"))
    ids = [row.pk for row in rows]
    rules: dict[int, list[engine.Rule]] = {}
    for rule in Rule.objects.filter(campaign_id__in=ids).select_related("event_type").order_by("-priority", "pk"):
        rules.setdefault(rule.campaign_id, []).append(rule_for_engine(rule))
    tiers = _links(Campaign.tiers.through, "tier_id", ids)
    partners = _links(Campaign.partners.through, "partner_id", ids)
    return tuple(
        campaign_for_engine(row, rules=rules[row.pk], tier_ids=tiers.get(row.pk), partner_ids=partners.get(row.pk))
        for row in rows
        if row.pk in rules
    )


def campaign_for_engine(
    row: Campaign, *, rules, tier_ids=None, partner_ids=None, member_in_list: bool | None = None
) -> engine.Campaign:
    """One campaign row as the engine reads it (``member_in_list``: ``False`` for a listed campaign unless said)."""
    if row.uses_member_list and member_in_list is None:
        member_in_list = False
    return engine.Campaign(
        id=row.pk,
        name=row.name,
        rules=tuple(rules),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        weekdays=frozenset(row.weekdays or ()),
        start_time=row.start_time,
        end_time=row.end_time,
        tier_ids=frozenset(tier_ids or ()),
        partner_ids=frozenset(partner_ids or ()),
        channels=frozenset(row.channels or ()),
        joined_after=row.joined_after,
        joined_before=row.joined_before,
        member_in_list=member_in_list if row.uses_member_list else None,
        member_cap=row.member_cap,
        cap_period=row.cap_period,
        budget_left=None if row.budget is None else max(row.budget - row.points_awarded, 0),
    )


def rule_for_engine(rule: Rule) -> engine.Rule:
    return engine.Rule(
        id=rule.pk,
        kind=rule.kind,
        priority=rule.priority,
        exclusive=rule.exclusive,
        multiplier=Decimal(rule.multiplier),
        points=rule.points,
        skus=frozenset(rule.skus or ()),
        categories=frozenset(rule.categories or ()),
        min_amount=Decimal(rule.min_amount),
        min_quantity=Decimal(rule.min_quantity),
        event_type=rule.event_type.code if rule.event_type_id else "",
    )


def _links(through, column: str, campaign_ids: list[int]) -> dict[int, set[int]]:
    links: dict[int, set[int]] = {}
    for campaign_id, other_id in through.objects.filter(campaign_id__in=campaign_ids).values_list(
        "campaign_id", column
    ):
        links.setdefault(campaign_id, set()).add(other_id)
    return links


def member_facts_get(*, member) -> engine.MemberFacts:
    """What the engine knows of a member: its tier (and multiplier), its join day, whether a purchase of it
    already earned (one query).

    Read under the member's account lock on the purchase path, so two purchases at once
    cannot both be a first purchase.
    """
    earned = Purchase.objects.filter(member_id=OuterRef("pk"), outcome=Outcome.EARNED)
    row = (
        type(member)
        .objects.filter(pk=member.pk)
        .annotate(
            facts_tier_id=F("tier_state__tier_id"),
            facts_tier_name=F("tier_state__tier__name"),
            facts_tier_multiplier=F("tier_state__tier__earning_multiplier"),
            facts_earned=Exists(earned),
        )
        .values("joined_at", "facts_tier_id", "facts_tier_name", "facts_tier_multiplier", "facts_earned")
        .get()
    )
    multiplier = row["facts_tier_multiplier"]
    return engine.MemberFacts(
        tier_id=row["facts_tier_id"],
        tier_name=row["facts_tier_name"] or "",
        tier_multiplier=Decimal(1) if multiplier is None else Decimal(multiplier),
        joined_on=program_date(row["joined_at"]),
        first_purchase=not row["facts_earned"],
    )


# Transactions as partners read them.


def purchases_for_partner(*, partner) -> QuerySet[Purchase]:
    """The partner's own purchases, newest first, with the member's account joined and the awards and returns
    prefetched: a page of them is four queries."""
    return (
        Purchase.objects.filter(partner_id=partner.pk)
        .select_related("member__account")
        .prefetch_related(Prefetch("awards", queryset=Award.objects.order_by("pk")), "returns")
        .order_by("-created_at", "-id")
    )


def purchase_breakdown(awards: Iterable[Award]) -> list[dict]:
    """A purchase's (or an event's) awards summed per source, rule and campaign, in the engine's order of
    evaluation (the order they were written: base, campaign rules by priority, tier). No query."""
    lines: dict[tuple, dict] = {}
    for award in sorted(awards, key=lambda award: award.pk):
        key = (award.source, award.rule_id, award.campaign_id)
        line = lines.get(key)
        if line is None:
            line = lines[key] = {
                "source": award.source,
                "rule_id": award.rule_id,
                "campaign_id": award.campaign_id,
                "points": 0,
                "returned_points": 0,
                "reason": award.reason,
                "params": award.params,
            }
        line["points"] += award.points
        line["returned_points"] += award.returned_points
    return list(lines.values())
