"""Missions in the staff admin: each with its steps inline, its figures (members reached, completions paid,
budget left) on the list and the page, its history (config_history); completions read only."""

from django.contrib import admin
from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from loyalty.admin_site import MemberNumberSearchMixin, ReadOnlyAdmin

from .models import Mission, MissionCompletion, MissionProgress, MissionStep


class MissionStepInline(admin.TabularInline):
    model = MissionStep
    extra = 1
    fields = ["position", "kind", "count", "amount", "category", "partner", "event_type", "streak_unit"]
    autocomplete_fields = []


@admin.register(Mission)
class MissionAdmin(admin.ModelAdmin):
    inlines = [MissionStepInline]
    list_display = [
        "name",
        "status",
        "starts_at",
        "ends_at",
        "members_reached",
        "completions_paid",
        "prize_points_paid",
        "budget_left",
    ]
    list_filter = ["status", "completion_limit"]
    search_fields = ["name", "name_fr"]
    filter_horizontal = ["tiers"]
    readonly_fields = [
        "points_paid",
        "completions",
        "members_reached",
        "completions_paid",
        "prize_points_paid",
        "budget_left",
    ]
    fieldsets = [
        (None, {"fields": ["name", "name_fr", "description", "description_fr", "status"]}),
        (
            _("When and who"),
            {
                "fields": [("starts_at", "ends_at"), "tiers", ("joined_after", "joined_before")],
                "description": _("Dates are the program's time zone; the end is excluded."),
            },
        ),
        (_("Steps"), {"fields": ["ordered", "completion_limit"]}),
        (_("Prize"), {"fields": ["prize_points", "prize_reward", "prize_badge"]}),
        (
            _("Budget"),
            {"fields": [("budget_points", "budget_completions"), ("points_paid", "completions"), "budget_left"]},
        ),
        (_("Figures"), {"fields": ["members_reached", "completions_paid", "prize_points_paid"]}),
    ]

    def get_queryset(self, request):
        # Subqueries, not joins: counts over two relations must not multiply each other.
        completions = MissionCompletion.objects.filter(mission=OuterRef("pk"), reversed_at__isnull=True)
        return (
            super()
            .get_queryset(request)
            .annotate(
                reached=Coalesce(
                    Subquery(
                        MissionProgress.objects.filter(mission=OuterRef("pk"))
                        .values("mission")
                        .annotate(n=Count("member", distinct=True))
                        .values("n")
                    ),
                    0,
                ),
                paid_count=Coalesce(Subquery(completions.values("mission").annotate(n=Count("pk")).values("n")), 0),
                paid_points=Coalesce(Subquery(completions.values("mission").annotate(n=Sum("points")).values("n")), 0),
            )
        )

    @admin.display(description=_("completions"), ordering="paid_count")
    def completions_paid(self, mission) -> int:
        return getattr(mission, "paid_count", 0)

    @admin.display(description=_("prize points paid"), ordering="paid_points")
    def prize_points_paid(self, mission) -> int:
        return getattr(mission, "paid_points", 0)

    @admin.display(description=_("members reached"), ordering="reached")
    def members_reached(self, mission) -> int:
        return getattr(mission, "reached", 0)

    @admin.display(description=_("budget left"))
    def budget_left(self, mission) -> str:
        parts = []
        if mission.budget_points is not None:
            parts.append(_("%(points)s points") % {"points": max(mission.budget_points - mission.points_paid, 0)})
        if mission.budget_completions is not None:
            left = max(mission.budget_completions - mission.completions, 0)
            parts.append(_("%(count)s completions") % {"count": left})
        return ", ".join(str(part) for part in parts) or "—"


@admin.register(MissionCompletion)
class MissionCompletionAdmin(MemberNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["mission", "member", "completed_at", "points", "voucher", "badge", "reversed_at", "shortfall"]
    list_filter = ["mission"]
    list_select_related = ["mission", "member", "voucher", "badge"]
    show_full_result_count = False
