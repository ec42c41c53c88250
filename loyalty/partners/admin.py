"""Partners and their API keys in the staff admin: every write goes through loyalty.partners.services.

A key is created with ``partner_api_key_create`` (scopes as one checkbox per ``SCOPES``
entry, validated by the service) and shown once; it is revoked with
``partner_api_key_revoke`` after a confirmation, for good. Nothing here is deleted:
partners are deactivated, so the entries and members that name them keep their origin.

Who created and revoked each key, and when, is a ``PartnerAPIKeyEvent`` written by those
services (the key's page lists them; *Partner API key events* lists them all). Django's
admin log is not written for keys: its rows name the object by primary key, which for a
key holds its hash.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import APIKey

from loyalty.admin_site import ReadOnlyAdmin
from loyalty.exceptions import LoyaltyError

from .models import SCOPES, Partner, PartnerAPIKey, PartnerAPIKeyEvent, default_scopes
from .services import partner_api_key_create, partner_api_key_revoke, partner_deactivate

# Only partner keys are used; the library's own key model stays out of the admin.
admin.site.unregister(APIKey)

KEY_FIELDS = ["partner", "name", "prefix", "scopes_list", "state", "created", "expiry_date", "last_used_at"]


def key_state(key: PartnerAPIKey) -> str:
    if key.revoked:
        return format_html('<span class="key-revoked">{}</span>', gettext("revoked"))
    return format_html('<span class="key-active">{}</span>', gettext("active"))


class PartnerAPIKeyInline(admin.TabularInline):
    model = PartnerAPIKey
    fields = ["prefix", "name", "scopes_list", "state", "created", "last_used_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # Keys are created on their own page, which shows the new key once.

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Scopes"))
    def scopes_list(self, key):
        return ", ".join(key.scopes or []) or "-"

    @admin.display(description=_("State"))
    def state(self, key):
        return key_state(key)


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    inlines = [PartnerAPIKeyInline]
    actions = ["deactivate"]

    def has_delete_permission(self, request, obj=None):
        return False  # Partners are deactivated, never deleted: entries and members name them.

    @admin.action(description=_("Deactivate the selected partners (their keys are refused)"), permissions=["change"])
    def deactivate(self, request, queryset):
        partners = list(queryset.filter(active=True))
        for partner in partners:
            partner_deactivate(partner=partner)
            self.log_change(request, partner, gettext("Deactivated."))
        self.message_user(
            request,
            ngettext("%(count)d partner deactivated.", "%(count)d partners deactivated.", len(partners))
            % {"count": len(partners)},
            messages.SUCCESS,
        )


class PartnerAPIKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=[(scope, f"{scope}: {label}") for scope, label in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
        initial=default_scopes,
        required=False,
        help_text=_("What the key may do. A key with no scope can call nothing."),
    )

    class Meta:
        model = PartnerAPIKey
        fields = ["partner", "name"]


class PartnerAPIKeyEventInline(admin.TabularInline):
    model = PartnerAPIKeyEvent
    fields = ["created_at", "action", "made_by", "name", "scopes_list"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("Created and revoked")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("By"))
    def made_by(self, event):
        return event_actor(event)

    @admin.display(description=_("Scopes"))
    def scopes_list(self, event):
        return ", ".join(event.scopes or []) or "-"


def event_actor(event: PartnerAPIKeyEvent) -> str:
    if event.actor is None:
        return gettext("Nobody (a command)")
    return event.actor.get_full_name() or event.actor.get_username()


@admin.register(PartnerAPIKeyEvent)
class PartnerAPIKeyEventAdmin(ReadOnlyAdmin):
    """Who created and revoked which key, and when: read only (the key services write it)."""

    list_display = ["created_at", "action", "key_prefix", "name", "partner", "made_by"]
    list_filter = ["action", "partner", "created_at"]
    list_select_related = ["partner", "actor"]
    search_fields = ["=key__prefix", "name", "partner__name"]
    show_full_result_count = False
    fields = ["created_at", "action", "key_prefix", "name", "scopes", "partner", "made_by"]
    readonly_fields = fields

    @admin.display(description=_("Key prefix"), ordering="key")
    def key_prefix(self, event):
        return event.key_id

    @admin.display(description=_("By"))
    def made_by(self, event):
        return event_actor(event)


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(admin.ModelAdmin):
    """Create (shown once) and revoke keys; a key is otherwise read-only."""

    list_display = ["name", "prefix", "partner", "scopes_list", "state", "created", "last_used_at"]
    list_filter = ["partner", "revoked", "created"]
    list_select_related = ["partner"]
    search_fields = ["name", "prefix", "partner__name"]
    actions = ["revoke_selected"]
    inlines = [PartnerAPIKeyEventInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    # The admin log names an object by its primary key, which holds the key's hash: not written for keys.
    # ``partner_api_key_create`` and ``partner_api_key_revoke`` record who did it (``PartnerAPIKeyEvent``).
    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = PartnerAPIKeyCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["partner", "name", "scopes"] if obj is None else KEY_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else KEY_FIELDS

    def has_change_permission(self, request, obj=None):
        return False  # Read-only: revoking has its own confirmed button.

    def has_delete_permission(self, request, obj=None):
        return False  # Revoked, never deleted: the prefix stays to tell keys apart.

    @admin.display(description=_("Scopes"))
    def scopes_list(self, key):
        return ", ".join(key.scopes or []) or "-"

    @admin.display(description=_("State"), ordering="revoked")
    def state(self, key):
        return key_state(key)

    def save_model(self, request, obj, form, change):
        created, clear_key = partner_api_key_create(
            partner=form.cleaned_data["partner"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            actor=request.user,
        )
        obj.__dict__.update({name: value for name, value in created.__dict__.items() if name != "_state"})
        obj._state.adding = False
        self.message_user(
            request,
            gettext("The new key is %(key)s. Copy it now: it is shown only once.") % {"key": clear_key},
            messages.WARNING,
        )

    def _may_revoke(self, request) -> bool:
        return request.user.has_perm("partners.change_partnerapikey")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self._may_revoke(request):
            actions.pop("revoke_selected", None)
        return actions

    @admin.action(description=_("Revoke the selected keys (cannot be undone)"))
    def revoke_selected(self, request, queryset):
        if not self._may_revoke(request):
            raise PermissionDenied
        keys = list(queryset.filter(revoked=False).select_related("partner"))
        if request.POST.get("confirm") != "yes":
            return self._confirm(request, keys, action="revoke_selected")
        return self._revoke(request, keys)

    def get_urls(self):
        revoke = self.admin_site.admin_view(self.revoke_view)
        return [path("<str:pk>/revoke/", revoke, name="partners_partnerapikey_revoke"), *super().get_urls()]

    def revoke_view(self, request, pk):
        if not self._may_revoke(request):
            raise PermissionDenied
        key = get_object_or_404(PartnerAPIKey.objects.select_related("partner"), pk=pk)
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            return self._revoke(request, [key] if not key.revoked else [])
        return self._confirm(request, [] if key.revoked else [key], action=None)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        key = PartnerAPIKey.objects.filter(pk=object_id).only("revoked").first()
        if key is not None and not key.revoked and self._may_revoke(request):
            extra_context["revoke_url"] = reverse("admin:partners_partnerapikey_revoke", args=[key.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def _confirm(self, request, keys, *, action):
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Revoke API keys"),
            "keys": keys,
            "action": action,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/partners/partnerapikey/revoke_confirm.html", context)

    def _revoke(self, request, keys):
        for key in keys:
            try:
                partner_api_key_revoke(api_key=key, actor=request.user)
            except LoyaltyError as error:
                self.message_user(request, error.message, messages.ERROR)
        self.message_user(
            request,
            ngettext("%(count)d key revoked.", "%(count)d keys revoked.", len(keys)) % {"count": len(keys)},
            messages.SUCCESS,
        )
        return redirect("admin:partners_partnerapikey_changelist")
