"""The staff admin's forms that move points. Each carries a one-time token.

The token is a UUID made when the form is shown and sent back hidden; the admin passes
it to the ledger as the idempotency key, so a double submit (a double click, a reload
of the POST) moves the points once and shows the first result.
"""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

POINTS_LIMIT = 10**12


class OneTimeTokenForm(forms.Form):
    token = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("token", uuid.uuid4())
        super().__init__(*args, **kwargs)

    @property
    def idempotency_key(self) -> str:
        """The ledger's key for this form's one submission."""
        return f"admin:{self.cleaned_data['token']}"


class AdjustPointsForm(OneTimeTokenForm):
    points = forms.IntegerField(
        label=_("Points"),
        help_text=_("Positive to credit, negative to debit."),
        min_value=-POINTS_LIMIT,
        max_value=POINTS_LIMIT,
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, help_text=_("Shown in the member's history."))
    qualifying = forms.BooleanField(
        label=_("Counts towards tiers"),
        required=False,
        help_text=_("Only for points the member earned, such as a purchase whose receipt was lost."),
    )

    field_order = ["points", "reason", "qualifying", "token"]

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than zero."))
        return points

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("qualifying") and cleaned.get("points", 0) < 0:
            self.add_error("qualifying", _("Only points given count towards tiers; a debit cannot."))
        return cleaned


class ReverseEntryForm(OneTimeTokenForm):
    points = forms.IntegerField(
        label=_("Points to reverse"),
        min_value=1,
        max_value=POINTS_LIMIT,
        help_text=_("All that can still be reversed, or fewer for a partial reversal."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, help_text=_("Shown in the member's history."))

    field_order = ["points", "reason", "token"]

    def __init__(self, *args, reversible: int, **kwargs):
        # Only the default: the ledger decides what can still be reversed when the form is sent
        # (and a double submit must reach it, to get the first reversal back).
        kwargs.setdefault("initial", {}).setdefault("points", reversible)
        super().__init__(*args, **kwargs)
