"""A campaign's rules, window and limits in words, in the reader's language, for the portal's "Ways to earn".

"2× points on shoes", "+100 points on a basket of 50.00 EUR or more"; "Saturdays and
Sundays, 18:00 to 22:00"; "Up to 500 points a week (120 left this week)". Dates and hours
are the program's time.
"""

from decimal import Decimal

from django.conf import settings
from django.utils.formats import number_format
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from members.templatetags.portal import moment

from .breakdown import localized
from .earn_selectors import EventWay, WayToEarn
from .models import CapPeriod, EventLimit, LimitPeriod, Rule, RuleKind

WEEKDAY_NAMES = {
    0: lambda: _("Mondays"),
    1: lambda: _("Tuesdays"),
    2: lambda: _("Wednesdays"),
    3: lambda: _("Thursdays"),
    4: lambda: _("Fridays"),
    5: lambda: _("Saturdays"),
    6: lambda: _("Sundays"),
}


def _points(value: int) -> str:
    return number_format(int(value), force_grouping=True)


def _number(value: Decimal) -> str:
    value = Decimal(value)
    return number_format(value.normalize() if value == value.to_integral() else value, force_grouping=True)


def _money(value: Decimal) -> str:
    amount = number_format(Decimal(value).quantize(Decimal("0.01")), 2, force_grouping=True)
    return f"{amount} {settings.LOYALTY_CURRENCY}"


def _items(rule: Rule) -> str:
    """What a rule's lines are: "shoes, bags" or "SKU-1"; empty: every item."""
    return get_text_list([*rule.categories, *rule.skus], _("or"))


def rule_words(rule: Rule, *, event_name: str = "") -> str:
    items = _items(rule)
    if rule.kind == RuleKind.MULTIPLIER:
        if items:
            return _("%(factor)s× points on %(items)s") % {"factor": _number(rule.multiplier), "items": items}
        return _("%(factor)s× points on everything") % {"factor": _number(rule.multiplier)}
    points = {"points": _points(rule.points)}
    if rule.kind == RuleKind.FIRST_PURCHASE_BONUS:
        return _("+%(points)s points on your first purchase") % points
    if rule.kind == RuleKind.BASKET_BONUS:
        if rule.min_amount <= 0:
            return _("+%(points)s points on every purchase") % points
        if items:
            return _("+%(points)s points when you spend %(amount)s or more on %(items)s") % {
                **points,
                "amount": _money(rule.min_amount),
                "items": items,
            }
        return _("+%(points)s points on a basket of %(amount)s or more") % {
            **points,
            "amount": _money(rule.min_amount),
        }
    if rule.kind == RuleKind.QUANTITY_BONUS:
        return _("+%(points)s points when you buy %(quantity)s or more of %(items)s") % {
            **points,
            "quantity": _number(rule.min_quantity),
            "items": items or _("any item"),
        }
    if rule.kind == RuleKind.EVENT_POINTS:
        return _("+%(points)s extra points for: %(event)s") % {**points, "event": event_name}
    return ""


def when_words(way: WayToEarn) -> list[str]:
    words = []
    if way.starts_at and way.ends_at:
        words.append(_("From %(start)s until %(end)s") % {"start": moment(way.starts_at), "end": moment(way.ends_at)})
    elif way.starts_at:
        words.append(_("From %(start)s") % {"start": moment(way.starts_at)})
    elif way.ends_at:
        words.append(_("Until %(end)s") % {"end": moment(way.ends_at)})
    days = [WEEKDAY_NAMES[day]() for day in way.weekdays if day in WEEKDAY_NAMES]
    if days and len(days) < 7:
        words.append(_("On %(days)s") % {"days": get_text_list(days, _("and"))})
    if way.start_time is not None and way.end_time is not None:
        words.append(
            _("From %(start)s to %(end)s")
            % {"start": way.start_time.strftime("%H:%M"), "end": way.end_time.strftime("%H:%M")}
        )
    return words


def where_words(way: WayToEarn) -> list[str]:
    words = []
    if way.partners:
        words.append(_("At %(partners)s") % {"partners": get_text_list(way.partners, _("and"))})
    if way.channels:
        words.append(_("When you buy through: %(channels)s") % {"channels": ", ".join(way.channels)})
    return words


def limit_words(way: WayToEarn) -> list[str]:
    words = []
    if way.member_cap:
        cap = {"cap": _points(way.member_cap), "left": _points(way.cap_left or 0)}
        if way.cap_period == CapPeriod.DAY:
            words.append(_("Up to %(cap)s points a day (%(left)s left today)") % cap)
        elif way.cap_period == CapPeriod.WEEK:
            words.append(_("Up to %(cap)s points a week (%(left)s left this week)") % cap)
        else:
            words.append(_("Up to %(cap)s points in all (%(left)s left)") % cap)
    if way.budget is not None:
        words.append(_("While its points last: the offer ends when its budget is spent"))
    return words


def event_words(way: EventWay) -> str:
    event_type = way.event_type
    points = {"points": _points(event_type.points)}
    if event_type.limit == EventLimit.ONCE:
        text = _("%(points)s points, once") % points
    elif event_type.limit == EventLimit.PER_PERIOD:
        period = {
            LimitPeriod.WEEK: _("once a week"),
            LimitPeriod.MONTH: _("once a month"),
            LimitPeriod.YEAR: _("once a year"),
        }[event_type.limit_period]
        text = _("%(points)s points, %(period)s") % {**points, "period": period}
    elif event_type.limit == EventLimit.PER_DAY:
        text = ngettext(
            "%(points)s points, up to %(count)s time a day",
            "%(points)s points, up to %(count)s times a day",
            event_type.per_day,
        ) % {**points, "count": event_type.per_day}
    else:
        text = _("%(points)s points each time") % points
    if way.extra_points:
        text += " " + _("(+%(extra)s with a current offer)") % {"extra": _points(way.extra_points)}
    if event_type.requires_approval:
        text += " — " + _("once approved")
    return text


def way_card(way: WayToEarn) -> dict:
    """What the page shows of one campaign."""
    return {
        "way": way,
        "rules": [rule_words(rule, event_name=_event_name(rule) if rule.event_type_id else "") for rule in way.rules],
        "when": when_words(way),
        "where": where_words(way),
        "limits": limit_words(way),
    }


def _event_name(rule: Rule) -> str:
    return localized(rule.event_type.name, rule.event_type.name_fr)
