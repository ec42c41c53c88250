"""The portal's *My card* page: the member number as text, a QR code and a Code 128 barcode, for a till to scan.

Both images are drawn here as inline SVG, dark on white with their quiet zones, from the
number's digits only (no user text reaches the markup), and carry no ``style`` attribute:
the site's CSP allows no inline style. The QR comes from segno. The Code 128 bars are code set C
(digit pairs) with python-barcode's table of bar patterns, and are drawn here: its SVG writer
writes ``style="fill:..."`` on every bar, and its encoder drops a leading "99" (its optimiser takes
that pair for a switch to code set C: one member number in a hundred scanned wrong), so the
values are written here.
"""

from itertools import groupby

import segno
from barcode.charsets import code128
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe

from .models import Member
from .numbers import member_number_grouped
from .tiers.models import MemberTier
from .views import member_required

# Level H restores up to 30% of the code: a scratched or cracked phone screen still reads.
QR_ERROR_LEVEL = "h"
QR_QUIET_ZONE = 4  # modules, the minimum the QR standard asks for
BARCODE_QUIET_ZONE = 10  # modules each side, the minimum Code 128 asks for
BARCODE_HEIGHT = 36  # modules: about a third of the width, easy to hit with a hand scanner


def card_qr_svg(number: str) -> SafeString:
    """A QR code (never Micro QR, which tills may not read) of ``number``, as an SVG that scales to its box."""
    qr = segno.make_qr(number, error=QR_ERROR_LEVEL, boost_error=False)
    return mark_safe(qr.svg_inline(border=QR_QUIET_ZONE, dark="#000", light="#fff", omitsize=True))


def card_barcode_pattern(number: str) -> str:
    """The Code 128 modules of ``number`` (an even count of digits, as every member number) in code set C:
    start, one value per pair of digits, the checksum, stop; "1" a bar, "0" a space."""
    if not number.isdigit() or len(number) % 2:
        raise ValueError("Code set C encodes an even number of digits.")
    values = [code128.START_CODES["C"], *(int(number[i : i + 2]) for i in range(0, len(number), 2))]
    checksum = (values[0] + sum(position * value for position, value in enumerate(values[1:], start=1))) % 103
    return "".join(code128.CODES[value] for value in (*values, checksum)) + code128.STOP + "11"


def card_barcode_svg(number: str) -> SafeString:
    """A Code 128 barcode of ``number`` (code set C), as an SVG that scales to its box."""
    pattern = card_barcode_pattern(number)
    bars, x = [], BARCODE_QUIET_ZONE
    for module, run in groupby(pattern):
        length = len(list(run))
        if module == "1":
            bars.append(f"M{x} 0h{length}v{BARCODE_HEIGHT}h-{length}z")
        x += length
    width = len(pattern) + 2 * BARCODE_QUIET_ZONE
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {BARCODE_HEIGHT}" '
        f'preserveAspectRatio="none" shape-rendering="crispEdges" focusable="false" aria-hidden="true">'
        f'<rect width="{width}" height="{BARCODE_HEIGHT}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(bars)}"/></svg>'
    )


@member_required
@require_safe
def card(request: HttpRequest, member: Member) -> HttpResponse:
    """The signed-in member's own card, with its tier: no id in the URL."""
    number = member.member_number
    held = MemberTier.objects.select_related("tier").filter(member_id=member.pk).first()
    context = {
        "member": member,
        "tier": held.tier if held else None,
        "nav": "card",
        "number_grouped": member_number_grouped(number),
        "qr": card_qr_svg(number),
        "barcode": card_barcode_svg(number),
    }
    return render(request, "portal/card.html", context)
