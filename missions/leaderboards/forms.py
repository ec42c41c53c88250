from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty.exceptions import ValidationError

from .nicknames import MAX_LENGTH, nickname_clean


class NicknameForm(forms.Form):
    nickname = forms.CharField(
        label=_("Nickname"),
        max_length=MAX_LENGTH,
        help_text=_("What other members see: 3 to 20 letters, digits, spaces, - or _. Not your name or e-mail."),
    )

    def clean_nickname(self):
        try:
            return nickname_clean(self.cleaned_data["nickname"])
        except ValidationError as error:
            raise forms.ValidationError(error.message) from None
