"""The portal's referral forms: input checks only."""

from django import forms
from django.utils.translation import gettext_lazy as _

from members.services import EMAIL_MAX_LENGTH


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=_("Your friend's e-mail"),
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
