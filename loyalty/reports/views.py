"""The program dashboard (staff with ``ledger.view_entry``: analysts and up), under the admin site."""

from datetime import date, timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty.clock import program_date
from members.exports import csv_lines, spreadsheet_safe

from . import charts, selectors

MAX_DAYS = 3660
DEFAULT_INACTIVE_DAYS = 90
EARLIEST, LATEST = date(1970, 1, 1), date(9000, 12, 31)  # beyond them the previous period or a day's end overflows


class PeriodForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), required=False)
    end = forms.DateField(label=gettext_lazy("To"), required=False)
    inactive_days = forms.IntegerField(
        label=gettext_lazy("Inactive for (days)"),
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        help_text=gettext_lazy("Churn: members with no ledger entry in this many days up to the period's end."),
    )

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
        data["inactive_days"] = data.get("inactive_days") or DEFAULT_INACTIVE_DAYS
        return data


def dashboard_view(request):
    if not request.user.has_perm("ledger.view_entry"):
        raise PermissionDenied
    form = PeriodForm(request.GET)  # every field optional: no GET is the last 30 days
    download = request.GET.get("download")
    if download is not None and download not in DOWNLOADS:
        raise Http404(_("There is no such download."))
    report = None
    if form.is_valid():
        report = selectors.dashboard(form.cleaned_data["period"], inactive_days=form.cleaned_data["inactive_days"])
        tables = _tables(report)
        if download is not None:
            header, rows = tables[download]
            return _csv(download, header, rows)
        report["rows"] = _figure_rows(report)
        report["charts"] = _charts(report)
    context = {
        **admin.site.each_context(request),
        "title": _("Program dashboard"),
        "form": form,
        "report": report,
        "downloads": {name.replace("-", "_"): _download_query(request, name) for name in DOWNLOADS},
    }
    return TemplateResponse(request, "admin/reports/dashboard.html", context)


# The data sets a CSV downloads (``?download=<name>``), each the numbers of one table or chart of the page.
DOWNLOADS = (
    "figures",
    "kinds",
    "series",
    "sources",
    "top-campaigns-points",
    "top-campaigns-sales",
    "top-rewards-redemptions",
    "top-rewards-points",
    "tiers",
    "tier-movements",
    "referrals",
    "forecast",
)


def _download_query(request, name: str) -> str:
    query = request.GET.copy()
    query["download"] = name
    return query.urlencode()


def _na(value):
    return "—" if value is None else value


def _figure_rows(report) -> list[dict]:
    """The figures table: (test id, label, this period, previous period), per-period figures then "now" ones."""
    current, previous = report["figures"]["current"], report["figures"]["previous"]
    days = current["churn"]["days"]
    spec = [
        ("active", _("Active members"), lambda f: f["active"]),
        ("participation", _("Participation rate"), lambda f: _na(f["participation"])),
        ("members", _("Members"), lambda f: f["members"]),
        ("new", _("New members"), lambda f: f["new"]),
        ("issued", _("Points issued"), lambda f: f["issued"]),
        ("redeemed", _("Points redeemed"), lambda f: f["redeemed"]),
        ("expired", _("Points expired"), lambda f: f["expired"]),
        ("redemption-rate", _("Redemption rate"), lambda f: _na(f["redemption_rate"])),
        ("breakage", _("Breakage"), lambda f: _na(f["breakage"])),
        ("buyers", _("Members who bought"), lambda f: f["buyers"]),
        ("repeat-rate", _("Repeat purchase rate"), lambda f: _na(f["repeat_rate"])),
        ("basket-with", _("Average basket, members who redeemed"), lambda f: _na(f["basket_with"]["average"])),
        (
            "basket-without",
            _("Average basket, members who did not redeem"),
            lambda f: _na(f["basket_without"]["average"]),
        ),
        (
            "inactive",
            _("Members inactive for %(days)s days") % {"days": days},
            lambda f: f["churn"]["inactive"],
        ),
        ("churn", _("Churn rate (%(days)s days)") % {"days": days}, lambda f: _na(f["churn"]["rate"])),
        ("upgrades", _("Tier upgrades"), lambda f: f["tier_movements"]["upgrades"]),
        ("downgrades", _("Tier downgrades"), lambda f: f["tier_movements"]["downgrades"]),
        ("referrals-made", _("Referrals made"), lambda f: f["referrals"]["made"]),
        ("referrals-credited", _("Referrals credited (of those made)"), lambda f: f["referrals"]["credited"]),
    ]
    rows = [
        {"id": key, "label": label, "current": value(current), "previous": value(previous)}
        for key, label, value in spec
    ]
    rows.append(
        {
            "id": "outstanding",
            "label": _("Outstanding points (now)"),
            "current": report["outstanding"]["points"],
            "previous": "",
        }
    )
    rows.append(
        {
            "id": "liability",
            "label": _("Liability (now)"),
            "current": report["outstanding"]["liability"],
            "previous": "",
        }
    )
    return rows


