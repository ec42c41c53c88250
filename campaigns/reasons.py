"""What the breakdown of a purchase or an event says: a reason code and its parameters, rendered
in the reader's language.

The engine (``campaigns.engine``) gives every award and every note a code and parameters, never
English text; the API's breakdown, the portal's history and the admin's simulator render them
with ``reason_label``. Given ``points`` among the parameters (the caller adds the award's, or
the sum of a rule's awards), a label ends with them: "Base: 120", "Double points weekend: 120",
"Gold multiplier: 24". A note's ``points`` are the points its cap or budget cut.

A new kind of reason is one more entry in ``REASONS``.
"""

from collections.abc import Callable

from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext

BASE = "base"
RATE_OVERRIDE = "rate_override"
MULTIPLIER = "multiplier"
FIRST_PURCHASE_BONUS = "first_purchase_bonus"
BASKET_BONUS = "basket_bonus"
QUANTITY_BONUS = "quantity_bonus"
EVENT = "event"
EVENT_POINTS = "event_points"
TIER_MULTIPLIER = "tier_multiplier"
MEMBER_CAP = "member_cap"
BUDGET_SPENT = "budget_spent"


def _points(points) -> str:
    return number_format(points, force_grouping=True)


def _campaign(params: dict) -> str:
    return str(params.get("campaign") or gettext("Campaign"))


def _base(params: dict) -> str:
    return gettext("Base")


def _rate_override(params: dict) -> str:
    return gettext("Base (special rate: %(rate)s points per unit)") % {"rate": params.get("rate", "")}


def _multiplier(params: dict) -> str:
    if params.get("campaign"):
        return str(params["campaign"])
    return gettext("Points x%(factor)s") % {"factor": params.get("factor", "")}


def _first_purchase_bonus(params: dict) -> str:
    return gettext("%(campaign)s (first purchase bonus)") % {"campaign": _campaign(params)}


def _basket_bonus(params: dict) -> str:
    return gettext("%(campaign)s (basket bonus)") % {"campaign": _campaign(params)}


def _quantity_bonus(params: dict) -> str:
    return gettext("%(campaign)s (quantity bonus)") % {"campaign": _campaign(params)}


def _event(params: dict) -> str:
    # ``type_name`` is the event type's name, when the caller knows it; else its code.
    return gettext("Points for %(type)s") % {"type": params.get("type_name") or params.get("type", "")}


def _event_points(params: dict) -> str:
    return gettext("%(campaign)s (event bonus)") % {"campaign": _campaign(params)}


def _tier_multiplier(params: dict) -> str:
    return gettext("%(tier)s multiplier") % {"tier": params.get("tier") or gettext("Tier")}


def _period(params: dict) -> str:
    return {
        "day": gettext("your limit for the day"),
        "week": gettext("your limit for the week"),
    }.get(params.get("period", ""), gettext("your limit for this campaign"))


def _member_cap(params: dict) -> str:
    if "points" in params:
        return ngettext(
            "%(campaign)s: %(points)s point not awarded (%(limit)s reached)",
            "%(campaign)s: %(points)s points not awarded (%(limit)s reached)",
            int(params["points"]),
        ) % {"campaign": _campaign(params), "points": _points(params["points"]), "limit": _period(params)}
    return gettext("%(campaign)s: %(limit)s is reached") % {"campaign": _campaign(params), "limit": _period(params)}


def _budget_spent(params: dict) -> str:
    if "points" in params:
        return ngettext(
            "%(campaign)s: %(points)s point not awarded (the campaign's budget is spent)",
            "%(campaign)s: %(points)s points not awarded (the campaign's budget is spent)",
            int(params["points"]),
        ) % {"campaign": _campaign(params), "points": _points(params["points"])}
    return gettext("%(campaign)s: the campaign's budget is spent") % {"campaign": _campaign(params)}


AWARD_REASONS: dict[str, Callable[[dict], str]] = {
    BASE: _base,
    RATE_OVERRIDE: _rate_override,
    MULTIPLIER: _multiplier,
    FIRST_PURCHASE_BONUS: _first_purchase_bonus,
    BASKET_BONUS: _basket_bonus,
    QUANTITY_BONUS: _quantity_bonus,
    EVENT: _event,
    EVENT_POINTS: _event_points,
    TIER_MULTIPLIER: _tier_multiplier,
}
"""Reasons of awards: the label says where the points come from; ``points`` are appended."""

NOTE_REASONS: dict[str, Callable[[dict], str]] = {
    MEMBER_CAP: _member_cap,
    BUDGET_SPENT: _budget_spent,
}
"""Reasons of notes: the label says what was cut; ``points`` (the points cut) are part of the sentence."""

REASONS = {**AWARD_REASONS, **NOTE_REASONS}
"""Every reason code, with the function that renders it in the active language."""


def reason_label(code: str, params: dict | None = None) -> str:
    """The reason in the active language, ending with ": <points>" for an award given ``points``.

    An unknown code is shown as it is (a code the engine never writes; never an error on a page).
    """
    params = params or {}
    render = AWARD_REASONS.get(code)
    if render is not None:
        label = render(params)
        if "points" in params:
            return gettext("%(label)s: %(points)s") % {"label": label, "points": _points(params["points"])}
        return label
    render = NOTE_REASONS.get(code)
    return render(params) if render is not None else code
