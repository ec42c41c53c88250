"""The portal's till code page: the member's one-time presence code and its QR, for a till to take points.

Its own module so the portal's views stay as they are; the code is issued by
``loyalty.partners.services.presence_code_issue`` (see the README's partner data model).
"""

import segno
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from loyalty.exceptions import MemberClosed, MemberSuspended
from loyalty.partners.services import presence_code_issue, presence_code_payload

from .models import Member
from .views import member_required


@member_required
@never_cache
@require_http_methods(["GET", "POST"])
def presence_code(request: HttpRequest, member: Member) -> HttpResponse:
    """GET explains; POST issues a new code (ending the previous one) and shows it with its QR as inline SVG."""
    context = {"member": member, "nav": "presence", "ttl_minutes": settings.PRESENCE_CODE_TTL_MINUTES}
    if request.method == "POST":
        try:
            row, code = presence_code_issue(member=member)
        except (MemberSuspended, MemberClosed):
            context["refused"] = True
        else:
            qr = segno.make(presence_code_payload(member=member, code=code), error="m")
            # segno's SVG of digits only: no user text reaches the markup.
            context.update(code=code, expires_at=row.expires_at, qr=mark_safe(qr.svg_inline(scale=8, border=2)))
    return render(request, "portal/presence.html", context)
