from django import forms
from django.utils.translation import gettext_lazy as _


class AdjustPointsForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"), help_text=_("Positive to credit, negative to debit."), min_value=-(10**12), max_value=10**12
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, help_text=_("Shown in the member's history."))

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than zero."))
        return points
