"""How a breakdown reads: one label per source of points, in the reader's language.

"Base: 120, Double points weekend: 120, Gold multiplier: 24" — the base rate, each
campaign by its name (``name_fr`` in French when it has one), the tier's multiplier. The
reason of each award (a code and its parameters) is rendered by ``campaigns.reasons``.
"""

from django.utils import translation
from django.utils.translation import gettext

BASE = "base"
CAMPAIGN = "campaign"
TIER = "tier"


def localized(name: str, name_fr: str) -> str:
    """A name in the active language: the French one when the reader reads French and it is set."""
    if name_fr and (translation.get_language() or "").startswith("fr"):
        return name_fr
    return name


def source_label(*, source: str, campaign_name: str = "", tier_name: str = "") -> str:
    if source == CAMPAIGN:
        return campaign_name or gettext("Campaign")
    if source == TIER:
        return gettext("%(tier)s multiplier") % {"tier": tier_name} if tier_name else gettext("Tier multiplier")
    return gettext("Base")


def reason_text(reason: str, params: dict | None) -> str:
    from .reasons import reason_label  # noqa: PLC0415 (branch engine)

    return reason_label(reason, params or {}) if reason else ""


def summarize(rows) -> list[tuple[str, int]]:
    """``(label, points)`` pairs, one per label in the order first met, points summed (the lines of one source)."""
    totals: dict[str, int] = {}
    for label, points in rows:
        totals[label] = totals.get(label, 0) + points
    return list(totals.items())
