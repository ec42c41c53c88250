"""Leaderboards in the staff admin: configured by program managers (history kept), saved through
``leaderboard_save``; who takes part, under which nickname, with *Reset nickname* for an abusive one
(``leaderboard_nickname_reset``; the entry's change permission). Nobody edits an entry by hand."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from loyalty.admin_site import MemberNumberSearchMixin

from .models import Leaderboard, LeaderboardEntry
from .services import leaderboard_nickname_reset, leaderboard_save


@admin.register(Leaderboard)
class LeaderboardAdmin(admin.ModelAdmin):
    list_display = ["name", "metric", "tier", "starts_on", "ends_on", "active"]
    list_filter = ["active", "metric", "tier"]
    search_fields = ["name", "name_fr"]
    list_select_related = ["tier"]
    fields = ["name", "name_fr", "description", "description_fr", "metric", "mission", "tier", "starts_on", "ends_on",
              "active"]  # fmt: skip
    autocomplete_fields = ["mission"]

    def save_model(self, request, obj, form, change):
        leaderboard_save(leaderboard=obj, actor=request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # Make it inactive: members' entries and the history name it.


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(MemberNumberSearchMixin, admin.ModelAdmin):
    list_display = ["nickname_shown", "leaderboard", "member", "joined_at", "nickname_reset_at", "nickname_reset_by"]
    list_filter = ["leaderboard"]
    list_select_related = ["leaderboard", "member", "nickname_reset_by"]
    search_fields = ["nickname", "member__member_number"]
    search_help_text = _("A nickname, or a member number (its check digit is checked).")
    member_number_lookup = "member__member_number"
    readonly_fields = ["leaderboard", "member", "nickname", "joined_at", "nickname_reset_at", "nickname_reset_by"]
    fields = readonly_fields
    actions = ["reset_nickname"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # The member leaves from the portal.

    @admin.display(description=_("Nickname"), ordering="nickname")
    def nickname_shown(self, entry):
        return entry.nickname or _("(reset: Player %(number)s)") % {"number": entry.pk}

    @admin.action(description=_("Reset the nickname (an abusive one)"), permissions=["change"])
    def reset_nickname(self, request, queryset):
        entries = list(queryset)
        for entry in entries:
            leaderboard_nickname_reset(entry=entry, actor=request.user)
        count = len(entries)
        self.message_user(
            request,
            ngettext("%(count)s nickname reset.", "%(count)s nicknames reset.", count) % {"count": count},
            messages.SUCCESS,
        )
