from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .models import Partner, PartnerAPIKey

# Only partner keys are used; the library's own key model stays out of the admin.
admin.site.unregister(APIKey)


class PartnerAPIKeyInline(admin.TabularInline):
    model = PartnerAPIKey
    fields = ["prefix", "name", "scopes", "created", "last_used_at", "revoked"]
    readonly_fields = ["prefix", "name", "scopes", "created", "last_used_at", "revoked"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # Keys are created on their own page, which shows the new key once.


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    inlines = [PartnerAPIKeyInline]


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(APIKeyModelAdmin):
    """Creating a key shows it once in a message (the library's ``save_model``); ticking *revoked* revokes it."""

    list_display = [*APIKeyModelAdmin.list_display, "partner", "last_used_at"]
    list_filter = ["partner", "revoked", "created"]
    list_select_related = ["partner"]
    search_fields = ["name", "prefix", "partner__name"]
    fields = ["partner", "name", "scopes", "expiry_date", "revoked", "prefix", "last_used_at"]

    def get_readonly_fields(self, request, obj=None):
        readonly = (*super().get_readonly_fields(request, obj), "last_used_at")
        return (*readonly, "partner", "scopes") if obj is not None and obj.revoked else readonly
