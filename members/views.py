"""The member portal: thin views (form, one service or selector, render).

A signed-in user without a member (a staff login) gets a page saying so. A member sees
only their own account: no view takes a member or account id from the request.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from loyalty.clock import program_date
from loyalty.exceptions import Conflict
from loyalty.ledger.models import Entry

from . import selectors
from .exports import entries_csv_rows
from .forms import HistoryFilterForm, LanguageForm, LoginForm, PasswordResetForm, ProfileForm, SignUpForm
from .models import Member
from .services import member_enroll, member_language_set, member_profile_update, user_login_unlock

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


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "portal/auth/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        member = selectors.member_for_user(user=form.get_user())
        return _with_language(response, member.language) if member else response


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    form = SignUpForm(request.POST or None, initial={"language": translation.get_language()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            member = member_enroll(
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                password=data["password1"],
                language=data["language"],
                marketing_consent=data["marketing_consent"],
            )
        except Conflict:
            form.add_error(
                "email",
                _("This e-mail is already registered. Log in, or reset your password if you forgot it."),
            )
        else:
            login(request, member.user, backend="django.contrib.auth.backends.ModelBackend")
            response = _with_language(redirect("portal:dashboard"), member.language)
            messages.success(
                request, _("Welcome! Your member number is %(number)s.") % {"number": member.member_number}
            )
            return response
    return render(request, "portal/auth/signup.html", {"form": form})


@member_required
def dashboard(request: HttpRequest, member: Member) -> HttpResponse:
    return render(
        request,
        "portal/dashboard.html",
        {"member": member, "dashboard": selectors.member_dashboard_get(member=member), "nav": "dashboard"},
    )


@member_required
@vary_on_headers("HX-Request", "HX-Target")
def history(request: HttpRequest, member: Member) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    entries = selectors.member_entries(member=member, **form.filters()) if form.is_valid() else Entry.objects.none()
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
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
        user_login_unlock(user=form.user)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "portal/auth/password_change.html"
    success_url = reverse_lazy("portal:profile")

    def form_valid(self, form):
        messages.success(self.request, _("Your password is changed."))
        return super().form_valid(form)
