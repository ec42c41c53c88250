"""Earning in the staff admin: the rates, the campaigns and their rules, event types, and what partners posted.

- **Earning policy** (one row, like the tier and gift policies) and **rate overrides**.
- **Campaigns** with their rules inline (a rule of a kind must have that kind's fields:
  ``campaigns/forms.py``), tiers and partners side by side; their status moves only
  through the actions *Publish*, *Pause*, *Archive* (``campaign_status_set``); the change
  page shows the statistics (``campaigns/reports.py``), uploads the member list
  (``campaign_members_set``: all rows valid or nothing written) and links the dry run.
- The **simulator** (``simulator/``, staff with ``campaigns.view_campaign``): a member or a
  tier, a basket, and the engine's breakdown, writing nothing.
- **Event types**: the built-in ones keep their code and are never deleted.
- **Events**, **purchases** and **returns** are read only: partners post them; staff approve
  or decline an event awaiting approval (``campaigns.approve_event``) through
  ``campaigns.events``.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from loyalty.admin_site import MemberNumberSearchMixin, ReadOnlyAdmin
from loyalty.exceptions import LoyaltyError
from loyalty.reports.export_admin import CsvExportMixin
from loyalty.reports.exports import CAMPAIGNS

from . import simulator
from .campaign_services import campaign_members_set, campaign_status_set
from .forms import CampaignForm, DeclineForm, DryRunForm, EventTypeForm, MemberListForm, RuleForm
from .models import (
    Award,
    Campaign,
    CampaignStatus,
    EarningPolicy,
    Event,
    EventType,
    Outcome,
    Purchase,
    PurchaseLine,
    PurchaseReturn,
    RateOverride,
    ReturnLine,
    Rule,
)
from .reports import campaigns_with_stats, stats_of

APPROVE_PERMISSION = "campaigns.approve_event"
SIMULATE_PERMISSION = "campaigns.view_campaign"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The rates


@admin.register(EarningPolicy)
class EarningPolicyAdmin(admin.ModelAdmin):
    """The one earning policy: its change page is the list (program managers change it; others may only read)."""

    fields = ["points_per_unit", "amount_tolerance", "return_policy", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # the admin's own refusal
        return redirect("admin:campaigns_earningpolicy_change", 1)


@admin.register(RateOverride)
class RateOverrideAdmin(admin.ModelAdmin):
    list_display = ["__str__", "partner", "category", "sku", "points_per_unit", "active"]
    list_filter = ["active", "partner"]
    list_select_related = ["partner"]
    search_fields = ["category", "sku", "partner__name"]
    show_full_result_count = False


# Campaigns


class RuleInline(admin.StackedInline):
    model = Rule
    form = RuleForm
    extra = 0
    fieldsets = [
        (None, {"fields": [("kind", "priority", "exclusive")]}),
        (_("What it gives"), {"fields": [("multiplier", "points")]}),
        (_("What it matches"), {"fields": [("skus", "categories"), ("min_amount", "min_quantity"), "event_type"]}),
    ]


@admin.register(Campaign)
class CampaignAdmin(CsvExportMixin, admin.ModelAdmin):
    csv_export = CAMPAIGNS  # the list's statistics and the matched sales: campaigns.view_campaign
    form = CampaignForm
    inlines = [RuleInline]
    list_display = [
        "name",
        "status",
        "starts_at",
        "ends_at",
        "rule_count",
        "members_reached",
        "points_net",
        "budget_left",
        "purchases_matched",
    ]
    list_filter = ["status"]
    search_fields = ["name", "name_fr"]
    filter_horizontal = ["tiers", "partners"]
    readonly_fields = ["status", "points_awarded"]
    actions = ["publish", "pause", "archive"]
    show_full_result_count = False
    change_list_template = "admin/campaigns/campaign/change_list.html"
    change_form_template = "admin/campaigns/campaign/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "name_fr", "description", "description_fr", "status"]}),
        (
            _("When"),
            {
                "fields": [("starts_at", "ends_at"), "weekdays", ("start_time", "end_time")],
                "description": _("Dates and hours are the program's time zone; the end is excluded."),
            },
        ),
        (
            _("Who"),
            {"fields": ["tiers", ("joined_after", "joined_before"), "uses_member_list"]},
        ),
        (_("Where"), {"fields": ["partners", "channels"]}),
        (_("How much"), {"fields": [("member_cap", "cap_period"), "budget", "points_awarded"]}),
    ]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        listing = ("campaigns_campaign_changelist", "campaigns_campaign_export")  # the export sorts as the list
        if request.resolver_match and request.resolver_match.url_name in listing:
            queryset = campaigns_with_stats(queryset).annotate(rules_total=Count("rules", distinct=True))
        return queryset

    def has_delete_permission(self, request, obj=None):
        # A draft that never awarded may go; a campaign that ran is archived (its awards name it).
        return super().has_delete_permission(request, obj) and obj is not None and obj.status == CampaignStatus.DRAFT

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("Rules"), ordering="rules_total")
    def rule_count(self, campaign):
        return campaign.rules_total

    @admin.display(description=_("Members reached"), ordering="stat_members")
    def members_reached(self, campaign):
        return campaign.stat_members

    @admin.display(description=_("Points awarded"), ordering="stat_points")
    def points_net(self, campaign):
        return campaign.stat_points

    @admin.display(description=_("Budget left"))
    def budget_left(self, campaign):
        left = stats_of(campaign).budget_left
        return "—" if left is None else left

    @admin.display(description=_("Purchases matched"), ordering="stat_purchases")
    def purchases_matched(self, campaign):
        return campaign.stat_purchases

    # The status actions

    def _status_action(self, request, queryset, status, done_message):
        moved = 0
        for campaign in queryset.order_by("pk"):
            try:
                campaign_status_set(campaign=campaign, status=status)
            except LoyaltyError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                moved += 1
                self.log_change(request, campaign, done_message)
        if moved:
            self.message_user(
                request,
                ngettext("%(count)d campaign is now %(status)s.", "%(count)d campaigns are now %(status)s.", moved)
                % {"count": moved, "status": CampaignStatus(status).label.lower()},
                messages.SUCCESS,
            )

    @admin.action(description=_("Publish (or resume) the selected campaigns"), permissions=["change"])
    def publish(self, request, queryset):
        self._status_action(request, queryset, CampaignStatus.ACTIVE, gettext("Published."))

    @admin.action(description=_("Pause the selected campaigns"), permissions=["change"])
    def pause(self, request, queryset):
        self._status_action(request, queryset, CampaignStatus.PAUSED, gettext("Paused."))

    @admin.action(description=_("Archive the selected campaigns (for good)"), permissions=["change"])
    def archive(self, request, queryset):
        self._status_action(request, queryset, CampaignStatus.ARCHIVED, gettext("Archived."))

    # The change page: statistics, member list, dry run

    def get_urls(self):
        site = self.admin_site
        return [
            path("simulator/", site.admin_view(self.simulator_view), name="campaigns_campaign_simulator"),
            path("<int:pk>/members/", site.admin_view(self.member_list_view), name="campaigns_campaign_members"),
            path("<int:pk>/dry-run/", site.admin_view(self.dry_run_view), name="campaigns_campaign_dry_run"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        campaign = campaigns_with_stats(Campaign.objects.filter(pk=object_id)).first() if object_id.isdigit() else None
        if campaign is not None:
            extra.update(
                stats=stats_of(campaign),
                listed_members=campaign.listed_members.count(),
                member_list_form=MemberListForm() if self.has_change_permission(request, campaign) else None,
                member_list_url=reverse("admin:campaigns_campaign_members", args=[campaign.pk]),
                dry_run_url=reverse("admin:campaigns_campaign_dry_run", args=[campaign.pk]),
                simulator_url=reverse("admin:campaigns_campaign_simulator") + f"?campaign={campaign.pk}",
            )
        return super().change_view(request, object_id, form_url, extra)

    def _campaign(self, request, pk, *, change=False) -> Campaign:
        campaign = get_object_or_404(Campaign, pk=pk)
        allowed = self.has_change_permission(request, campaign) if change else self.has_view_permission(request)
        if not allowed:
            raise PermissionDenied
        return campaign

    def member_list_view(self, request, pk):
        """POST a CSV of member numbers: the campaign's list, or a form error per bad row and nothing written."""
        if request.method != "POST":
            return redirect("admin:campaigns_campaign_change", pk)
        campaign = self._campaign(request, pk, change=True)
        form = MemberListForm(request.POST, request.FILES)
        if not form.is_valid():
            for field, errors in form.errors.items():
                for error in errors:
                    label = form.fields[field].label if field in form.fields else ""
                    self.message_user(request, f"{label}: {error}" if label else error, messages.ERROR)
            self.message_user(request, gettext("The member list is unchanged."), messages.WARNING)
            return redirect("admin:campaigns_campaign_change", pk)
        try:
            size = campaign_members_set(
                campaign=campaign, member_numbers=form.cleaned_data["file"], replace=form.cleaned_data["replace"]
            )
        except LoyaltyError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.log_change(request, campaign, gettext("Uploaded its member list."))
            self.message_user(
                request,
                ngettext(
                    "The campaign's list holds %(count)d member.", "The campaign's list holds %(count)d members.", size
                )
                % {"count": size},
                messages.SUCCESS,
            )
        return redirect("admin:campaigns_campaign_change", pk)

    def dry_run_view(self, request, pk):
        """What the campaign would have given over the last days of real purchases (read only)."""
        campaign = self._campaign(request, pk)
        form = DryRunForm(request.GET or None)
        result = None
        if form.is_valid():
            result = simulator.campaign_dry_run(campaign=campaign, days=form.cleaned_data["days"], now=timezone.now())
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Dry run of %(name)s") % {"name": campaign},
            "opts": self.model._meta,
            "original": campaign,
            "campaign": campaign,
            "form": form,
            "result": result,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/dry_run.html", context)

    def simulator_view(self, request):
        """A member (or a tier) and a basket: the engine's breakdown, nothing written."""
        if not request.user.has_perm(SIMULATE_PERMISSION):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        form, lines = simulator.simulator_forms(data, initial_campaign=request.GET.get("campaign"))
        outcome = None
        if data is not None and form.is_valid() and lines.is_valid():
            try:
                outcome = simulator.purchase_simulate(**simulator.simulation_input(form, lines))
            except LoyaltyError as error:
                form.add_error(None, error.message)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Earning simulator"),
            "opts": self.model._meta,
            "form": form,
            "lines": lines,
            "outcome": outcome,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/simulator.html", context)


