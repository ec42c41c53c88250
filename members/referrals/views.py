"""The portal's referral pages: *Invite friends* (``/referrals/``) and the referral link (``/join/<code>/``)."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from loyalty.exceptions import LoyaltyError
from members.models import Member
from members.views import member_required

from . import selectors
from .devices import with_device_cookie
from .forms import InviteForm
from .services import referral_code_for, referral_invite, referral_policy_get


@with_device_cookie
def join(request: HttpRequest, code: str) -> HttpResponse:
    """The referral link: on to sign-up with the code filled in (checked there), and a device cookie."""
    if request.user.is_authenticated:
        return redirect("portal:referrals")
    return redirect(f"{reverse('portal:signup')}?{urlencode({'ref': code[:32]})}")


@member_required
def referrals(request: HttpRequest, member: Member) -> HttpResponse:
    """The member's link with a copy button, what it brought, and a form to invite a friend by e-mail."""
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            referral_invite(
                referrer=member, email=form.cleaned_data["email"], site_url=request.build_absolute_uri("/")
            )
        except LoyaltyError as error:
            form.add_error(None, _invite_error(error))
        else:
            messages.success(request, _("Your invitation is on its way, if this friend is not a member yet."))
            return redirect("portal:referrals")
    code = referral_code_for(member=member)
    context = {
        "member": member,
        "nav": "referrals",
        "link": request.build_absolute_uri(reverse("portal:join", args=[code.code])),
        "code": code.code,
        "summary": selectors.referral_summary(member=member),
        "policy": referral_policy_get(),
        "currency": settings.LOYALTY_CURRENCY,
        "form": form,
    }
    return render(request, "portal/referrals.html", context)


def _invite_error(error: LoyaltyError) -> str:
    texts = {
        "conflict": _("You sent all of today's invitations. Try again tomorrow, or share your link."),
        "member_suspended": _("Invitations are paused while your account is suspended."),
    }
    return texts.get(error.code, error.message)
