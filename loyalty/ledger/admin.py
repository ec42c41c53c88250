from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from loyalty.exceptions import LoyaltyError

from . import services as ledger
from .forms import AdjustPointsForm
from .models import Account, Entry, Lot


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is written by its services only: the admin shows, never edits."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ["created_at", "kind", "amount", "balance_after", "memo_display", "reverses"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    extra = 0
    max_num = 0
    show_change_link = True
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reverses")


class LotInline(admin.TabularInline):
    model = Lot
    fields = ["available_at", "expires_on", "amount", "remaining", "expired", "pending"]
    readonly_fields = fields
    ordering = ["expires_on", "id"]
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["member", "balance", "pending", "lifetime_earned", "lifetime_spent", "lifetime_expired"]
    list_select_related = ["member"]
    search_fields = ["member__member_number", "member__user__email"]
    readonly_fields = [
        "member",
        "balance",
        "pending",
        "lifetime_earned",
        "lifetime_spent",
        "lifetime_expired",
        "adjust_link",
    ]
    inlines = [LotInline, EntryInline]

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm("ledger.adjust_points")

    @admin.display(description=_("Adjust"))
    def adjust_link(self, account):
        url = reverse("admin:ledger_account_adjust", args=[account.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Adjust points"))

    def get_urls(self):
        adjust = self.admin_site.admin_view(self.adjust_view)
        return [path("<int:pk>/adjust/", adjust, name="ledger_account_adjust"), *super().get_urls()]

    def adjust_view(self, request, pk):
        if not request.user.has_perm("ledger.adjust_points"):
            raise PermissionDenied
        account = get_object_or_404(Account.objects.select_related("member__user"), pk=pk)
        form = AdjustPointsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = ledger.adjust(
                    account, form.cleaned_data["points"], reason=form.cleaned_data["reason"], actor=request.user
                )
            except LoyaltyError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, _("Adjusted by %(points)+d points.") % {"points": entry.amount})
                return redirect("admin:ledger_account_change", account.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Adjust the points of %(member)s") % {"member": account.member},
            "account": account,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/ledger/account/adjust.html", context)


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "member_number",
        "kind",
        "amount",
        "balance_after",
        "memo_display",
        "cause_type",
        "cause_id",
    ]
    list_filter = ["kind", "created_at", "cause_type"]
    list_select_related = ["account__member", "cause_type"]
    search_fields = ["account__member__member_number", "account__member__user__email", "memo", "cause_id", "=kind"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description=_("Member"), ordering="account__member__member_number")
    def member_number(self, entry):
        return entry.account.member.member_number


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "amount", "remaining", "expired", "pending", "available_at", "expires_on"]
    list_filter = ["pending", "expires_on"]
    list_select_related = ["account__member"]
    search_fields = ["account__member__member_number", "account__member__user__email"]
