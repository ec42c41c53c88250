"""How the portal words missions: names in the reader's language, each step's condition, the prize."""

from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import get_language, gettext, ngettext

from missions.models import StepKind, StreakUnit

register = template.Library()


def _french() -> bool:
    return (get_language() or "").startswith("fr")


def _localized(name: str, name_fr: str) -> str:
    return name_fr if name_fr and _french() else name


def _money(value) -> str:
    return f"{number_format(Decimal(value), decimal_pos=2, force_grouping=True)} {settings.LOYALTY_CURRENCY}"


def _points(value: int) -> str:
    return ngettext("%(points)s point", "%(points)s points", value) % {
        "points": number_format(value, force_grouping=True)
    }


@register.filter
def mission_name(mission) -> str:
    return _localized(mission.name, mission.name_fr)


@register.filter
def mission_description(mission) -> str:
    return _localized(mission.description, mission.description_fr)


@register.filter
def step_text(progress) -> str:
    """The step's condition as the member reads it."""
    step, count = progress.step, progress.step.count
    if step.kind == StepKind.SPEND:
        return gettext("Spend at least %(amount)s") % {"amount": _money(step.amount)}
    if step.kind == StepKind.CATEGORY:
        return ngettext("Buy in %(category)s", "Buy in %(category)s %(count)s times", count) % {
            "category": step.category,
            "count": count,
        }
    if step.kind == StepKind.PARTNER:
        return ngettext("Buy at %(partner)s", "Buy at %(partner)s %(count)s times", count) % {
            "partner": step.partner.name if step.partner_id else "",
            "count": count,
        }
    if step.kind == StepKind.EVENTS:
        name = _localized(step.event_type.name, step.event_type.name_fr) if step.event_type_id else ""
        return ngettext("%(event)s", "%(event)s, %(count)s times", count) % {"event": name, "count": count}
    if step.kind == StepKind.STREAK:
        if step.streak_unit == StreakUnit.WEEK:
            return ngettext(
                "Buy every week, %(count)s week in a row", "Buy every week, %(count)s weeks in a row", count
            ) % {"count": count}
        return ngettext("Buy every day, %(count)s day in a row", "Buy every day, %(count)s days in a row", count) % {
            "count": count
        }
    return ngettext("Make %(count)s purchase", "Make %(count)s purchases", count) % {"count": count}


@register.filter
def step_figures(progress) -> str:
    """Where the member is on the step: "1 of 3", or amounts."""
    if progress.step.kind == StepKind.SPEND:
        return gettext("%(value)s of %(target)s") % {
            "value": _money(progress.value),
            "target": _money(progress.target),
        }
    return gettext("%(value)s of %(target)s") % {"value": int(progress.value), "target": int(progress.target)}


def _prize(points: int, reward_name: str, badge_name: str) -> str:
    parts = []
    if points:
        parts.append(_points(points))
    if reward_name:
        parts.append(gettext("a voucher: %(reward)s") % {"reward": reward_name})
    if badge_name:
        parts.append(gettext("the badge %(badge)s") % {"badge": badge_name})
    return ", ".join(parts) or gettext("the satisfaction of it")


@register.filter
def mission_prize(mission) -> str:
    reward, badge = mission.prize_reward, mission.prize_badge
    return _prize(
        mission.prize_points,
        _localized(reward.name, reward.name_fr) if reward else "",
        _localized(badge.name, badge.name_fr) if badge else "",
    )


@register.filter
def completion_prize(completion) -> str:
    """What the completion paid (a voucher by the names its terms froze)."""
    terms = completion.voucher.terms if completion.voucher_id else {}
    badge = completion.badge
    return _prize(
        completion.points,
        _localized(terms.get("name", ""), terms.get("name_fr", "")) if completion.voucher_id else "",
        _localized(badge.name, badge.name_fr) if badge else "",
    )
