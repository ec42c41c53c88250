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
    birth_date = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE)
    external_id = models.CharField(
        max_length=64, blank=True, help_text=_("The member's id in the enrolling partner's own system.")
    )
    marketing_consent = models.BooleanField(default=False)
    enrolled_by = models.ForeignKey(
        "partners.Partner",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="enrolled_members",
        help_text=_("The partner that enrolled the member through the API, if any."),
    )

    class Meta:
        ordering = ["-joined_at", "-id"]

    def __str__(self):
        return self.member_number
