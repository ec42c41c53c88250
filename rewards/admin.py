"""The catalog in the staff admin: rewards, charities, gift card pools, and what members redeemed (read only).

- **Rewards**: the fields of the reward's kind (``KIND_REQUIRES`` / ``KIND_ALLOWS``, checked by
  ``Reward.clean`` and ``Reward.clean_tiers``), saved by ``catalog.reward_save`` (the stock by
  difference), switched on and off by ``catalog.reward_active_set``; CSV import and export
  (``rewards/resources.py``): everyone who reads rewards exports, who adds and changes them imports.
- **Charities** with what members gave them (``selectors.charities_with_totals``).
- **Gift card codes**: a pool per gift card reward, imported as CSV; codes are stored value, so
  the admin shows them masked, and only ``rewards.export_vouchercode`` exports them in full.
- **Redemptions, vouchers, donations**: written by the redemption services only; listed,
  filtered, found by a member number or by a voucher's exact code.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV
from import_export.forms import ConfirmImportForm, ExportForm, ImportForm

from loyalty.admin_site import MemberNumberSearchMixin, ReadOnlyAdmin
from loyalty.clock import program_timezone
from loyalty.reports.export_admin import CsvExportMixin
from loyalty.reports.exports import VOUCHERS
from members.numbers import MEMBER_NUMBER_LENGTH

from . import catalog, selectors
from .models import (
    VOUCHER_FIELDS,
    Charity,
    Donation,
    Redemption,
    Reward,
    RewardKind,
    Voucher,
    VoucherCode,
)
from .resources import REWARD_COLUMNS, RewardResource, VoucherCodeResource
from .services import voucher_code_normalize

EXPORT_CODES_PERMISSION = "rewards.export_vouchercode"
VOUCHER_KINDS = [kind for kind in RewardKind if kind != RewardKind.DONATION]


def code_masked(code: str) -> str:
    """A stored-value code as the admin shows it: its first four characters (as ``__str__``), never all."""
    return f"{code[:4]}…" if len(code) > 8 else f"{code[:2]}…"


def moment(value) -> str:
    return timezone.localtime(value, program_timezone()).strftime("%Y-%m-%d %H:%M") if value else ""


class AllOrNothingImportMixin(ImportExportMixin):
    """CSV only; the preview lists every row's errors and offers no confirmation then; the confirmed import
    rolls back on any error (the data changed since the preview), says so, and writes nothing."""

    import_formats = [CSV]
    export_formats = [CSV]
    import_template_name = "admin/rewards/import.html"
    export_form_class = ExportForm  # every column; the library's column picker needs inline script (CSP)

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs["rollback_on_validation_errors"] = True
        return kwargs

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            self.message_user(
                request,
                gettext("The data changed since the preview and a row is no longer valid: nothing was imported."),
                messages.ERROR,
            )
            opts = self.model._meta
            return redirect(f"admin:{opts.app_label}_{opts.model_name}_import")
        return super().process_result(result, request)


# The catalog


class AvailabilityFilter(admin.SimpleListFilter):
    title = _("availability")
    parameter_name = "availability"

    def lookups(self, request, model_admin):
        return [("now", _("Available now")), ("upcoming", _("Not yet available")), ("ended", _("Ended"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "now":
            started = Q(available_from__isnull=True) | Q(available_from__lte=now)
            return queryset.filter(started, Q(available_until__isnull=True) | Q(available_until__gt=now))
        if self.value() == "upcoming":
            return queryset.filter(available_from__gt=now)
        if self.value() == "ended":
            return queryset.filter(available_until__lte=now)
        return queryset


class RewardForm(forms.ModelForm):
    """The reward's fields, and the stock as the page showed it (``catalog.reward_save`` adds the difference)."""

    stock_loaded = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Reward
        fields = REWARD_COLUMNS  # every field staff set, as the CSV has them

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stock_loaded"].initial = self.instance.stock

    def clean(self):
        cleaned = super().clean()
        if "tiers" in self.fields and "tiers" not in self.errors:
            self.instance.kind = cleaned.get("kind", self.instance.kind)
            try:
                self.instance.clean_tiers(cleaned.get("tiers"))
            except forms.ValidationError as error:
                self.add_error(None, error)
        return cleaned


