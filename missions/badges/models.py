"""Badges: marks of what a member has done, earned once each and kept with the day it was earned.

A **Badge** is configured by staff (name and how to get it, in English and French). A member
earns it from a mission's prize or from a milestone; **MemberBadge** is the earned badge, at
most one per member and badge (the database's unique constraint makes a race award it once),
with where it came from (``source``) for the member page and the audit. A badge taken back (the
purchase behind a mission's prize returned) is deleted with its reason in the history of the
service that took it back, not kept revoked: the member simply has not earned it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty.history import config_history


class Badge(models.Model):
    code = models.SlugField(max_length=40, unique=True, help_text=_("A stable name for the API and webhooks."))
    name = models.CharField(max_length=80)
    name_fr = models.CharField(max_length=80, blank=True, help_text=_("The name in French; the English one if empty."))
    description = models.TextField(blank=True, help_text=_("How to earn it, as members read it."))
    description_fr = models.TextField(blank=True)
    active = models.BooleanField(default=True, help_text=_("An inactive badge is not awarded nor shown to earn."))
    created_at = models.DateTimeField(auto_now_add=True)

    history = config_history()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class MemberBadge(models.Model):
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="badges")
    badge = models.ForeignKey(Badge, on_delete=models.PROTECT, related_name="awards")
    earned_at = models.DateTimeField()
    source = models.CharField(
        max_length=80, help_text=_("What awarded it: mission:<id>, milestone:<code> or staff:<user id>.")
    )

    class Meta:
        ordering = ["-earned_at"]
        constraints = [models.UniqueConstraint(fields=["member", "badge"], name="badge_once_per_member")]

    def __str__(self):
        return f"{self.badge} for {self.member_id}"