def _funnel_stages(funnel) -> list[tuple[str, int]]:
    return [
        (_("Referrals made"), funnel["made"]),
        (_("Friends enrolled"), funnel["enrolled"]),
        (_("Qualified"), funnel["qualified"]),
        (_("Credited"), funnel["credited"]),
    ]


def _charts(report) -> dict:
    return {
        "series": charts.line_chart(report["series"]["points"]),
        "kinds": charts.bar_chart(report["by_kind"], value="points"),
        "tiers": charts.bar_chart(report["tiers"], value="members", colour="colour"),
        "funnel": charts.funnel_chart(_funnel_stages(report["figures"]["current"]["referrals"])),
        "forecast": charts.bar_chart(
            [{"label": row["month"].strftime("%Y-%m"), "points": row["points"]} for row in report["forecast"]],
            value="points",
        ),
    }


def _tables(report) -> dict:
    """Every download's header and rows (no query: the report is read)."""
    campaign_header = [_("Campaign"), _("Points"), _("Net of returns"), _("Matched sales"), _("Purchases")]

    def campaign_rows(rows):
        return [[row["label"], row["points"], row["net"], row["sales"], row["purchases"]] for row in rows]

    reward_header = [_("Reward"), _("Redemptions"), _("Units"), _("Points")]

    def reward_rows(rows):
        return [[row["label"], row["redemptions"], row["units"], row["points"]] for row in rows]

    current, previous = report["figures"]["current"], report["figures"]["previous"]
    return {
        "figures": (
            [_("Figure"), _("This period"), _("Previous period")],
            [[row["label"], row["current"], row["previous"]] for row in _figure_rows(report)],
        ),
        "kinds": ([_("Kind"), _("Points")], [[row["label"], row["points"]] for row in report["by_kind"]]),
        "series": (
            [_("From"), _("Points issued"), _("Points redeemed"), _("Points expired")],
            [
                [row["start"].isoformat(), row["issued"], row["redeemed"], row["expired"]]
                for row in report["series"]["points"]
            ],
        ),
        "sources": ([_("Source"), *campaign_header[1:]], campaign_rows(report["by_source"])),
        "top-campaigns-points": (campaign_header, campaign_rows(report["top_campaigns"]["points"])),
        "top-campaigns-sales": (campaign_header, campaign_rows(report["top_campaigns"]["sales"])),
        "top-rewards-redemptions": (reward_header, reward_rows(report["top_rewards"]["redemptions"])),
        "top-rewards-points": (reward_header, reward_rows(report["top_rewards"]["points"])),
        "tiers": ([_("Tier"), _("Members")], [[row["label"], row["members"]] for row in report["tiers"]]),
        "tier-movements": (
            [_("From"), _("To"), _("Direction"), _("Changes")],
            [
                [row["from"], row["to"], DIRECTIONS[row["direction"]], row["changes"]]
                for row in current["tier_movements"]["pairs"]
            ],
        ),
        "referrals": (
            [_("Stage"), _("This period"), _("Previous period")],
            [
                [label, count, before]
                for (label, count), (_label, before) in zip(
                    _funnel_stages(current["referrals"]), _funnel_stages(previous["referrals"]), strict=True
                )
            ],
        ),
        "forecast": (
            [_("Month"), _("Points"), _("Lots"), _("Value")],
            [[row["month"].strftime("%Y-%m"), row["points"], row["lots"], row["value"]] for row in report["forecast"]],
        ),
    }


DIRECTIONS = {"up": gettext_lazy("Upgrade"), "down": gettext_lazy("Downgrade"), "same": gettext_lazy("Same rank")}


def _csv(name, header, rows):
    lines = list(
        csv_lines(header, ([spreadsheet_safe(str(cell)) for cell in row] for row in rows))
    )  # a few rows: in the request's language
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dashboard-{name}.csv"'
    return response