KIND_FIELDSETS = [
    # (title, fields, the kinds it is for)
    (_("Value"), ["value_amount"], ["fixed_discount", "gift_card", "donation"]),
    (_("Percentage discount"), ["percent", "max_discount_amount"], ["percent_discount"]),
    (_("Product"), ["sku"], ["free_product", "exclusive"]),
    (_("Donation"), ["charity"], ["donation"]),
    (_("Experience or event"), ["starts_at"], ["experience"]),
]


@admin.register(Reward)
class RewardAdmin(AllOrNothingImportMixin, admin.ModelAdmin):
    form = RewardForm
    resource_classes = [RewardResource]
    list_display = ["name", "code", "kind", "points_cost", "stock_left", "active", "availability", "redeemed"]
    list_filter = ["kind", "active", AvailabilityFilter, "tiers", "partners"]
    search_fields = ["code", "name", "name_fr", "sku"]
    filter_horizontal = ["tiers", "partners"]
    show_full_result_count = False
    actions = ["activate", "deactivate"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "rewards_reward_changelist":
            queryset = selectors.rewards_with_redeemed(queryset)
        return queryset

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).select_related("charity").prefetch_related("tiers", "partners")

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_readonly_fields(self, request, obj=None):
        readonly = ["image_preview", "pool", "created_at", "updated_at"]
        return ["kind", *readonly] if obj is not None else readonly

    def get_fieldsets(self, request, obj=None):
        """All of a kind's fields on the add page (each set says which kinds it is for); on a reward's page,
        the sets of its kind (a kind is chosen once: another kind is another reward), and any set that
        still holds a value, so that it can be cleared."""
        fieldsets = [
            (None, {"fields": ["code", "kind", "name", "name_fr", "description", "description_fr", "points_cost"]}),
            (_("Image"), {"fields": ["image", "image_preview"]}),
        ]
        for title, names, kinds in KIND_FIELDSETS:
            labels = ", ".join(str(RewardKind(kind).label).lower() for kind in kinds)
            holds_value = obj is not None and any(getattr(obj, name) not in (None, "") for name in names)
            if obj is None or obj.kind in kinds or holds_value:
                fieldsets.append((title, {"fields": names, "description": _("For: %(kinds)s.") % {"kinds": labels}}))
        fieldsets += [
            (_("Who and where"), {"fields": ["tiers", "partners"]}),
            (
                _("Stock and limits"),
                {
                    "fields": ["stock", "stock_loaded", ("limit_per_member", "limit_period")],
                    "description": _("An experience's stock is its places. A change adds the difference."),
                },
            ),
            (
                _("When"),
                {
                    "fields": [("available_from", "available_until"), "active"],
                    "description": _("The program's time zone; the end is excluded."),
                },
            ),
        ]
        voucher_terms_set = obj is not None and any(
            getattr(obj, name) not in (None, 0, False) for name in VOUCHER_FIELDS
        )
        if obj is None or obj.kind != RewardKind.DONATION or voucher_terms_set:
            fieldsets.append(
                (
                    _("The voucher"),
                    {
                        "fields": [("validity_days", "valid_until"), "cancel_window_hours", "refund_on_expiry"],
                        "description": _("Not for donations. With both, the sooner end wins."),
                    },
                )
            )
        if obj is not None and obj.kind == RewardKind.GIFT_CARD:
            fieldsets.append((_("Gift card codes"), {"fields": ["pool"]}))
        if obj is not None:
            fieldsets.append((_("Record"), {"fields": [("created_at", "updated_at")]}))
        return fieldsets

    def save_model(self, request, obj, form, change):
        stock_loaded = form.cleaned_data.get("stock_loaded") if change else None
        if change and "stock_loaded" not in form.data:
            stock_loaded = form.initial.get("stock")
        catalog.reward_save(reward=obj, stock_loaded=stock_loaded)

    @admin.display(description=_("Stock"), ordering="stock")
    def stock_left(self, reward):
        return gettext("unlimited") if reward.stock is None else reward.stock

    @admin.display(description=_("Available"))
    def availability(self, reward):
        if not reward.available_from and not reward.available_until:
            return gettext("always")
        return f"{moment(reward.available_from) or '…'} – {moment(reward.available_until) or '…'}"

    @admin.display(description=_("Redeemed"), ordering="redeemed_units")
    def redeemed(self, reward):
        return reward.redeemed_units

    @admin.display(description=_("Preview"))
    def image_preview(self, reward):
        if not reward.image:
            return "—"
        return format_html('<img src="{}" alt="" class="reward-image-preview">', reward.image.url)

    @admin.display(description=_("Pool"))
    def pool(self, reward):
        counts = selectors.pool_counts(reward=reward)
        codes = reverse("admin:rewards_vouchercode_changelist") + f"?reward__id__exact={reward.pk}"
        imports = reverse("admin:rewards_vouchercode_import") + f"?reward={reward.pk}"
        return format_html(
            '{} <a href="{}">{}</a> · <a href="{}">{}</a>',
            gettext("%(free)d free, %(taken)d taken.") % counts,
            codes,
            gettext("See the codes"),
            imports,
            gettext("Import codes"),
        )

    def _active_action(self, request, queryset, active: bool):
        changed = catalog.reward_active_set(rewards=queryset, active=active)
        for reward in changed:
            self.log_change(request, reward, gettext("Activated.") if active else gettext("Deactivated."))
        text = (
            ngettext("%(count)d reward activated.", "%(count)d rewards activated.", len(changed))
            if active
            else ngettext("%(count)d reward deactivated.", "%(count)d rewards deactivated.", len(changed))
        )
        self.message_user(request, text % {"count": len(changed)}, messages.SUCCESS)

    @admin.action(description=_("Activate the selected rewards"), permissions=["change"])
    def activate(self, request, queryset):
        self._active_action(request, queryset, True)

    @admin.action(
        description=_("Deactivate the selected rewards (members can no longer redeem them)"), permissions=["change"]
    )
    def deactivate(self, request, queryset):
        self._active_action(request, queryset, False)


