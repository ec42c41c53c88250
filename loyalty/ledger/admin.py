"""The ledger in the staff admin: read-only lists, and the two forms that move points.

Adjusting points and reversing an entry call ``ledger.adjust`` / ``ledger.reverse`` with
the staff user as actor, a reason, and the form's one-time token as idempotency key. A
member's points are read on the member's page (members/admin.py), where both forms are
linked; an account's own admin page sends there.
"""

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty.admin_site import MemberNumberSearchMixin, ReadOnlyAdmin
from loyalty.exceptions import LoyaltyError
from loyalty.reports.export_admin import CsvExportMixin
from loyalty.reports.exports import ENTRIES

from . import services as ledger
from .forms import AdjustPointsForm, ReverseEntryForm
from .models import NOT_REVERSIBLE_KINDS, Account, Entry, Hold, HoldStatus, Lot
from .selectors import entry_reversible_points

ADJUST_PERMISSION = "ledger.adjust_points"  # adjusting points and reversing entries

# What can cause an entry (app_label.model). The cause filter offers these, not every table.
ENTRY_CAUSES = [
    "ledger.adjustment",
    "ledger.expiryrun",
    "ledger.entry",  # a repayment names the entry that brought the points, a write-off its reversal
    "members.memberstatuschange",
    "members.gift",
    "referrals.referral",
    "campaigns.purchase",
    "campaigns.event",
    "rewards.pointspayment",  # a hold, its capture and release (pay with points at a till)
]


def member_page_url(member_id: int) -> str:
    return reverse("admin:members_member_change", args=[member_id])


def actor_label(actor) -> str:
    """Who made an entry, as staff read it: a user's name, a partner's name, or the system."""
    if actor is None:
        return gettext("System")
    if isinstance(actor, get_user_model()):
        name = actor.get_full_name() or actor.get_username()
        return gettext("%(name)s (staff)") % {"name": name} if actor.is_staff else name
    return str(actor)


@admin.register(Account)
class AccountAdmin(MemberNumberSearchMixin, ReadOnlyAdmin):
    list_display = [
        "member",
        "balance",
        "pending",
        "held",
        "debt",
        "lifetime_earned",
        "lifetime_spent",
        "lifetime_expired",
    ]
    list_select_related = ["member"]
    search_fields = ["member__member_number", "member__user__email"]
    member_number_lookup = "member__member_number"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """An account is read on its member's page, with the member's status, lots and history."""
        account = get_object_or_404(Account.objects.only("member_id"), pk=object_id)
        if not self.has_view_permission(request, account):
            raise PermissionDenied
        return redirect(member_page_url(account.member_id))

    def get_urls(self):
        adjust = self.admin_site.admin_view(self.adjust_view)
        return [path("<int:pk>/adjust/", adjust, name="ledger_account_adjust"), *super().get_urls()]

    def adjust_view(self, request, pk):
        if not request.user.has_perm(ADJUST_PERMISSION):
            raise PermissionDenied
        account = get_object_or_404(Account.objects.select_related("member__user"), pk=pk)
        form = AdjustPointsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = ledger.adjust(
                    account,
                    form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                    qualifying=form.cleaned_data["qualifying"],
                    actor=request.user,
                    idempotency_key=form.idempotency_key,
                )
            except LoyaltyError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    gettext("Adjusted by %(points)+d points: the balance is %(balance)s.")
                    % {"points": entry.amount, "balance": account.balance},
                    messages.SUCCESS,
                )
                return redirect(member_page_url(account.member_id))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Adjust the points of %(member)s") % {"member": account.member},
            "account": account,
            "member_url": member_page_url(account.member_id),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/ledger/account/adjust.html", context)


class CauseFilter(admin.SimpleListFilter):
    title = _("cause")
    parameter_name = "cause"

    def lookups(self, request, model_admin):
        choices = [("none", _("None"))]
        for dotted in ENTRY_CAUSES:
            model = apps.get_model(dotted)
            choices.append((dotted, model._meta.verbose_name.capitalize()))
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(cause_type__isnull=True)
        if value in ENTRY_CAUSES:
            return queryset.filter(cause_type=ContentType.objects.get_for_model(apps.get_model(value)))
        return queryset


