"""Members in the staff admin: the list, and the member page that answers a phone call in one screen.

A member's admin page is the support page (``change_view``): who the member is, their
status and its history, their points, expiry timeline, lots and history a page at a
time, and the buttons support uses. Each button posts to its own small view that checks
the permission, calls one service (``ledger.adjust``, ``ledger.reverse``,
``member_status_change``, ``member_password_reset_send``, ``user_login_unlock``,
``member_tier_set``, ``voucher_cancel``, ``ledger.hold_void``, ``delivery_resend``) and
records who did it: the ledger entry's or the status change's actor, the resent delivery's
``resent_by``, and the member's admin history for the e-mails and lifted locks. Nothing about
a member is edited here directly.

The buttons on a row of the page's sections (cancel a voucher, void a hold, resend a
webhook) post the row's id with a ticked confirmation; the id must be one of this member's
(another member's id is a form error, and nothing changes). A second press changes nothing:
``voucher_cancel`` returns a cancelled voucher as it is, ``hold_void`` refuses a closed hold,
and a resend carries a one-time token (``delivery_resend``'s idempotency key).
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from loyalty.admin_site import MemberNumberSearchMixin
from loyalty.exceptions import LoyaltyError
from loyalty.ledger import services as ledger
from loyalty.ledger.admin import ADJUST_PERMISSION, actor_label
from loyalty.ledger.forms import AdjustPointsForm, OneTimeTokenForm
from loyalty.ledger.models import Hold
from loyalty.ledger.selectors import NOT_REVERSIBLE_KINDS
from loyalty.reports.export_admin import CsvExportMixin
from loyalty.reports.exports import MEMBERS
from loyalty.webhooks.admin import RESEND_PERMISSION
from loyalty.webhooks.models import WebhookDelivery
from loyalty.webhooks.services import delivery_resend
from rewards.admin import code_masked
from rewards.models import Voucher, VoucherStatus
from rewards.services import voucher_cancel

from .models import GiftPolicy, Member, MemberStatus
from .numbers import member_number_clean
from .services import (
    MERGE_PERMISSION,
    STATUS_PERMISSIONS,
    member_merge,
    member_password_reset_send,
    member_status_change,
    user_login_unlock,
)
from .support import SECTIONS, member_support_get
from .tiers.models import Tier
from .tiers.services import SET_TIER_PERMISSION, member_tier_set

HELP_LOGIN_PERMISSION = "members.change_member"  # send a password-reset e-mail, lift a login lock
CANCEL_VOUCHER_PERMISSION = "rewards.change_voucher"
VOID_HOLD_PERMISSION = ADJUST_PERMISSION  # as the hold list's "Void" action: the points go back to the balance


class StatusChangeForm(forms.Form):
    status = forms.ChoiceField(choices=MemberStatus.choices, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=255)
    confirm = forms.BooleanField(label=_("I understand: closing is final and forfeits every point."), required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") == MemberStatus.CLOSED and not cleaned.get("confirm"):
            self.add_error("confirm", _("Tick the box to confirm the closing."))
        return cleaned


class TierSetForm(forms.Form):
    prefix = "tier"  # the member page has other forms with a reason: ids stay unique
    tier = forms.ModelChoiceField(label=_("Tier"), queryset=Tier.objects.order_by("rank"), empty_label=None)
    until = forms.DateField(
        label=_("Until (last day)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Today or later. To end a tier set by hand early, set it again with today."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, help_text=_("The member reads it on their tier page."))


class MergeForm(forms.Form):
    """Merge the member of the page into another: the survivor's number, then a confirm step with a reason."""

    into = forms.CharField(label=_("Survivor's member number"), max_length=32)
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)
    confirm = forms.BooleanField(
        label=_("I understand: every point moves to the survivor and this member is closed, for good."),
        required=False,
    )

    def clean_into(self):
        try:
            return member_number_clean(self.cleaned_data["into"])
        except LoyaltyError as error:
            raise forms.ValidationError(error.message) from None