@admin.register(Charity)
class CharityAdmin(admin.ModelAdmin):
    list_display = ["name", "name_fr", "active", "donation_count", "donated_points", "donated_amount"]
    list_filter = ["active"]
    search_fields = ["name", "name_fr"]
    readonly_fields = ["donation_count", "donated_points", "donated_amount"]
    fields = ["name", "name_fr", "description", "description_fr", "active", *readonly_fields]
    show_full_result_count = False

    def get_queryset(self, request):
        return selectors.charities_with_totals(super().get_queryset(request))

    def has_delete_permission(self, request, obj=None):
        return False  # donations and rewards name it: deactivate it

    @admin.display(description=_("Donations"), ordering="donation_count")
    def donation_count(self, charity):
        return charity.donation_count

    @admin.display(description=_("Points given"), ordering="donated_points")
    def donated_points(self, charity):
        return charity.donated_points

    @admin.display(description=_("Amount given"), ordering="donated_amount")
    def donated_amount(self, charity):
        return charity.donated_amount


# Gift card pools


class PoolImportForm(ImportForm):
    reward = forms.ModelChoiceField(
        queryset=Reward.objects.filter(kind=RewardKind.GIFT_CARD),
        label=_("Gift card reward"),
        help_text=_("The codes go into this reward's pool."),
    )


class PoolConfirmForm(ConfirmImportForm):
    reward = forms.ModelChoiceField(
        queryset=Reward.objects.filter(kind=RewardKind.GIFT_CARD), widget=forms.HiddenInput
    )


class PoolStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("free", _("Free")), ("taken", _("Taken"))]

    def queryset(self, request, queryset):
        if self.value() in ("free", "taken"):
            return queryset.filter(taken_at__isnull=self.value() == "free")
        return queryset


class CodeSearchMixin(MemberNumberSearchMixin):
    """A search is a member number (10 digits: ``MemberNumberSearchMixin``) or one whole code, exact as a till
    types it (case and spaces do not matter); never a part of a code."""

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        compact = term.replace(" ", "").replace("-", "")
        if compact.isdigit() and len(compact) == MEMBER_NUMBER_LENGTH and self.member_number_lookup:
            return super().get_search_results(request, queryset, term)
        return self.code_filter(queryset, voucher_code_normalize(term)), False

    def code_filter(self, queryset, code: str):
        return queryset.filter(code=code)


def reward_filter(*kinds: str):
    """A list filter offering the rewards of these kinds only."""

    class RewardOfKind(admin.RelatedFieldListFilter):
        def field_choices(self, field, request, model_admin):
            ordering = self.field_admin_ordering(field, request, model_admin)
            return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to={"kind__in": kinds})

    return RewardOfKind


