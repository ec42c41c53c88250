"""The portal's *Send points* page: the form, ``gift_send``, every refusal a form error in the reader's language."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from loyalty.exceptions import LoyaltyError

from .forms import GiftForm
from .gifting import gift_allowance_get, gift_policy_get, gift_send
from .models import Member
from .templatetags.portal import points as shown_points
from .views import member_required


def _refusal(error: LoyaltyError) -> tuple[str | None, str]:
    """The field a refusal belongs to and what the member reads, in the active language."""
    details = error.details
    if error.code == "gift_limit_reached":
        remaining = shown_points(details.get("remaining", 0))
        text = {
            "per_gift": _("One gift is %(points)s points at most."),
            "day": _("You can give %(points)s more points today."),
            "month": _("You can give %(points)s more points this month."),
        }[details.get("limit", "day")]
        return "points", text % {"points": remaining}
    if error.code == "insufficient_points":
        return "points", _("You have %(points)s points you can give.") % {
            "points": shown_points(details.get("available", 0))
        }
    if error.code == "gift_recipient_unavailable":
        return "recipient_number", _("Member %(number)s cannot receive points.") % {"number": details.get("number")}
    texts = {
        "invalid_member_number": ("recipient_number", _("This is not a member number: check every digit.")),
        "gift_to_self": ("recipient_number", _("You cannot send points to yourself.")),
        "gifting_disabled": (None, _("Sending points is not open at the moment.")),
        "member_suspended": (None, _("Your account is not active, so it cannot give points.")),
        "member_closed": (None, _("Your account is not active, so it cannot give points.")),
        "too_many_attempts": (None, _("Too many numbers that cannot receive points: try again in an hour.")),
        "idempotency_conflict": (None, _("This form was already sent for another gift: reload the page.")),
    }
    return texts.get(error.code, (None, _("This gift could not be sent.")))


@member_required
@never_cache
@require_http_methods(["GET", "POST"])
def gift(request: HttpRequest, member: Member) -> HttpResponse:
    """GET shows the form and what the member may still give; POST sends once per form (its token)."""
    policy = gift_policy_get()
    form = GiftForm(request.POST or None) if policy.enabled else None
    if form is not None and request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sent = gift_send(
                sender=member,
                recipient_number=data["recipient_number"],
                points=data["points"],
                message=data["message"],
                idempotency_key=form.idempotency_key,
            )
        except LoyaltyError as error:
            form.add_error(*_refusal(error))
        else:
            messages.success(
                request,
                _("You sent %(points)s points to member %(number)s.")
                % {"points": shown_points(sent.points), "number": sent.recipient.member_number},
            )
            return redirect("portal:gift")
    context = {"member": member, "nav": "gift", "form": form, "policy": policy}
    if form is not None:
        context["allowance"] = gift_allowance_get(sender=member, policy=policy)
    return render(request, "portal/gift.html", context)
