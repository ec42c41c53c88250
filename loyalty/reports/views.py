"""The program dashboard (staff with ``ledger.view_entry``: analysts and up), under the admin site."""

from datetime import date, timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty.clock import program_date
from members.exports import csv_lines, spreadsheet_safe

from . import selectors

MAX_DAYS = 3660
EARLIEST, LATEST = date(1970, 1, 1), date(9000, 12, 31)  # beyond them the previous period or a day's end overflows


class PeriodForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), required=False)
    end = forms.DateField(label=gettext_lazy("To"), required=False)

    def clean(self):
        data = super().clean()
        end = data.get("end") or program_date()
        start = data.get("start") or end - timedelta(days=29)
        if start > end:
            raise forms.ValidationError(_("The period's start is after its end."))
        if (end - start).days > MAX_DAYS:
            raise forms.ValidationError(_("The period is longer than ten years."))
        if start < EARLIEST + (end - start) + timedelta(days=1) or end > LATEST:
            raise forms.ValidationError(_("The period must fall between 1970 and 9000."))
        data["period"] = selectors.Period(start, end)
        return data


def dashboard_view(request):
    if not request.user.has_perm("ledger.view_entry"):
        raise PermissionDenied
    form = PeriodForm(request.GET)  # every field optional: no GET is the last 30 days
    report = None
    if form.is_valid():
        report = selectors.dashboard(form.cleaned_data["period"])
        if request.GET.get("download") == "kinds":
            return _csv(
                "kinds", [_("Kind"), _("Points")], [[row["label"], row["points"]] for row in report["by_kind"]]
            )
    context = {**admin.site.each_context(request), "title": _("Program dashboard"), "form": form, "report": report}
    return TemplateResponse(request, "admin/reports/dashboard.html", context)


def _csv(name, header, rows):
    lines = list(
        csv_lines(header, ([spreadsheet_safe(str(cell)) for cell in row] for row in rows))
    )  # a few rows: in the request's language
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dashboard-{name}.csv"'
    return response
