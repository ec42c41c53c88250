"""The portal's rewards: the catalog, a reward with its confirmation step, and the member's vouchers.

Thin views: a form, one service (``redemption_create``, ``voucher_cancel``) or selector, render.
Every refusal of the services is a form error in the reader's language, never a 500.
A member reaches only their own vouchers: another member's id is a 404.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe
from django.views.decorators.vary import vary_on_headers

from loyalty.exceptions import LoyaltyError
from rewards.eligibility import limit_words
from rewards.selectors import (
    CatalogItem,
    member_donations_by_charity,
    member_voucher_get,
    member_vouchers,
    reward_catalog_get,
    reward_for_member_get,
    voucher_state,
)
from rewards.services import MAX_QUANTITY, RedemptionResult, redemption_create
from rewards.services import voucher_cancel as voucher_cancel_service
from rewards.templatetags.portal_rewards import localized_name, reward_name, voucher_name

from .card_views import card_qr_svg
from .forms import RedeemForm, RewardFilterForm
from .models import Member, MemberStatus
from .templatetags.portal import points as shown_points
from .views import member_required

VOUCHERS_PAGE_SIZE = 20


def _blocked(member: Member, item: CatalogItem) -> str:
    """Why the member cannot redeem the reward now (the disabled button says it); empty when they can."""
    if member.status != MemberStatus.ACTIVE:
        return _("Your account is not active, so it cannot spend points for now.")
    if item.locked:
        return str(item.refusal.message)
    if item.sold_out:
        return _("This reward is sold out.")
    if not item.affordable:
        return _("You need %(points)s more points.") % {"points": shown_points(item.missing)}
    return ""


def _refusal(error: LoyaltyError) -> tuple[str | None, str]:
    """The field a refusal of ``redemption_create`` belongs to and what the member reads."""
    details = error.details
    if error.code == "insufficient_points":
        return "quantity", _("You have %(points)s points to spend: not enough for this quantity.") % {
            "points": shown_points(details.get("available", 0))
        }
    if error.code == "limit_reached" and "limit" in details:
        return "quantity", _("You can redeem this reward %(limit)s.") % {
            "limit": limit_words(details["limit"], details.get("period", ""))
        }
    if error.code == "not_eligible":
        return None, str(error.message)  # eligibility's words, in the active language
    texts = {
        "out_of_stock": ("quantity", _("Not enough of this reward is left for this quantity.")),
        "member_suspended": (None, _("Your account is not active, so it cannot spend points for now.")),
        "member_closed": (None, _("Your account is closed, so it cannot spend points.")),
        "member_merged": (None, _("This account was merged into another one: log in to that one.")),
        "idempotency_conflict": (None, _("This form was already sent for another quantity: reload the page.")),
        "invalid": ("quantity", _("Redeem 1 to %(max)s at a time.") % {"max": MAX_QUANTITY}),
    }
    return texts.get(error.code, (None, _("This reward could not be redeemed.")))


def _redeemed(request: HttpRequest, result: RedemptionResult) -> HttpResponse:
    """After a redemption (or its repeat), where the member sees what they got: PRG."""
    redemption = result.redemption
    name = reward_name(redemption.reward)
    if result.donations:
        messages.success(
            request,
            _("Thank you: your gift of %(points)s points to %(charity)s is recorded.")
            % {"points": shown_points(redemption.points), "charity": localized_name(redemption.reward.charity)},
        )
        return redirect("portal:vouchers")
    if len(result.vouchers) == 1:
        messages.success(request, _("You redeemed %(reward)s: show this voucher at the till.") % {"reward": name})
        return redirect("portal:voucher", voucher_id=result.vouchers[0].pk)
    messages.success(
        request,
        _("You redeemed %(quantity)s × %(reward)s: your vouchers are below.")
        % {"quantity": redemption.quantity, "reward": name},
    )
    return redirect("portal:vouchers")


@member_required
@require_safe
@vary_on_headers("HX-Request", "HX-Target")
def rewards(request: HttpRequest, member: Member) -> HttpResponse:
    """The catalog with the member's balance; the filters are a GET form, swapped in place by htmx."""
    form = RewardFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    affordable, kind = filters.get("affordable", False), filters.get("kind", "")
    items = reward_catalog_get(member=member, affordable=affordable, kind=kind)
    context = {"member": member, "nav": "rewards", "form": form, "items": items, "filtered": bool(request.GET)}
    partial = request.htmx and request.htmx.target == "reward-results"
    return render(request, "portal/_reward_results.html" if partial else "portal/rewards.html", context)


