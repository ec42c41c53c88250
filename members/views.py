"""The member portal: thin views (form, one service or selector, render).

A signed-in user without a member (a staff login) gets a page saying so. A member sees
only their own account: no view takes a member or account id from the request.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from campaigns.earn_selectors import entry_breakdowns_get
from loyalty.clock import program_date
from loyalty.exceptions import InvalidReferralCode, LoyaltyError
from loyalty.ledger.models import Entry
from loyalty.proxies import client_ip
from loyalty.ratelimit import limit_per_client_ip
from rewards.selectors import rewards_affordable_count

from . import selectors
from .exports import entries_csv_rows, member_data_json
from .forms import (
    ActivateForm,
    CloseAccountForm,
    EmailForm,
    HistoryFilterForm,
    LanguageForm,
    LoginForm,
    PasswordResetForm,
    ProfileForm,
    SignUpForm,
)
from .models import Member, MemberStatus
from .referrals.devices import device_hash, with_device_cookie
from .referrals.services import member_device_record
from .services import (
    member_access_link_send,
    member_activate,
    member_email_verify,
    member_language_set,
    member_profile_update,
    member_signup,
    member_status_change,
    user_password_reset_complete,
)
from .tiers.selectors import tier_progress_get
from .tokens import account_token_member

HISTORY_PAGE_SIZE = 25


def member_required(view: Callable) -> Callable:
    """Send anonymous users to log in; pass the signed-in member (account joined) to the view."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        member = selectors.member_for_user(user=request.user)
        if member is None:
            return render(request, "portal/no_membership.html", status=403)
        return view(request, member, *args, **kwargs)

    return wrapper


