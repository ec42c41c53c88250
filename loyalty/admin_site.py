"""The staff admin's site: Django's admin with the program's face and list pages that never answer 500.

A list page's filters come from the address bar: a NUL byte or a year out of range
(``?joined_at__year=99999``) used to fail while the page rendered. Every model admin
registered here, ours and the libraries' (periodic tasks, users), gets
``SafeChangeListMixin``: such a filter sends the user back to the unfiltered list with a
message instead. A model that keeps a history (``HistoricalRecords``) also gets
``ConfigHistoryAdmin``: its "History" page lists every saved change, who made it and when,
to those with the historical model's view permission; a past version is shown, never
saved back (django-simple-history's revert form saved any POST from a user who could merely
read the history, bypassing the model's services and the change permission).
"""

import operator
from functools import reduce

from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.db import DataError
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin


class SafeChangeListMixin:
    """A list page whose filters cannot be applied goes back to the plain list with a message."""

    def changelist_view(self, request, extra_context=None):
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in [key, *values]):
            return self._filters_refused(request)
        if not request.GET:
            return super().changelist_view(request, extra_context)
        try:
            response = super().changelist_view(request, extra_context)
            if isinstance(response, TemplateResponse) and not response.is_rendered:
                response.render()  # The list's query runs here: refuse its bad filters now, not with a 500.
        except (ValueError, OverflowError, DataError):
            return self._filters_refused(request)
        if isinstance(response, HttpResponseRedirect) and response.url.endswith(f"?{ERROR_FLAG}=1"):
            return self._filters_refused(request)  # Django's own "invalid lookup" answer, said plainly.
        return response

    def _filters_refused(self, request):
        self.message_user(request, _("These filters cannot be applied; here is the whole list."), messages.ERROR)
        return HttpResponseRedirect(request.path)


class ConfigHistoryAdmin(SimpleHistoryAdmin):
    """The history pages, read only: a past version is shown; posting it back is refused."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class LoyaltyAdminSite(admin.AdminSite):
    site_header = _("Loyalty staff")
    site_title = _("Loyalty staff")
    index_title = _("Members, points and partners")
    index_template = "admin/loyalty_index.html"  # links the earning simulator

    def get_urls(self):
        from django.urls import path

        from loyalty.reports.views import dashboard_view

        dashboard = path("reports/dashboard/", self.admin_view(dashboard_view), name="reports_dashboard")
        return [dashboard, *super().get_urls()]

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        models = model_or_iterable if isinstance(model_or_iterable, (list, tuple)) else [model_or_iterable]
        if any(_has_history(model) for model in models) and not issubclass(admin_class, ConfigHistoryAdmin):
            # A model with HistoricalRecords: its "History" button shows who changed what (django-simple-history).
            admin_class = type(
                admin_class.__name__, (admin_class, ConfigHistoryAdmin), {"__module__": admin_class.__module__}
            )
        if not issubclass(admin_class, SafeChangeListMixin):
            admin_class = type(
                admin_class.__name__, (SafeChangeListMixin, admin_class), {"__module__": admin_class.__module__}
            )
        return super().register(model_or_iterable, admin_class, **options)


def _has_history(model) -> bool:
    return hasattr(model._meta, "simple_history_manager_attribute")  # set by HistoricalRecords


class LoyaltyAdminConfig(AdminConfig):
    default_site = "loyalty.admin_site.LoyaltyAdminSite"


class ReadOnlyAdmin(admin.ModelAdmin):
    """For what only services write (the ledger, notifications, deliveries, key events): shown, never edited."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MemberNumberSearchMixin:
    """A search that is a whole member number (10 digits, spaces and dashes allowed) finds that member.

    Its check digit is checked first: a mistyped number says so instead of finding nothing.
    ``member_number_lookup`` is the path to the number from the listed model, or a list of paths
    (a referral is found by its referrer's number and by its new member's).
    """

    member_number_lookup = "member_number"

    def get_search_results(self, request, queryset, search_term):
        from loyalty.exceptions import InvalidMemberNumber
        from members.numbers import MEMBER_NUMBER_LENGTH, member_number_clean

        compact = search_term.strip().replace(" ", "").replace("-", "")
        if not (compact.isascii() and compact.isdigit() and len(compact) == MEMBER_NUMBER_LENGTH):
            return super().get_search_results(request, queryset, search_term)
        try:
            number = member_number_clean(compact)
        except InvalidMemberNumber:
            self.message_user(
                request,
                _("%(number)s is not a member number: a digit is mistyped.") % {"number": compact},
                messages.WARNING,
            )
            return queryset.none(), False
        lookups = self.member_number_lookup
        if isinstance(lookups, str):
            lookups = [lookups]
        return queryset.filter(reduce(operator.or_, (Q(**{lookup: number}) for lookup in lookups))), False