@admin.register(Entry)
class EntryAdmin(CsvExportMixin, MemberNumberSearchMixin, ReadOnlyAdmin):
    csv_export = ENTRIES  # the list as filtered, for a period: ledger.export_entry
    list_display = [
        "created_at",
        "member_link",
        "kind",
        "amount",
        "debt",
        "held",
        "balance_after",
        "memo_display",
        "made_by",
        "cause_label",
    ]
    list_filter = ["kind", "created_at", CauseFilter]
    list_select_related = ["account__member"]
    search_fields = ["account__member__member_number", "account__member__user__email", "memo", "cause_id", "=kind"]
    member_number_lookup = "account__member__member_number"
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "member_link",
        "created_at",
        "kind",
        "amount",
        "debt",
        "held",
        "balance_after",
        "memo_display",
        "made_by",
        "cause_label",
        "reverses",
        "idempotency_key",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("actor")

    @admin.display(description=_("Member"), ordering="account__member__member_number")
    def member_link(self, entry):
        member = entry.account.member
        return format_html('<a href="{}">{}</a>', member_page_url(member.pk), member.member_number)

    @admin.display(description=_("Made by"))
    def made_by(self, entry):
        return actor_label(entry.actor)

    @admin.display(description=_("Cause"))
    def cause_label(self, entry):
        if entry.cause_type_id is None:
            return "-"
        model = ContentType.objects.get_for_id(entry.cause_type_id).model_class()
        name = model._meta.verbose_name if model else gettext("unknown")
        return f"{name} {entry.cause_id}"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        entry = Entry.objects.filter(pk=object_id).only("kind", "account__member_id").select_related("account").first()
        extra_context = extra_context or {}
        if entry is not None:
            extra_context["member_url"] = member_page_url(entry.account.member_id)
            if request.user.has_perm(ADJUST_PERMISSION) and entry.kind not in NOT_REVERSIBLE_KINDS:
                extra_context["reverse_url"] = reverse("admin:ledger_entry_reverse", args=[entry.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        reverse_view = self.admin_site.admin_view(self.reverse_view)
        return [path("<int:pk>/reverse/", reverse_view, name="ledger_entry_reverse"), *super().get_urls()]

    def reverse_view(self, request, pk):
        """Reverse an entry, wholly or in part, with a reason (``ledger.reverse``)."""
        if not request.user.has_perm(ADJUST_PERMISSION):
            raise PermissionDenied
        entry = get_object_or_404(Entry.objects.select_related("account__member__user"), pk=pk)
        reversible = entry_reversible_points(entry=entry)
        form = ReverseEntryForm(request.POST or None, reversible=reversible)
        if request.method == "POST" and form.is_valid():
            try:
                reversal = ledger.reverse(
                    entry,
                    points=form.cleaned_data["points"],
                    memo=form.cleaned_data["reason"],
                    actor=request.user,
                    idempotency_key=form.idempotency_key,
                )
            except LoyaltyError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    gettext("Reversed: %(points)+d points.") % {"points": reversal.amount},
                    messages.SUCCESS,
                )
                return redirect(member_page_url(entry.account.member_id))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reverse an entry of %(member)s") % {"member": entry.account.member},
            "entry": entry,
            "reversible": reversible,
            "member_url": member_page_url(entry.account.member_id),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/ledger/entry/reverse.html", context)


@admin.register(Lot)
class LotAdmin(MemberNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["id", "member_link", "amount", "remaining", "expired", "pending", "available_at", "expires_on"]
    list_filter = ["pending", "expires_on"]
    list_select_related = ["account__member"]
    search_fields = ["account__member__member_number", "account__member__user__email"]
    member_number_lookup = "account__member__member_number"

    @admin.display(description=_("Member"), ordering="account__member__member_number")
    def member_link(self, lot):
        member = lot.account.member
        return format_html('<a href="{}">{}</a>', member_page_url(member.pk), member.member_number)


@admin.register(Hold)
class HoldAdmin(MemberNumberSearchMixin, ReadOnlyAdmin):
    """Holds of pay with points, read-only; staff may void open ones (``ledger.hold_void``, staff as actor)."""

    list_display = ["id", "member_link", "status", "points", "captured", "released", "refunded", "created_at",
                    "expires_at", "made_by"]  # fmt: skip
    list_filter = ["status", "created_at"]
    list_select_related = ["account__member"]
    search_fields = ["account__member__member_number", "account__member__user__email"]
    member_number_lookup = "account__member__member_number"
    date_hierarchy = "created_at"
    actions = ["void_holds"]
    fields = ["member_link", "status", "points", "captured", "released", "refunded", "created_at", "expires_at",
              "closed_at", "made_by", "entry", "capture_entry"]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("actor")

    @admin.display(description=_("Member"), ordering="account__member__member_number")
    def member_link(self, hold):
        member = hold.account.member
        return format_html('<a href="{}">{}</a>', member_page_url(member.pk), member.member_number)

    @admin.display(description=_("Made by"))
    def made_by(self, hold):
        return actor_label(hold.actor)

    def has_adjust_points_permission(self, request):
        return request.user.has_perm(ADJUST_PERMISSION)

    @admin.action(description=_("Void the selected open holds (their points go back)"), permissions=["adjust_points"])
    def void_holds(self, request, queryset):
        voided, refused = 0, 0
        for hold in queryset.filter(status=HoldStatus.OPEN).order_by("pk"):
            try:
                ledger.hold_void(hold, actor=request.user)
            except LoyaltyError:
                refused += 1
            else:
                voided += 1
        self.message_user(request, gettext("Voided %(count)d holds.") % {"count": voided}, messages.SUCCESS)
        if refused or queryset.exclude(status=HoldStatus.OPEN).exists():
            self.message_user(request, gettext("Holds no longer open were left as they are."), messages.WARNING)