def _with_language(response: HttpResponse, language: str) -> HttpResponse:
    """Switch this response and the next requests (LocaleMiddleware reads the cookie) to ``language``."""
    translation.activate(language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@method_decorator(with_device_cookie, name="dispatch")
class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "portal/auth/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        member = selectors.member_for_user(user=form.get_user())
        if member is None:
            return response
        member_device_record(member=member, device_hash=device_hash(self.request))
        return _with_language(response, member.language)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["unverified"] = context["form"].has_error(NON_FIELD_ERRORS, "unverified")
        return context


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        was_logged_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_logged_in:
            messages.info(request, _("You are logged out."))
        return response


@limit_per_client_ip(scope="signup", setting="SIGNUP_PER_IP_PER_HOUR")
@with_device_cookie
def signup(request: HttpRequest) -> HttpResponse:
    """Sign up; the same page follows whether the address was new or known (its owner gets an e-mail).

    A referral link's code (``?ref=``) is filled in; the browser's device cookie and the
    client's address go with it, for the guards against self-referral.
    """
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    initial = {"language": translation.get_language(), "referral_code": request.GET.get("ref", "")[:32]}
    form = SignUpForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            member_signup(
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                password=data["password1"],
                language=data["language"],
                marketing_consent=data["marketing_consent"],
                site_url=_site_url(request),
                phone=data["phone"],
                referral_code=data["referral_code"],
                device_hash=device_hash(request),
                client_address=client_ip(request),
            )
        except InvalidReferralCode:  # its member was closed since the form checked it
            form.add_error("referral_code", SignUpForm.REFERRAL_CODE_INVALID)
        else:
            return _with_language(redirect("portal:signup_sent"), data["language"])
    return render(request, "portal/auth/signup.html", {"form": form})


def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link that proves a new member's e-mail: a button (a POST), so mail scanners opening links do not use it."""
    member = account_token_member(token=token, purpose="confirm")
    if member is None:
        return render(request, "portal/auth/link_invalid.html", status=400)
    if request.method == "POST":
        member_email_verify(member=member)
        messages.success(request, _("Your e-mail is confirmed. Log in to see your points."))
        return _with_language(redirect("portal:login"), member.language)
    return render(request, "portal/auth/confirm.html", {"email": member.user.email})


def activate(request: HttpRequest, token: str) -> HttpResponse:
    """The link that lets a member choose a password (and proves the e-mail); logs them in."""
    member = account_token_member(token=token, purpose="activate")
    if member is None:
        return render(request, "portal/auth/link_invalid.html", status=400)
    form = ActivateForm(member.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        member_activate(member=member, password=form.cleaned_data["new_password1"])
        login(request, member.user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Your account is active. Welcome!"))
        return _with_language(redirect("portal:dashboard"), member.language)
    return render(request, "portal/auth/activate.html", {"form": form, "email": member.user.email})


def access_link_request(request: HttpRequest, *, template: str) -> HttpResponse:
    """Ask for a link by e-mail (a new confirmation link, or one to activate the account); one answer for all."""
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        member_access_link_send(email=form.cleaned_data["email"], site_url=_site_url(request))
        return redirect("portal:access_link_sent")
    return render(request, template, {"form": form})


def _site_url(request: HttpRequest) -> str:
    """Where links in e-mails point: this site, as the member reached it (a host in ALLOWED_HOSTS)."""
    return request.build_absolute_uri("/")


@member_required
def dashboard(request: HttpRequest, member: Member) -> HttpResponse:
    return render(
        request,
        "portal/dashboard.html",
        {
            "member": member,
            "dashboard": selectors.member_dashboard_get(member=member),
            "tier_progress": tier_progress_get(member=member),
            "rewards_affordable": rewards_affordable_count(member=member),
            "nav": "dashboard",
        },
    )


@member_required
@vary_on_headers("HX-Request", "HX-Target")
def history(request: HttpRequest, member: Member) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    if form.is_valid():
        entries = selectors.entries_with_availability(selectors.member_entries(member=member, **form.filters()))
    else:
        entries = Entry.objects.none()
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    breakdowns = entry_breakdowns_get(entry_ids=[entry.pk for entry in page.object_list])
    for entry in page.object_list:
        entry.breakdown = breakdowns.get(entry.pk, [])
    query = request.GET.copy()
    query.pop("page", None)
    context = {"member": member, "form": form, "page": page, "query": query.urlencode(), "nav": "history"}
    partial = request.htmx and request.htmx.target == "history-results"
    template = "portal/_history_results.html" if partial else "portal/history.html"
    return render(request, template, context)


@member_required
def history_csv(request: HttpRequest, member: Member) -> HttpResponse:
    """Every entry that matches the filters, streamed; invalid filters go back to the page that explains them."""
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        return redirect(f"{reverse('portal:history')}?{request.GET.urlencode()}")
    entries = selectors.member_entries(member=member, **form.filters())
    filename = f"points-history-{member.member_number}-{program_date():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(entries_csv_rows(entries), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@member_required
def profile(request: HttpRequest, member: Member) -> HttpResponse:
    user = member.user
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language": member.language,
        "marketing_consent": member.marketing_consent,
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        member_profile_update(member=member, **form.cleaned_data)
        response = _with_language(redirect("portal:profile"), member.language)
        messages.success(request, _("Your profile is saved."))
        return response
    return render(request, "portal/profile.html", {"member": member, "form": form, "nav": "profile"})


@member_required
def profile_data(request: HttpRequest, member: Member) -> HttpResponse:
    """All the member's data as one JSON file, streamed."""
    filename = f"loyalty-data-{member.member_number}-{program_date():%Y-%m-%d}.json"
    response = StreamingHttpResponse(member_data_json(member), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@member_required
def profile_close(request: HttpRequest, member: Member) -> HttpResponse:
    """Close the account: the member confirms with the password and a reason, after reading what is lost."""
    form = CloseAccountForm(request.POST or None, user=member.user)
    if request.method == "POST" and form.is_valid():
        try:
            member_status_change(
                member=member, status=MemberStatus.CLOSED, reason=form.cleaned_data["reason"], actor=member.user
            )
        except LoyaltyError as error:
            form.add_error(None, str(error.message))
        else:
            logout(request)
            messages.info(request, _("Your account is closed. Thank you for having been a member."))
            return redirect("portal:login")
    account = member.account
    context = {"member": member, "form": form, "nav": "profile", "points": account.balance + account.pending}
    return render(request, "portal/close.html", context)


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Switch the portal's language; a signed-in member keeps it for next time."""
    form = LanguageForm(request.POST)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = reverse("portal:dashboard")
    if not form.is_valid():
        messages.error(request, _("This language is not offered."))
        return redirect(next_url)
    chosen = form.cleaned_data["language"]
    member = selectors.member_for_user(user=request.user)
    if member is not None:
        member_language_set(member=member, language=chosen)
    return _with_language(redirect(next_url), chosen)


_reset_limit = limit_per_client_ip(scope="password-reset-ip", setting="PASSWORD_RESET_PER_IP_PER_HOUR")


@method_decorator(_reset_limit, name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "portal/auth/password_reset_form.html"
    email_template_name = "portal/auth/password_reset_email.txt"
    subject_template_name = "portal/auth/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "portal/auth/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        user_password_reset_complete(user=form.user)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "portal/auth/password_change.html"
    success_url = reverse_lazy("portal:profile")

    def form_valid(self, form):
        messages.success(self.request, _("Your password is changed."))
        return super().form_valid(form)
