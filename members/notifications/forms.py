from django import forms
from django.utils.translation import gettext_lazy as _

from .kinds import KINDS, PREFERENCE_KINDS
from .models import NotificationKind

LABELS = {
    NotificationKind.POINTS_EARNED: _("Points I earn on a purchase"),
    NotificationKind.EXPIRY_REMINDER: _("Points about to expire (a reminder a month ahead)"),
    NotificationKind.TIER_UP: _("Reaching a higher tier"),
    NotificationKind.TIER_DOWN: _("Moving to a lower tier"),
    NotificationKind.VOUCHER_ISSUED: _("A voucher ready to use"),
    NotificationKind.REFERRAL_CREDITED: _("Points from friends I invited"),
    NotificationKind.BADGE_EARNED: _("A badge I earn"),
}
MARKETING_HELP = _("E-mailed only if you accept offers and news by e-mail in your profile; always in the portal.")


class NotificationPreferencesForm(forms.Form):
    """One box per kind a member may switch (``kinds.PREFERENCE_KINDS``), named by its preference field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in PREFERENCE_KINDS:
            rule = KINDS[kind]
            self.fields[rule.preference] = forms.BooleanField(
                label=LABELS[kind], required=False, help_text=MARKETING_HELP if rule.marketing else ""
            )