class RowActionForm(forms.Form):
    """A button on a row of the member page: the row's id, which must be one of this member's, and a ticked box."""

    row_field = ""
    confirm = forms.BooleanField(error_messages={"required": _("Tick the box to confirm.")})

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.row_field] = forms.ModelChoiceField(
            queryset=queryset, error_messages={"invalid_choice": _("This member has no such row: nothing changed.")}
        )
        self.order_fields([self.row_field, "confirm"])


class VoucherCancelForm(RowActionForm):
    row_field = "voucher"


class HoldVoidForm(RowActionForm):
    row_field = "hold"


class DeliveryResendForm(OneTimeTokenForm, RowActionForm):
    row_field = "delivery"


# (target status, button label) in the order the page shows them, for each current status.
STATUS_ACTIONS = {
    MemberStatus.ACTIVE: [(MemberStatus.SUSPENDED, _("Suspend")), (MemberStatus.CLOSED, _("Close the account"))],
    MemberStatus.SUSPENDED: [(MemberStatus.ACTIVE, _("Reactivate")), (MemberStatus.CLOSED, _("Close the account"))],
    MemberStatus.CLOSED: [],
}


@admin.register(Member)
class MemberAdmin(CsvExportMixin, MemberNumberSearchMixin, admin.ModelAdmin):
    csv_export = MEMBERS  # the list as filtered, with e-mails and names: members.export_member
    list_display = ["member_number", "email", "full_name", "status", "joined_at", "balance"]
    list_filter = ["status", "joined_at"]
    list_select_related = ["user", "account"]
    search_fields = ["member_number", "user__email", "user__first_name", "user__last_name"]
    search_help_text = _("A member number (its check digit is checked), an e-mail or a name.")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # Members are enrolled through the portal or the partner API.

    def has_delete_permission(self, request, obj=None):
        return False  # A member is closed (status), never deleted: their entries keep their history.

    @admin.display(description=_("E-mail"), ordering="user__email")
    def email(self, member):
        return member.user.email

    @admin.display(description=_("Name"))
    def full_name(self, member):
        return member.user.get_full_name()

    @admin.display(description=_("Balance"), ordering="account__balance")
    def balance(self, member):
        return member.account.balance

    def get_urls(self):
        def view(function, name):
            return path(
                f"<int:pk>/{name}/", self.admin_site.admin_view(require_POST(function)), name=f"members_{name}"
            )

        return [
            view(self.status_view, "member_status"),
            view(self.password_reset_view, "member_password_reset"),
            view(self.unlock_view, "member_unlock"),
            view(self.tier_set_view, "member_tier_set"),
            view(self.voucher_cancel_view, "member_voucher_cancel"),
            view(self.hold_void_view, "member_hold_void"),
            view(self.delivery_resend_view, "member_delivery_resend"),
            path("<int:pk>/merge/", self.admin_site.admin_view(self.merge_view), name="members_member_merge"),
            *super().get_urls(),
        ]

    def _member(self, request, pk) -> Member:
        # The merge facts ride along (joins and subqueries), so the page's query count stays fixed.
        absorbed = Member.objects.filter(merged_into=OuterRef("pk"))
        members = Member.objects.select_related("user", "account", "enrolled_by", "merged_into").annotate(
            absorbed_count=Subquery(
                absorbed.order_by().values("merged_into").annotate(count=Count("pk")).values("count")[:1]
            ),
            absorbed_number=Subquery(absorbed.order_by("-updated_at", "-pk").values("member_number")[:1]),
        )
        member = get_object_or_404(members, pk=pk)
        if not self.has_view_or_change_permission(request, member):
            raise PermissionDenied
        return member

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The member page (read-only; its buttons post to the views below)."""
        if request.method != "GET":
            raise PermissionDenied
        member = self._member(request, object_id)
        user = request.user
        support = member_support_get(
            member=member,
            entries_page=request.GET.get("entries", 1),
            lots_page=request.GET.get("lots", 1),
            sections=frozenset(name for name, permission in SECTIONS.items() if user.has_perm(permission)),
        )
        may_adjust = user.has_perm(ADJUST_PERMISSION)
        may_view_entries = user.has_perm("ledger.view_entry")
        entries = []
        for entry in support.entries:
            reversible = (
                may_adjust and entry.kind not in NOT_REVERSIBLE_KINDS and abs(entry.reversed_total) < abs(entry.amount)
            )
            entries.append(
                {
                    "entry": entry,
                    "made_by": actor_label(support.actors.get((entry.actor_type_id, entry.actor_id)))
                    if entry.actor_type_id
                    else actor_label(None),
                    "url": reverse("admin:ledger_entry_change", args=[entry.pk]) if may_view_entries else "",
                    "reverse_url": reverse("admin:ledger_entry_reverse", args=[entry.pk]) if reversible else "",
                }
            )
        status_actions = [
            {"status": status, "label": label, "form": StatusChangeForm(initial={"status": status})}
            for status, label in STATUS_ACTIONS[member.status]
            if user.has_perm(STATUS_PERMISSIONS[status])
        ]
        may_help_login = user.has_perm(HELP_LOGIN_PERMISSION) and member.status != MemberStatus.CLOSED
        partner = member.enrolled_by
        context = {
            **self.admin_site.each_context(request),
            "title": member.user.get_full_name() or member.user.email,
            "opts": self.model._meta,
            "original": member,
            "member": member,
            "support": support,
            "entries": entries,
            "adjust_form": AdjustPointsForm() if may_adjust and member.status == MemberStatus.ACTIVE else None,
            "adjust_url": reverse("admin:ledger_account_adjust", args=[member.account.pk]),
            "status_actions": status_actions,
            "may_help_login": may_help_login,
            "partner_url": reverse("admin:partners_partner_change", args=[partner.pk])
            if partner and user.has_perm("partners.view_partner")
            else "",
            "lots_url": reverse("admin:ledger_lot_changelist") + f"?q={member.member_number}"
            if user.has_perm("ledger.view_lot")
            else "",
            "history_url": reverse("admin:members_member_history", args=[member.pk]),
            "tier_form": TierSetForm()
            if user.has_perm(SET_TIER_PERMISSION) and member.status != MemberStatus.CLOSED
            else None,
            "merge_form": MergeForm()
            if user.has_perm(MERGE_PERMISSION) and member.status != MemberStatus.CLOSED
            else None,
            "merged_into_url": reverse("admin:members_member_change", args=[member.merged_into_id])
            if member.merged_into_id
            else "",
            **self._sections_context(user, member, support),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/members/member/support.html", context)

    def _sections_context(self, user, member, support) -> dict:
        """The latest purchases, vouchers, holds, referrals, notifications and webhook deliveries: their rows, the
        full lists' addresses, and the buttons the user may press."""
        open_member = member.status != MemberStatus.CLOSED
        search = f"?q={member.member_number}"
        lists = {
            "purchases": "admin:campaigns_purchase_changelist",
            "vouchers": "admin:rewards_voucher_changelist",
            "holds": "admin:ledger_hold_changelist",
            "referrals": "admin:referrals_referral_changelist",
            "notifications": "admin:notifications_notification_changelist",
            "deliveries": "admin:webhooks_webhookdelivery_changelist",
            "badges": "admin:badges_memberbadge_changelist",
        }
        context = {f"{name}_list_url": reverse(url) + search for name, url in lists.items() if getattr(support, name)}
        context["may_cancel_vouchers"] = open_member and user.has_perm(CANCEL_VOUCHER_PERMISSION)
        context["may_void_holds"] = open_member and user.has_perm(VOID_HOLD_PERMISSION)
        if support.vouchers:
            context["voucher_rows"] = [
                {"voucher": voucher, "code": code_masked(voucher.code)} for voucher in support.vouchers.rows
            ]
        if support.deliveries:
            may_resend = user.has_perm(RESEND_PERMISSION)
            context["delivery_rows"] = [
                {"delivery": delivery, "token": uuid.uuid4() if may_resend else None}
                for delivery in support.deliveries.rows
            ]
        return context

    def _back(self, member):
        return redirect("admin:members_member_change", member.pk)

    def _refused(self, request, form, member):
        for errors in form.errors.values():
            for error in errors:
                self.message_user(request, error, messages.ERROR)
        return self._back(member)

    def voucher_cancel_view(self, request, pk):
        """Cancel one of the member's vouchers (``voucher_cancel``, the staff user as the reversal's actor)."""
        member = self._member(request, pk)
        if not request.user.has_perm(CANCEL_VOUCHER_PERMISSION):
            raise PermissionDenied
        vouchers = Voucher.objects.filter(member_id=member.pk).select_related("member__account", "reward")
        form = VoucherCancelForm(request.POST, queryset=vouchers)
        if not form.is_valid():
            return self._refused(request, form, member)
        voucher = form.cleaned_data["voucher"]
        already = voucher.status == VoucherStatus.CANCELLED
        try:
            cancelled = voucher_cancel(voucher=voucher, actor=request.user)
        except LoyaltyError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            if already:
                self.message_user(request, gettext("This voucher was cancelled already."), messages.WARNING)
            else:
                self.message_user(
                    request,
                    gettext("Voucher %(code)s is cancelled: %(points)d points are back.")
                    % {"code": code_masked(cancelled.code), "points": cancelled.points},
                    messages.SUCCESS,
                )
        return self._back(member)

    def hold_void_view(self, request, pk):
        """Void one of the member's open holds (``ledger.hold_void``, the staff user as the release's actor)."""
        member = self._member(request, pk)
        if not request.user.has_perm(VOID_HOLD_PERMISSION):
            raise PermissionDenied
        form = HoldVoidForm(request.POST, queryset=Hold.objects.filter(account_id=member.account.pk))
        if not form.is_valid():
            return self._refused(request, form, member)
        hold = form.cleaned_data["hold"]
        try:
            ledger.hold_void(hold, actor=request.user)
        except LoyaltyError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("The hold is voided: %(points)d points are back.") % {"points": hold.points},
                messages.SUCCESS,
            )
        return self._back(member)

    def delivery_resend_view(self, request, pk):
        """Resend one webhook delivery of the member's events (``delivery_resend``: ``resent_by`` the staff user,
        the form's one-time token as its key, so a double click sends once)."""
        member = self._member(request, pk)
        if not request.user.has_perm(RESEND_PERMISSION):
            raise PermissionDenied
        deliveries = WebhookDelivery.objects.filter(event__member_id=member.pk).select_related("endpoint")
        form = DeliveryResendForm(request.POST, queryset=deliveries)
        if not form.is_valid():
            return self._refused(request, form, member)
        delivery = form.cleaned_data["delivery"]
        try:
            delivery_resend(delivery=delivery, resent_by=request.user, idempotency_key=form.idempotency_key)
        except LoyaltyError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("The event is resent to %(url)s (the same event id).") % {"url": delivery.endpoint.url},
                messages.SUCCESS,
            )
        return self._back(member)

    def status_view(self, request, pk):
        member = self._member(request, pk)
        form = StatusChangeForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, error, messages.ERROR)
            return self._back(member)
        status = form.cleaned_data["status"]
        if not request.user.has_perm(STATUS_PERMISSIONS[status]):
            raise PermissionDenied
        try:
            change = member_status_change(
                member=member, status=status, reason=form.cleaned_data["reason"], actor=request.user
            )
        except LoyaltyError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("The member is now %(status)s.") % {"status": change.get_to_status_display().lower()},
                messages.SUCCESS,
            )
        return self._back(member)

    def password_reset_view(self, request, pk):
        member = self._member(request, pk)
        if not request.user.has_perm(HELP_LOGIN_PERMISSION):
            raise PermissionDenied
        try:
            member_password_reset_send(
                member=member, actor=request.user, domain=request.get_host(), use_https=request.is_secure()
            )
        except LoyaltyError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.log_change(request, member, gettext("Sent a password-reset e-mail."))
            self.message_user(
                request,
                gettext("A password-reset e-mail is on its way to %(email)s.") % {"email": member.user.email},
                messages.SUCCESS,
            )
        return self._back(member)

    def unlock_view(self, request, pk):
        member = self._member(request, pk)
        if not request.user.has_perm(HELP_LOGIN_PERMISSION):
            raise PermissionDenied
        user_login_unlock(user=member.user)
        self.log_change(request, member, gettext("Lifted the login lock."))
        self.message_user(request, gettext("The member can log in again."), messages.SUCCESS)
        return self._back(member)

    def tier_set_view(self, request, pk):
        member = self._member(request, pk)
        if not request.user.has_perm(SET_TIER_PERMISSION):
            raise PermissionDenied
        form = TierSetForm(request.POST)
        if not form.is_valid():
            for field, errors in form.errors.items():
                for error in errors:
                    label = form.fields[field].label if field in form.fields else ""
                    self.message_user(request, f"{label}: {error}" if label else error, messages.ERROR)
            return self._back(member)
        try:
            change = member_tier_set(member=member, actor=request.user, **form.cleaned_data)
        except LoyaltyError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("The member holds %(tier)s until %(until)s.")
                % {"tier": change.to_tier, "until": date_format(form.cleaned_data["until"], "DATE_FORMAT")},
                messages.SUCCESS,
            )
        return self._back(member)

    def merge_view(self, request, pk):
        """GET (the number typed on the member page): the confirm step showing both members and what moves;
        POST: ``member_merge`` with the reason, then the survivor's page."""
        if not request.user.has_perm(MERGE_PERMISSION):
            raise PermissionDenied
        source = self._member(request, pk)
        form = MergeForm(request.POST if request.method == "POST" else request.GET)
        if not form.is_valid():
            for error in form.errors.get("into", []):
                self.message_user(request, error, messages.ERROR)
            return self._back(source)
        survivor = Member.objects.select_related("user", "account").filter(member_number=form.cleaned_data["into"])
        survivor = survivor.first()
        if survivor is None:
            self.message_user(request, gettext("No member has this number."), messages.ERROR)
            return self._back(source)
        if request.method == "POST":
            if not form.cleaned_data["reason"].strip():
                form.add_error("reason", gettext("Say why the members are merged."))
            if not form.cleaned_data["confirm"]:
                form.add_error("confirm", gettext("Tick the box to confirm the merge."))
            if form.is_valid():
                try:
                    member_merge(
                        source=source, survivor=survivor, reason=form.cleaned_data["reason"], actor=request.user
                    )
                except LoyaltyError as error:
                    form.add_error(None, error.message)
                else:
                    self.log_change(request, source, gettext("Merged into %(number)s.") % {"number": survivor})
                    self.message_user(
                        request,
                        gettext("Member %(source)s is merged into %(survivor)s: every point moved.")
                        % {"source": source, "survivor": survivor},
                        messages.SUCCESS,
                    )
                    return self._back(survivor)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Merge %(source)s into %(survivor)s") % {"source": source, "survivor": survivor},
            "opts": self.model._meta,
            "source": source,
            "survivor": survivor,
            "lots": source.account.lots.filter(remaining__gt=0).count(),
            "form": form,
            "source_url": reverse("admin:members_member_change", args=[source.pk]),
        }
        return TemplateResponse(request, "admin/members/member/merge.html", context)


@admin.register(GiftPolicy)
class GiftPolicyAdmin(admin.ModelAdmin):
    """The one gift policy: its change page is the list (program managers change it; others may only read)."""

    fields = ["enabled", "per_gift_limit", "daily_limit", "monthly_limit", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        return redirect("admin:members_giftpolicy_change", 1)
