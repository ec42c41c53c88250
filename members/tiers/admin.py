"""Tiers in the staff admin: the tiers with how many members hold each, and the one tier policy.

Program managers edit both (``tiers.change_*``); analysts read them. A tier's threshold
must rise with its rank (a form error otherwise). Tiers are never deleted once members
held them (their history names them): the database refuses it, and nobody has the
permission. A member's tier, its history and *Set tier by hand* are on the member's page
(``members/admin.py``).
"""

from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from members.models import MemberStatus

from .models import Tier, TierPolicy
from .templatetags.tiers import tier_swatch


class TierForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = [
            "name",
            "name_fr",
            "rank",
            "threshold",
            "colour",
            "earning_multiplier",
            "benefits_en",
            "benefits_fr",
        ]
        widgets = {"colour": forms.TextInput(attrs={"type": "color"})}

    def clean(self):
        cleaned = super().clean()
        rank, threshold = cleaned.get("rank"), cleaned.get("threshold")
        if rank is None or threshold is None:
            return cleaned
        others = Tier.objects.exclude(pk=self.instance.pk)
        below = others.filter(rank__lt=rank, threshold__gte=threshold).order_by("-rank").first()
        above = others.filter(rank__gt=rank, threshold__lte=threshold).order_by("rank").first()
        for other, message in (
            (below, _("%(name)s has a lower rank (%(rank)s) and a threshold of %(threshold)s: set a higher one.")),
            (above, _("%(name)s has a higher rank (%(rank)s) and a threshold of %(threshold)s: set a lower one.")),
        ):
            if other is not None:
                self.add_error(
                    "threshold", message % {"name": other.name, "rank": other.rank, "threshold": other.threshold}
                )
        return cleaned


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    form = TierForm
    list_display = ["name", "rank", "threshold", "swatch", "earning_multiplier", "members"]
    list_display_links = ["name"]
    ordering = ["rank"]
    show_full_result_count = False

    def get_queryset(self, request):
        # Members who can still use a tier: a closed or merged member's row is history, not a holder.
        holders = Count("member_tiers", filter=~Q(member_tiers__member__status=MemberStatus.CLOSED))
        return super().get_queryset(request).annotate(members=holders)

    def has_delete_permission(self, request, obj=None):
        return False  # Members' tier history names the tier: rename it, or raise its threshold out of reach.

    @admin.display(description=_("Colour"))
    def swatch(self, tier):
        return format_html("{} {}", tier_swatch(tier), tier.colour)

    @admin.display(description=_("Members"), ordering="members")
    def members(self, tier):
        return tier.members


@admin.register(TierPolicy)
class TierPolicyAdmin(admin.ModelAdmin):
    """The one policy row: the list goes straight to it; nobody adds or deletes one."""

    fields = ["basis", "window_months", "grace_months"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # the admin's own refusal
        return redirect("admin:tiers_tierpolicy_change", 1)
