"""Referrals in the staff admin: the review queue and the policy.

The list is the queue: filter by status (*Flagged for review* is what waits), each row
with its reasons in words. *Approve* and *Decline* are admin actions that call
``referral_approve`` / ``referral_decline`` with the staff user (recorded on the
referral); declining takes the reason typed beside the action. Program managers and
support agents review (``referrals.review_referral``); analysts see the list only. The
policy's one row is edited by program managers. Nothing else is edited here.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from loyalty.admin_site import MemberNumberSearchMixin
from loyalty.exceptions import LoyaltyError

from .models import Referral, ReferralPolicy
from .reasons import reasons_display
from .services import REVIEW_PERMISSION, referral_approve, referral_decline


class ReviewActionForm(helpers.ActionForm):
    reason = forms.CharField(
        label=_("Reason (to decline)"), max_length=255, required=False, widget=forms.TextInput(attrs={"size": 40})
    )


@admin.register(Referral)
class ReferralAdmin(MemberNumberSearchMixin, admin.ModelAdmin):
    list_display = ["id", "referrer_link", "referee_link", "status", "reasons", "joined_at", "qualified_at"]
    list_filter = ["status"]
    list_select_related = ["referrer", "referee"]
    search_fields = ["referrer__member_number", "referee__member_number", "referee__user__email"]
    search_help_text = _("A member number (the referrer's or the new member's) or the new member's e-mail.")
    member_number_lookup = ["referrer__member_number", "referee__member_number"]
    show_full_result_count = False
    action_form = ReviewActionForm
    actions = ["approve", "decline"]
    fields = [
        "referrer_link",
        "referee_link",
        "status",
        "reasons",
        "joined_at",
        "signup_address",
        "first_purchase_at",
        "qualified_at",
        "purchase_ref",
        "purchase_amount",
        "purchase_currency",
        "credited_at",
        "referrer_entry",
        "referee_entry",
        "review_note",
        "reviewed_by",
        "reviewed_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # a referral is made when a friend joins with a code

    def has_change_permission(self, request, obj=None):
        return False  # its state changes through the actions only

    def has_delete_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request):
        return request.user.has_perm(REVIEW_PERMISSION)

    @admin.display(description=_("Referrer"), ordering="referrer__member_number")
    def referrer_link(self, referral):
        return self._member_link(referral.referrer)

    @admin.display(description=_("New member"), ordering="referee__member_number")
    def referee_link(self, referral):
        if referral.referee is None:
            return gettext("Invited: %(email)s") % {"email": referral.invited_email}
        return self._member_link(referral.referee)

    def _member_link(self, member):
        return format_html('<a href="{}">{}</a>', reverse("admin:members_member_change", args=[member.pk]), member)

    @admin.display(description=_("Why"))
    def reasons(self, referral):
        codes = [*referral.flag_reasons, *referral.decline_reasons, *referral.unpaid_reasons]
        words = reasons_display(list(dict.fromkeys(codes)))
        if referral.review_note:
            words.append(gettext("Reviewer: %(note)s") % {"note": referral.review_note})
        return format_html_join("", "<div>{}</div>", ((word,) for word in words)) or "—"

    @admin.action(description=_("Approve the selected flagged referrals"), permissions=["review"])
    def approve(self, request, queryset):
        self._review(request, queryset, lambda referral: referral_approve(referral=referral, actor=request.user))

    @admin.action(description=_("Decline the selected referrals (with the reason)"), permissions=["review"])
    def decline(self, request, queryset):
        reason = request.POST.get("reason", "")
        if not reason.strip():
            self.message_user(request, gettext("Type the reason for declining beside the action."), messages.ERROR)
            return
        self._review(
            request, queryset, lambda referral: referral_decline(referral=referral, actor=request.user, reason=reason)
        )

    def _review(self, request, queryset, review) -> None:
        done = 0
        for referral in queryset.order_by("pk"):
            try:
                review(referral)
            except LoyaltyError as error:
                self.message_user(request, f"{referral}: {error.message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(count)d referral reviewed.", "%(count)d referrals reviewed.", done) % {"count": done},
                messages.SUCCESS,
            )


@admin.register(ReferralPolicy)
class ReferralPolicyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "referrer_points", "referee_points", "min_purchase_amount", "monthly_cap"]

    def has_add_permission(self, request):
        return False  # one row, made by a migration

    def has_delete_permission(self, request, obj=None):
        return False
