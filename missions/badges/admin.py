"""Badges in the staff admin: configured by program managers (their history kept), saved through ``badge_save``;
the badges members earned, read-only (only the services award or take back a badge)."""

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from loyalty.admin_site import MemberNumberSearchMixin, ReadOnlyAdmin

from .icons import icon_url
from .models import Badge, MemberBadge
from .services import badge_save


@admin.register(Badge)
class BadgeAdmin(admin.ModelAdmin):
    list_display = ["picture", "name", "code", "milestone", "milestone_count", "milestone_tier", "active", "earned"]
    list_display_links = ["name"]
    list_filter = ["active", "milestone"]
    search_fields = ["name", "name_fr", "code"]
    fieldsets = [
        (None, {"fields": ["code", "name", "name_fr", "description", "description_fr", "icon", "active"]}),
        (
            _("Milestone"),
            {
                "fields": ["milestone", "milestone_count", "milestone_tier"],
                "description": _(
                    "A milestone badge is awarded by the program: at the purchase or the tier change that reaches it, "
                    "and each morning for years as a member (and to members who reached it before it existed)."
                ),
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("milestone_tier").annotate(earned=Count("awards"))

    def has_delete_permission(self, request, obj=None):
        return False  # Members' badges name it: make it inactive.

    def save_model(self, request, obj, form, change):
        badge_save(badge=obj, actor=request.user)

    @admin.display(description=_("Picture"))
    def picture(self, badge):
        return format_html('<img src="{}" width="32" height="32" alt="">', icon_url(badge.icon))

    @admin.display(description=_("Earned by"), ordering="earned")
    def earned(self, badge):
        return badge.earned


@admin.register(MemberBadge)
class MemberBadgeAdmin(MemberNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["earned_at", "member", "badge", "source"]
    list_filter = ["badge"]
    list_select_related = ["member", "badge"]
    search_fields = ["member__member_number"]
    search_help_text = _("A member number (its check digit is checked).")
    member_number_lookup = "member__member_number"
    date_hierarchy = "earned_at"
    show_full_result_count = False
