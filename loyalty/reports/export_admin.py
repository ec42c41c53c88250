"""The admin's door to the CSV exports: an *Export CSV* link on a list exports the list as filtered.

``CsvExportMixin`` gives a model admin an ``export/`` page. It takes the list's own query string
(filters, search, ordering), builds the list's queryset with the admin's own ``ChangeList``
(so the export is exactly what the list shows, on every page of it), and streams it
(``exports.csv_stream``). An export for a period (entries) first asks for the period, with the
dashboard's ``PeriodForm``: a bad date is a form error on that page, never a 500. Filters that
cannot be applied send back to the list with a message, as the list itself does.

Who may: the list's view permission and the export's own permission (``CsvExport.permission``),
else 403; without them the link is not shown. Every export is written to the admin log
(``LogEntry``: who, when, which list, its filters and period) before the first line is sent.
"""

import copy

from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import DataError
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext

from loyalty.clock import program_date

from .exports import CsvExport, csv_stream
from .views import PeriodForm

EXPORT_VAR = "_export"  # set by the period page's button: the period is chosen, send the file
PERIOD_PREFIX = "period"


class CsvExportMixin:
    csv_export: CsvExport

    def may_export(self, request) -> bool:
        permission = self.csv_export.permission
        return self.has_view_permission(request) and (permission is None or request.user.has_perm(permission))

    def _export_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_export"

    def get_urls(self):
        export = path("export/", self.admin_site.admin_view(self.export_view), name=self._export_url_name())
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        if self.may_export(request):
            query = request.GET.copy()
            query.pop(PAGE_VAR, None)
            url = reverse(f"admin:{self._export_url_name()}")
            extra_context = {**(extra_context or {}), "export_url": f"{url}?{query.urlencode()}" if query else url}
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        if request.method not in ("GET", "HEAD") or not self.may_export(request):
            raise PermissionDenied
        export = self.csv_export
        filters = request.GET.copy()
        for key in list(filters):
            if key in (EXPORT_VAR, PAGE_VAR) or key.startswith(f"{PERIOD_PREFIX}-"):
                del filters[key]
        period = None
        if export.period_field:
            form = PeriodForm(request.GET if EXPORT_VAR in request.GET else None, prefix=PERIOD_PREFIX)
            if not form.is_valid():
                return self._period_page(request, form, filters)
            period = form.cleaned_data["period"]
        listed = copy.copy(request)
        listed.GET = filters
        try:
            # The list's own filters, search and order; building it counts the rows, so a filter the database
            # refuses is refused here, before the response starts.
            queryset = self.get_changelist_instance(listed).queryset
        except (IncorrectLookupParameters, ValueError, OverflowError, DataError):
            self.message_user(
                request, gettext("These filters cannot be applied; here is the whole list."), messages.ERROR
            )
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        if period is not None:
            field = export.period_field
            queryset = queryset.filter(**{f"{field}__gte": period.since, f"{field}__lt": period.until})
        self._log_export(request, filters, period)
        response = StreamingHttpResponse(csv_stream(export, queryset), content_type="text/csv; charset=utf-8")
        stamp = f"{period.start}-{period.end}" if period else program_date().isoformat()
        response["Content-Disposition"] = f'attachment; filename="{export.name}-{stamp}.csv"'
        return response

    def _period_page(self, request, form, filters):
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Export %(list)s as CSV") % {"list": self.opts.verbose_name_plural},
            "opts": self.opts,
            "form": form,
            "filters": [(key, value) for key, values in filters.lists() for value in values],
            "export_var": EXPORT_VAR,
            "changelist_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            + (f"?{filters.urlencode()}" if filters else ""),
        }
        return TemplateResponse(request, "admin/export_period.html", context)

    def _log_export(self, request, filters, period) -> None:
        """Who exported which list, with which filters and period, now (the admin log; no object: a list)."""
        details = filters.urlencode() or gettext("none")
        message = gettext("Exported as CSV. Filters: %(filters)s.") % {"filters": details}
        if period is not None:
            message += " " + gettext("Period: %(start)s to %(end)s.") % {"start": period.start, "end": period.end}
        LogEntry.objects.create(
            user_id=request.user.pk,
            content_type=ContentType.objects.get_for_model(self.model),
            object_id=None,
            object_repr=gettext("CSV export of %(list)s") % {"list": self.opts.verbose_name_plural},
            action_flag=CHANGE,
            change_message=message,
        )
