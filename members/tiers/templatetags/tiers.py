"""How tiers read in the portal and the admin: names and benefits in the reader's language, a colour swatch,
and amounts of the qualification basis (points, or money for spend) with the language's separators."""

from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import get_language, ngettext

from members.templatetags.portal import points

register = template.Library()


def _french() -> bool:
    return (get_language() or "").startswith("fr")


@register.filter
def tier_name(tier) -> str:
    """The tier's name in the reader's language (its English name where no French one is set)."""
    if tier is None:
        return ""
    return (tier.name_fr if _french() else "") or tier.name


@register.filter
def tier_benefits(tier) -> str:
    """The tier's benefits in the reader's language (the English text where no French one is set)."""
    if tier is None:
        return ""
    return (tier.benefits_fr if _french() else tier.benefits_en) or tier.benefits_en


@register.simple_tag
def tier_swatch(tier):
    """A disc of the tier's colour: an SVG ``fill`` attribute, which the CSP allows (no inline style)."""
    return format_html(
        '<svg class="tier-swatch" width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">'
        '<circle cx="8" cy="8" r="8" fill="{}"/></svg>',
        tier.colour,
    )


@register.simple_tag
def basis_amount(progress, value: int | Decimal | None) -> str:
    """``value`` in the unit of the program's basis: "1,250 points" or "1,250.00 EUR" (1 250,00 EUR in French)."""
    if value is None:
        return ""
    if progress.uses_spend:
        return f"{number_format(value, decimal_pos=2, force_grouping=True)}\u00a0{settings.LOYALTY_CURRENCY}"
    return ngettext("%(points)s point", "%(points)s points", int(value)) % {"points": points(value)}
