"""How a breakdown reads: "Base: 120, Double points weekend: 120, Gold multiplier: 24".

The awards of a purchase (or an event) are summed per source, rule and reason, in the
engine's order (base, the campaigns' rules, the tier), and each sum is rendered by
``campaigns.reasons.reason_label`` in the reader's language. The names in an award's
parameters are the ones stored when it was awarded (English); a campaign's or a tier's
French name (``name_fr``) replaces them when the reader reads French.
"""

from collections.abc import Iterable

from django.utils import translation

from .models import AwardSource
from .reasons import reason_label

SOURCE_ORDER = {AwardSource.BASE: 0, AwardSource.CAMPAIGN: 1, AwardSource.TIER: 2}


def reads_french() -> bool:
    return (translation.get_language() or "").startswith("fr")


def localized(name: str, name_fr: str) -> str:
    """A name in the active language: the French one when the reader reads French and it is set."""
    return name_fr if name_fr and reads_french() else name


def localized_params(
    award, *, campaign_names: dict[int, tuple[str, str]], tier_names: dict[str, str] | None = None
) -> dict:
    """The award's parameters with the campaign's and the tier's names in the reader's language."""
    params = dict(award.params or {})
    if award.campaign_id is not None and award.campaign_id in campaign_names:
        params["campaign"] = localized(*campaign_names[award.campaign_id])
    if tier_names and params.get("tier") and reads_french():
        params["tier"] = tier_names.get(params["tier"]) or params["tier"]
    return params


def award_label(award, *, campaign_names: dict[int, tuple[str, str]], tier_names=None) -> str:
    """One award's reason, without its points ("Double points weekend")."""
    return reason_label(award.reason, localized_params(award, campaign_names=campaign_names, tier_names=tier_names))


def breakdown_labels(awards: Iterable, *, campaign_names: dict[int, tuple[str, str]], tier_names=None) -> list[str]:
    """The awards summed per source, rule and reason, each "<reason>: <points>", in the engine's order.

    ``awards`` are ``Award`` rows or the engine's awards (both have ``source``, ``points``,
    ``campaign_id``, ``rule_id``, ``reason``, ``params``); what returns took back is left out
    (``returned_points`` of a row).
    """
    groups: dict[tuple, list] = {}
    for award in awards:
        points = award.points - getattr(award, "returned_points", 0)
        key = (SOURCE_ORDER.get(award.source, 3), award.campaign_id or 0, award.rule_id or 0, award.reason)
        if key in groups:
            groups[key][1] += points
        else:
            groups[key] = [award, points]
    labels = []
    for key in sorted(groups, key=lambda key: (key[0], list(groups).index(key))):
        award, points = groups[key]
        if points <= 0:
            continue
        params = localized_params(award, campaign_names=campaign_names, tier_names=tier_names)
        labels.append(reason_label(award.reason, {**params, "points": points}))
    return labels
