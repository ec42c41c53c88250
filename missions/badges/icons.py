"""The badge pictures: a fixed set of SVG icons vendored in ``static/badges/`` (drawn for this project).

A badge names one by its code. They are static files: whitenoise serves them with hashed names
and long caching, the CSP's ``img-src 'self'`` allows them, and nothing is uploaded (no media
storage to run, no user-supplied SVG that could carry a script). A test holds this list to the
files.
"""

from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _

ICONS = {
    "star": _("Star"),
    "trophy": _("Trophy"),
    "medal": _("Medal"),
    "flame": _("Flame"),
    "heart": _("Heart"),
    "cart": _("Basket"),
    "calendar": _("Calendar"),
    "crown": _("Crown"),
    "rocket": _("Rocket"),
    "gift": _("Gift"),
    "leaf": _("Leaf"),
    "bolt": _("Lightning"),
}
ICON_CHOICES = list(ICONS.items())


def icon_path(icon: str) -> str:
    """The icon's static path (``star.svg``); an unknown code shows the star."""
    return f"badges/{icon if icon in ICONS else 'star'}.svg"


def icon_url(icon: str) -> str:
    return static(icon_path(icon))
