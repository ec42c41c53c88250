from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models import TimeStampedModel


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    CLOSED = "closed", _("Closed")


class Member(TimeStampedModel):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="member")
    member_number = models.CharField(
        max_length=16, unique=True, help_text=_("Public card number: 9 digits and a Luhn check digit.")
    )
    joined_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=MemberStatus.choices, default=MemberStatus.ACTIVE)

    class Meta:
        ordering = ["-joined_at", "-id"]

    def __str__(self):
        return self.member_number
