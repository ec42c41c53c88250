"""Streaks in the staff admin: the one policy (its history kept), saved through its service."""

from django.contrib import admin
from django.shortcuts import redirect

from .models import StreakPolicy
from .services import streak_policy_set


@admin.register(StreakPolicy)
class StreakPolicyAdmin(admin.ModelAdmin):
    """The one policy row: the list goes straight to it; nobody adds or deletes one."""

    fields = ["unit", "grace"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        streak_policy_set(unit=obj.unit, grace=obj.grace, actor=request.user)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)
        return redirect("admin:streaks_streakpolicy_change", 1)