# Event types and events


@admin.register(EventType)
class EventTypeAdmin(admin.ModelAdmin):
    form = EventTypeForm
    list_display = ["name", "name_fr", "code", "points", "limit", "requires_approval", "active", "builtin"]
    list_filter = ["active", "builtin", "requires_approval"]
    search_fields = ["code", "name", "name_fr"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None and obj.builtin else []

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.builtin:
            return False  # partners and the program post them
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would not spare the built-in ones
        return actions


class AwardInline(ReadOnlyInline):
    model = Award
    fields = ["line", "source", "campaign", "rule", "points", "returned_points", "reason", "params"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("line", "campaign", "rule__campaign")


class EventAwardInline(AwardInline):
    fk_name = "event"
    fields = ["source", "campaign", "rule", "points", "returned_points", "reason", "params"]
    readonly_fields = fields


@admin.register(Event)
class EventAdmin(MemberNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["event_type", "member", "partner", "occurred_at", "outcome", "points", "decided_at"]
    list_filter = ["outcome", "event_type"]
    list_select_related = ["event_type", "member", "partner"]
    search_fields = ["external_id", "member__member_number"]
    search_help_text = _("A member number (its check digit is checked) or the partner's event id.")
    member_number_lookup = "member__member_number"
    show_full_result_count = False
    actions = ["approve", "decline"]
    inlines = [EventAwardInline]
    fields = [
        "event_type",
        "member",
        "partner",
        "external_id",
        "occurred_at",
        "attributes",
        "outcome",
        "points",
        "entry",
        "decided_at",
        "decided_by_user",
        "decided_by_partner",
        "decision_reason",
        "created_at",
    ]
    readonly_fields = fields

    def has_approve_permission(self, request):
        return request.user.has_perm(APPROVE_PERMISSION)

    def _awaiting(self, request, queryset):
        awaiting = list(queryset.filter(outcome=Outcome.AWAITING_APPROVAL).select_related("member", "event_type"))
        skipped = queryset.count() - len(awaiting)
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d event was not awaiting approval: left as it was.",
                    "%(count)d events were not awaiting approval: left as they were.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
        return awaiting

    @admin.action(description=_("Approve the selected events (their points are awarded)"), permissions=["approve"])
    def approve(self, request, queryset):
        from . import events as event_services

        done = 0
        for event in self._awaiting(request, queryset):
            try:
                event_services.event_approve(event=event, actor=request.user, now=timezone.now())
            except LoyaltyError as error:
                self.message_user(request, f"{event}: {error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(count)d event approved.", "%(count)d events approved.", done) % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Decline the selected events (with a reason)"), permissions=["approve"])
    def decline(self, request, queryset):
        """A confirmation page asks the reason; posted with it, each event is declined."""
        from . import events as event_services

        form = DeclineForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            events = list(queryset.select_related("member", "event_type"))
            context = {
                **self.admin_site.each_context(request),
                "title": gettext("Decline events"),
                "opts": self.model._meta,
                "events": events,
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/campaigns/event/decline.html", context)
        done = 0
        for event in self._awaiting(request, queryset):
            try:
                event_services.event_decline(
                    event=event, actor=request.user, reason=form.cleaned_data["reason"], now=timezone.now()
                )
            except LoyaltyError as error:
                self.message_user(request, f"{event}: {error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(count)d event declined.", "%(count)d events declined.", done) % {"count": done},
                messages.SUCCESS,
            )
        return None


# Purchases and returns


class PurchaseLineInline(ReadOnlyInline):
    model = PurchaseLine
    fields = [
        "position",
        "sku",
        "category",
        "quantity",
        "unit_price",
        "discount_amount",
        "paid_amount",
        "points",
        "returned_quantity",
        "returned_amount",
        "returned_points",
    ]
    readonly_fields = fields


class PurchaseAwardInline(AwardInline):
    fk_name = "purchase"


class PurchaseReturnInline(ReadOnlyInline):
    model = PurchaseReturn
    fields = ["external_id", "amount", "points", "shortfall", "policy", "created_at"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Purchase)
class PurchaseAdmin(MemberNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["external_id", "partner", "member", "occurred_at", "amount", "currency", "outcome", "points"]
    list_filter = ["outcome", "partner", "channel"]
    list_select_related = ["partner", "member"]
    search_fields = ["external_id", "member__member_number"]
    search_help_text = _("A member number (its check digit is checked) or the partner's transaction id.")
    member_number_lookup = "member__member_number"
    show_full_result_count = False
    inlines = [PurchaseLineInline, PurchaseAwardInline, PurchaseReturnInline]
    fields = [
        "partner",
        "external_id",
        "member",
        "occurred_at",
        "amount",
        "currency",
        "discount_amount",
        "points_amount",
        "channel",
        "store",
        "outcome",
        "points",
        "pending_points",
        "available_at",
        "entry",
        "created_at",
    ]
    readonly_fields = fields


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ["line", "quantity", "amount", "points"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("line")


@admin.register(PurchaseReturn)
class PurchaseReturnAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "purchase", "partner", "amount", "points", "shortfall", "policy", "created_at"]
    list_filter = ["policy", "partner"]
    list_select_related = ["purchase", "partner"]
    search_fields = ["external_id", "purchase__external_id"]
    show_full_result_count = False
    inlines = [ReturnLineInline]
    fields = ["purchase", "partner", "external_id", "amount", "points", "shortfall", "policy", "entry", "created_at"]
    readonly_fields = fields