@admin.register(VoucherCode)
class VoucherCodeAdmin(CodeSearchMixin, AllOrNothingImportMixin, ReadOnlyAdmin):
    resource_classes = [VoucherCodeResource]
    import_form_class = PoolImportForm
    confirm_form_class = PoolConfirmForm
    skip_admin_log = True  # thousands of codes: the import is one action, not a log line per code
    list_display = ["masked_code", "reward", "state", "imported_at", "taken_at"]
    list_filter = [PoolStateFilter, ("reward", reward_filter(RewardKind.GIFT_CARD))]
    list_select_related = ["reward"]
    search_fields = ["code"]
    search_help_text = _("A whole code (exact).")
    member_number_lookup = None
    fields = ["masked_code", "reward", "state", "imported_at", "taken_at"]
    readonly_fields = fields
    show_full_result_count = False

    def has_import_permission(self, request):
        return request.user.has_perm("rewards.add_vouchercode")

    def has_export_permission(self, request):
        return request.user.has_perm(EXPORT_CODES_PERMISSION)

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).select_related("reward")

    def get_import_form_initial(self, request):
        return {"reward": request.GET.get("reward")} if request.GET.get("reward", "").isdigit() else {}

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["reward"] = import_form.cleaned_data["reward"].pk
        return initial

    def get_import_resource_kwargs(self, request, **kwargs):
        form = kwargs.get("form")
        reward = form.cleaned_data.get("reward") if form is not None and hasattr(form, "cleaned_data") else None
        return {"reward": reward}

    @admin.display(description=_("Code"))
    def masked_code(self, pool_code):
        return code_masked(pool_code.code)

    @admin.display(description=_("State"))
    def state(self, pool_code):
        return gettext("free") if pool_code.taken_at is None else gettext("taken")


# What members redeemed (read only)


class VoucherInline(admin.TabularInline):
    model = Voucher
    fields = ["masked_code", "status", "points", "expires_at", "used_at", "used_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("used_by")

    @admin.display(description=_("Code"))
    def masked_code(self, voucher):
        return code_masked(voucher.code)


@admin.register(Redemption)
class RedemptionAdmin(CodeSearchMixin, ReadOnlyAdmin):
    list_display = ["__str__", "member", "reward", "quantity", "points", "partner", "created_at"]
    list_filter = ["reward", "partner"]
    list_select_related = ["member", "reward", "partner"]
    search_fields = ["member__member_number"]
    search_help_text = _("A member number (its check digit is checked) or a voucher's whole code.")
    member_number_lookup = "member__member_number"
    show_full_result_count = False
    inlines = [VoucherInline]
    fields = ["member", "reward", "quantity", "points", "partner", "entry", "idempotency_key", "created_at"]
    readonly_fields = fields

    def code_filter(self, queryset, code: str):
        return queryset.filter(pk__in=Voucher.objects.filter(code=code).values("redemption_id"))


@admin.register(Voucher)
class VoucherAdmin(CsvExportMixin, CodeSearchMixin, ReadOnlyAdmin):
    csv_export = VOUCHERS  # the list as filtered, codes masked: rewards.export_voucher
    list_display = ["masked_code", "reward", "member", "status", "issued_at", "expires_at", "used_by"]
    list_filter = [
        "status",
        ("reward", reward_filter(*(kind for kind in RewardKind if kind != "donation"))),
        "used_by",
    ]
    list_select_related = ["reward", "member", "used_by"]
    search_fields = ["member__member_number"]
    search_help_text = _("A member number (its check digit is checked) or a voucher's whole code.")
    member_number_lookup = "member__member_number"
    show_full_result_count = False
    fields = [
        "masked_code",
        "reward",
        "member",
        "redemption",
        "points",
        "terms",
        "status",
        "issued_at",
        "expires_at",
        "used_at",
        "used_by",
        "cancelled_at",
        "expired_at",
        "reversal",
    ]
    readonly_fields = fields

    @admin.display(description=_("Code"))
    def masked_code(self, voucher):
        return code_masked(voucher.code)


@admin.register(Donation)
class DonationAdmin(MemberNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["charity", "member", "points", "amount", "currency", "reward", "created_at"]
    list_filter = ["charity", ("redemption__reward", reward_filter(RewardKind.DONATION)), "redemption__partner"]
    list_select_related = ["charity", "member", "redemption__reward"]
    search_fields = ["member__member_number"]
    search_help_text = _("A member number (its check digit is checked).")
    member_number_lookup = "member__member_number"
    show_full_result_count = False
    fields = ["charity", "member", "redemption", "points", "amount", "currency", "created_at"]
    readonly_fields = fields

    @admin.display(description=_("Reward"), ordering="redemption__reward__name")
    def reward(self, donation):
        return donation.redemption.reward
