from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from members.tiers.templatetags.tiers import tier_name

from ..icons import icon_url
from ..models import Milestone

register = template.Library()


@register.filter
def badge_icon(badge) -> str:
    """The URL of the badge's picture (a vendored SVG, static/badges/)."""
    return icon_url(badge.icon)


@register.filter
def badge_how(badge) -> str:
    """How to earn the badge, in the reader's language: its description, else what its milestone asks."""
    if badge.localized_description:
        return badge.localized_description
    count = badge.milestone_count or 0
    if badge.milestone == Milestone.PURCHASES:
        if count == 1:
            return _("Make your first purchase.")
        return ngettext("Make %(count)s purchase.", "Make %(count)s purchases.", count) % {"count": count}
    if badge.milestone == Milestone.TIER and badge.milestone_tier is not None:
        return _("Reach the %(tier)s tier.") % {"tier": tier_name(badge.milestone_tier)}
    if badge.milestone == Milestone.YEARS:
        return ngettext("Be a member for %(count)s year.", "Be a member for %(count)s years.", count) % {
            "count": count
        }
    return _("Complete a challenge.")