@member_required
@never_cache
@require_http_methods(["GET", "POST"])
def reward(request: HttpRequest, member: Member, code: str) -> HttpResponse:
    """GET shows the reward, and with ``?step=confirm`` the confirmation step; POST redeems once per form."""
    item = reward_for_member_get(member=member, code=code)
    if item is None:
        raise Http404
    confirming = request.method == "POST" or request.GET.get("step") == "confirm"
    form = RedeemForm(request.POST or None) if confirming else None
    if request.method == "POST" and form.is_valid():
        try:
            result = redemption_create(
                member=member,
                reward=item.reward,
                quantity=form.cleaned_data["quantity"],
                idempotency_key=form.idempotency_key,
            )
        except LoyaltyError as error:
            form.add_error(*_refusal(error))
        else:
            return _redeemed(request, result)
    context = {
        "member": member,
        "nav": "rewards",
        "item": item,
        "partners": list(item.reward.partners.all()),
        "form": form,
        "blocked": _blocked(member, item),
        "units_affordable": max(member.account.balance, 0) // item.reward.points_cost,
    }
    return render(request, "portal/reward.html", context)


@member_required
@require_safe
def vouchers(request: HttpRequest, member: Member) -> HttpResponse:
    """The member's vouchers, newest first, and a thank-you line per charity they gave to."""
    page = Paginator(member_vouchers(member=member), VOUCHERS_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [(voucher, voucher_state(voucher, now=now)) for voucher in page.object_list]
    context = {
        "member": member,
        "nav": "vouchers",
        "page": page,
        "rows": rows,
        "donations": member_donations_by_charity(member=member),
    }
    return render(request, "portal/vouchers.html", context)


def _own_voucher(member: Member, voucher_id: int):
    voucher = member_voucher_get(member=member, voucher_id=voucher_id)
    if voucher is None:
        raise Http404
    return voucher


@member_required
@require_safe
def voucher(request: HttpRequest, member: Member, voucher_id: int) -> HttpResponse:
    """One voucher: its code as text and, while it can be used, as a QR code for the till."""
    voucher = _own_voucher(member, voucher_id)
    state = voucher_state(voucher)
    context = {
        "member": member,
        "nav": "vouchers",
        "voucher": voucher,
        "state": state,
        "partners": list(voucher.reward.partners.all()),
        "qr": card_qr_svg(voucher.code) if state.status == "issued" else None,
    }
    return render(request, "portal/voucher.html", context)


@member_required
@never_cache
@require_http_methods(["GET", "POST"])
def voucher_cancel(request: HttpRequest, member: Member, voucher_id: int) -> HttpResponse:
    """GET asks to confirm; POST cancels through ``voucher_cancel`` (idempotent: a double click cancels once)."""
    voucher = _own_voucher(member, voucher_id)
    errors = []
    if request.method == "POST":
        try:
            voucher_cancel_service(voucher=voucher, actor=None)
        except LoyaltyError as error:
            errors.append(_cancel_refusal(error))
        else:
            messages.success(
                request,
                _("Your voucher for %(reward)s is cancelled: %(points)s points are back in your balance.")
                % {"reward": voucher_name(voucher), "points": shown_points(voucher.points)},
            )
            return redirect("portal:voucher", voucher_id=voucher.pk)
    context = {"member": member, "nav": "vouchers", "voucher": voucher, "state": voucher_state(voucher)}
    context["errors"] = errors
    return render(request, "portal/voucher_cancel.html", context)


def _cancel_refusal(error: LoyaltyError) -> str:
    if error.code == "not_cancellable":
        return _("This voucher can no longer be cancelled.")
    if error.code == "member_closed":
        return _("Your account is closed, so it cannot get points back.")
    return _("This voucher could not be cancelled.")
