"""Webhook endpoints and their deliveries in the staff admin; every write goes through loyalty.webhooks.services.

An endpoint is registered with ``endpoint_create`` (its secret shown once, masked after that)
and deleted with ``endpoint_delete``; deliveries are read-only with their attempts, and staff
resend one with ``delivery_resend`` (the same event id: receivers de-duplicate), naming who asked. A
search that is a member number lists the deliveries of that member's events (the member page links it).
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from loyalty.admin_site import MemberNumberSearchMixin, ReadOnlyAdmin
from loyalty.exceptions import LoyaltyError
from loyalty.outbox.models import EventType

from . import http, services
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

RESEND_PERMISSION = "webhooks.add_webhookdelivery"  # a resend is a new delivery (here and on the member page)


class WebhookEndpointCreateForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("Event types"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["partner", "url", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            http.target_resolve(url)
        except LoyaltyError as error:
            raise forms.ValidationError(error.message) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "partner", "active", "created_at"]
    list_filter = ["active", "partner"]
    list_select_related = ["partner"]
    search_fields = ["url", "partner__name"]
    readonly_fields = ["partner", "url", "event_types", "secret_masked", "active", "created_at"]

    @admin.display(description=_("secret"))
    def secret_masked(self, endpoint):
        return endpoint.secret_masked

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = WebhookEndpointCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["partner", "url", "event_types", "active"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        created = services.endpoint_create(
            partner=form.cleaned_data["partner"],
            url=form.cleaned_data["url"],
            event_types=form.cleaned_data["event_types"],
            active=form.cleaned_data["active"],
        )
        obj.__dict__.update({name: value for name, value in created.__dict__.items() if name != "_state"})
        obj._state.adding = False
        self.message_user(
            request,
            gettext("The secret of this endpoint is %(secret)s. Copy it now: it is shown only once.")
            % {"secret": created.secret},
            messages.WARNING,
        )

    def delete_model(self, request, obj):
        services.endpoint_delete(endpoint=obj)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_delete(endpoint=endpoint)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["at", "status_code", "latency_ms", "response_excerpt", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class OneTimeActionForm(ActionForm):
    """The list's action form with a token new on every page: a double submit resends each delivery once."""

    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(MemberNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["event", "event_type", "endpoint", "status", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status", "event__type", "endpoint__partner", "created_at"]
    list_select_related = ["event", "endpoint__partner"]
    search_fields = ["event__id", "endpoint__url"]
    search_help_text = _("A member number (its check digit is checked), an event id or an endpoint's URL.")
    member_number_lookup = "event__member__member_number"
    fields = ["event", "endpoint", "status", "attempts", "created_at", "next_attempt_at", "delivered_at", "resend_of",
              "resent_by"]  # fmt: skip
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["resend"]
    action_form = OneTimeActionForm  # without its token the list refuses the action (no action runs)

    @admin.display(description=_("type"), ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    @admin.action(description=_("Resend the selected deliveries (the same event id)"), permissions=["view"])
    def resend(self, request, queryset):
        if not request.user.has_perm(RESEND_PERMISSION):
            self.message_user(request, gettext("You may not resend deliveries."), messages.ERROR)
            return
        deliveries = list(queryset)
        token = request.POST["token"]  # checked by the action form before any action runs
        for delivery in deliveries:
            services.delivery_resend(
                delivery=delivery, resent_by=request.user, idempotency_key=f"admin:{token}:{delivery.pk}"
            )
        self.message_user(
            request,
            ngettext("%(count)d delivery resent.", "%(count)d deliveries resent.", len(deliveries))
            % {"count": len(deliveries)},
            messages.SUCCESS,
        )
