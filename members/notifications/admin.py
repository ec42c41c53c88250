"""Notifications in the staff admin, read-only: what a member was told and whether the e-mail went (support reads
it on a call). Nothing here sends or changes a notification."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from loyalty.admin_site import MemberNumberSearchMixin, ReadOnlyAdmin

from .kinds import notification_texts
from .models import ExpiryReminder, Notification


@admin.register(Notification)
class NotificationAdmin(MemberNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["created_at", "member", "kind", "title", "read_at", "send_email", "email_sent_at"]
    list_filter = ["kind", "send_email"]
    list_select_related = ["member"]
    search_fields = ["member__member_number"]
    search_help_text = _("A member number (its check digit is checked).")
    member_number_lookup = "member__member_number"
    date_hierarchy = "created_at"
    fields = [
        "member",
        "kind",
        "title",
        "params",
        "event",
        "reminder",
        "created_at",
        "read_at",
        "send_email",
        "email_sent_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("Text"))
    def title(self, obj: Notification) -> str:
        return notification_texts(obj)[0]


@admin.register(ExpiryReminder)
class ExpiryReminderAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "member", "expires_on", "points"]
    list_select_related = ["member"]
    search_fields = ["member__member_number"]
    date_hierarchy = "created_at"
