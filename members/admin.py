from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Member


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["member_number", "email", "full_name", "status", "joined_at", "balance"]
    list_filter = ["status", "joined_at"]
    list_select_related = ["user", "account"]
    search_fields = ["member_number", "user__email", "user__first_name", "user__last_name"]
    readonly_fields = ["member_number", "user", "joined_at", "points_account"]
    fields = ["member_number", "user", "status", "joined_at", "points_account"]

    def has_add_permission(self, request):
        return False  # Members are enrolled through the portal or the partner API.

    @admin.display(description=_("E-mail"), ordering="user__email")
    def email(self, member):
        return member.user.email

    @admin.display(description=_("Name"))
    def full_name(self, member):
        return member.user.get_full_name()

    @admin.display(description=_("Balance"), ordering="account__balance")
    def balance(self, member):
        return member.account.balance

    @admin.display(description=_("Points account"))
    def points_account(self, member):
        url = reverse("admin:ledger_account_change", args=[member.account.pk])
        return format_html('<a href="{}">{} points</a>', url, member.account.balance)
