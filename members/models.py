from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
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
    phone = models.CharField(
        max_length=32,
        blank=True,
        help_text=_("Optional; in E.164 form (+33612345678) so that two members can be compared."),
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_members",
        help_text=_("The member that this one was merged into; its number points there."),
    )
    email_verified_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the member proved the e-mail is theirs; the portal needs it.")
    )
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
        permissions = [
            ("suspend_member", "Can suspend and reactivate members"),
            ("close_member", "Can close members' accounts"),
            ("merge_member", "Can merge a member into another"),
            ("export_member", "Can export members (their personal data) as CSV"),
        ]
        # The dashboard counts the members who joined after its last rolled-up day (loyalty/reports).
        indexes = [models.Index(fields=["joined_at"], name="member_joined_at")]

    def __str__(self):
        return self.member_number


class MemberStatusChange(models.Model):
    """One change of a member's status: who made it, when and why. Written by ``member_status_change`` and
    ``member_merge`` only."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=16, choices=MemberStatus.choices)
    to_status = models.CharField(max_length=16, choices=MemberStatus.choices)
    reason = models.CharField(max_length=255)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The staff user or the member who made the change; empty for the system."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "-created_at"], name="member_status_history")]

    def __str__(self):
        return f"{self.member_id}: {self.from_status} → {self.to_status}"


class GiftPolicy(models.Model):
    """The program's one gifting policy (a single row, id 1, created by a migration): off until staff enable it.

    Limits are in points and counted in program days and months (``loyalty.clock``).
    """

    enabled = models.BooleanField(default=False, help_text=_("Members may send points to other members."))
    per_gift_limit = models.PositiveIntegerField(
        default=500, validators=[MinValueValidator(1)], help_text=_("Most points in one gift.")
    )
    daily_limit = models.PositiveIntegerField(
        default=1000, validators=[MinValueValidator(1)], help_text=_("Most points a member sends in a program day.")
    )
    monthly_limit = models.PositiveIntegerField(
        default=3000,
        validators=[MinValueValidator(1)],
        help_text=_("Most points a member sends in a calendar month of the program."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("gift policy")
        verbose_name_plural = _("gift policy")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="gift_policy_single_row")]

    def __str__(self):
        return str(_("Gift policy"))


class Gift(models.Model):
    """Points one member sent another: the cause of the pair of ``gift`` entries. Written by ``gift_send`` only."""

    sender = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="gifts_sent")
    recipient = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="gifts_received")
    points = models.PositiveIntegerField()
    message = models.CharField(max_length=140, blank=True)
    created_at = models.DateTimeField()
    program_day = models.DateField(help_text=_("The program's day of the gift, which the limits count."))
    idempotency_key = models.CharField(max_length=255)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="gift_points_positive"),
            models.CheckConstraint(condition=~Q(sender=models.F("recipient")), name="gift_not_to_oneself"),
            models.UniqueConstraint(fields=["sender", "idempotency_key"], name="gift_idempotency_key_per_sender"),
        ]
        indexes = [models.Index(fields=["sender", "program_day"], name="gift_sender_day")]

    def __str__(self):
        return f"Gift {self.pk}: {self.points} points"
