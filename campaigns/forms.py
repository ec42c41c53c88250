"""The staff admin's forms for earning: a campaign, its rules, its member list, and the simulator.

They validate what a person typed (a rule of a kind has the fields that kind needs, a
campaign ends after it starts, a list's member numbers exist); the services write.
"""

import csv
import io
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from loyalty.clock import program_timezone
from loyalty.exceptions import InvalidMemberNumber
from members.models import Member
from members.numbers import member_number_clean

from .models import Campaign, CampaignStatus, EventType, Rule, RuleKind

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]
MEMBER_LIST_MAX_ROWS = 200_000
UNKNOWN_SHOWN = 20  # unknown numbers named in the error; the rest are counted


class WordListField(forms.CharField):
    """A list of words (SKUs, categories, channels) typed comma-separated; stored as a JSON list."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("Comma-separated; empty: any."))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value):
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        words = [word.strip() for word in (value or "").split(",")]
        return list(dict.fromkeys(word for word in words if word))

    def validate(self, value):
        for word in value:
            if len(word) > 64:
                raise ValidationError(_("%(word)s is longer than 64 characters."), params={"word": word[:64]})


class WeekdaysField(forms.TypedMultipleChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            choices=WEEKDAYS,
            coerce=int,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=_("None ticked: every day."),
            **kwargs,
        )

    def prepare_value(self, value):
        return [str(day) for day in value] if isinstance(value, list | tuple) else value


class CampaignForm(forms.ModelForm):
    weekdays = WeekdaysField(label=_("Days of the week"))
    channels = WordListField(label=_("Channels"), help_text=_("E.g. store, web, app; comma-separated; empty: any."))

    class Meta:
        model = Campaign
        fields = [
            "name",
            "name_fr",
            "description",
            "description_fr",
            "starts_at",
            "ends_at",
            "weekdays",
            "start_time",
            "end_time",
            "tiers",
            "joined_after",
            "joined_before",
            "uses_member_list",
            "partners",
            "channels",
            "member_cap",
            "cap_period",
            "budget",
        ]

    def clean_weekdays(self):
        days = sorted(set(self.cleaned_data["weekdays"]))
        if any(day < 0 or day > 6 for day in days):
            raise ValidationError(_("Days of the week run from 0 (Monday) to 6 (Sunday)."))
        return days

    def clean_budget(self):
        budget = self.cleaned_data.get("budget")
        awarded = self.instance.points_awarded if self.instance.pk else 0
        if budget is not None and budget < awarded:
            raise ValidationError(
                _("The campaign already gave %(awarded)s points: the budget cannot be less."),
                params={"awarded": awarded},
            )
        return budget

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", _("The campaign must end after it starts."))
        start_time, end_time = cleaned.get("start_time"), cleaned.get("end_time")
        if (start_time is None) != (end_time is None):
            field = "end_time" if end_time is None else "start_time"
            self.add_error(field, _("Give both hours (from and until), or neither."))
        elif start_time is not None and start_time == end_time:
            self.add_error("end_time", _("The hours cannot start and end at the same time."))
        joined_after, joined_before = cleaned.get("joined_after"), cleaned.get("joined_before")
        if joined_after and joined_before and joined_before <= joined_after:
            self.add_error("joined_before", _("No member can have joined both after and before these days."))
        if cleaned.get("member_cap") == 0:
            self.add_error("member_cap", _("A cap of 0 gives nothing: leave it empty for no cap."))
        return cleaned


class RuleForm(forms.ModelForm):
    skus = WordListField(label=_("SKUs"))
    categories = WordListField(label=_("Categories"))

    class Meta:
        model = Rule
        fields = [
            "kind",
            "priority",
            "exclusive",
            "multiplier",
            "points",
            "skus",
            "categories",
            "min_amount",
            "min_quantity",
            "event_type",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "event_type" in self.fields:
            self.fields["event_type"].queryset = EventType.objects.filter(active=True)

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        points = cleaned.get("points") or 0
        if kind == RuleKind.MULTIPLIER:
            multiplier = cleaned.get("multiplier")
            if multiplier is not None and multiplier <= 1:
                self.add_error("multiplier", _("A multiplier rule multiplies by more than 1 (2 for double points)."))
        elif kind in (RuleKind.FIRST_PURCHASE_BONUS, RuleKind.BASKET_BONUS, RuleKind.QUANTITY_BONUS) and points <= 0:
            self.add_error("points", _("A bonus rule gives some points."))
        if kind == RuleKind.BASKET_BONUS and (cleaned.get("min_amount") or Decimal(0)) <= 0:
            self.add_error("min_amount", _("A basket bonus needs the least amount paid."))
        if kind == RuleKind.QUANTITY_BONUS:
            if (cleaned.get("min_quantity") or Decimal(0)) <= 0:
                self.add_error("min_quantity", _("A quantity bonus needs the least quantity bought."))
            if not cleaned.get("skus") and not cleaned.get("categories"):
                self.add_error("skus", _("A quantity bonus counts the items of some SKUs or categories: name them."))
        if kind == RuleKind.EVENT_POINTS:
            if cleaned.get("event_type") is None:
                self.add_error("event_type", _("Event points name the event type they reward."))
            if points <= 0:
                self.add_error("points", _("Event points give some points."))
        if kind != RuleKind.MULTIPLIER and "multiplier" not in self.errors:
            cleaned["multiplier"] = Decimal(1)  # a bonus multiplies nothing: what is stored says so
        if kind != RuleKind.EVENT_POINTS and "event_type" not in self.errors:
            cleaned["event_type"] = None
        return cleaned


class EventTypeForm(forms.ModelForm):
    class Meta:
        model = EventType
        fields = [
            "code",
            "name",
            "name_fr",
            "points",
            "limit",
            "limit_period",
            "per_day",
            "requires_approval",
            "active",
        ]

    def clean_code(self):
        code = self.cleaned_data["code"]
        if self.instance.pk and self.instance.builtin and code != self.instance.code:
            raise ValidationError(_("The code of a built-in event type cannot change: partners post it."))
        return code


def member_numbers_from_csv(content: bytes) -> tuple[list[str], list[str]]:
    """The member numbers of an uploaded CSV (the first column; a header row is skipped), and its errors.

    Each row is checked (10 digits, the check digit): an error names its row. Blank rows are
    skipped; a number listed twice counts once.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [str(_("The file is not UTF-8 text: save it as CSV (UTF-8)."))]
    numbers: list[str] = []
    errors: list[str] = []
    for row_number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        value = row[0].strip() if row else ""
        if not value:
            continue
        if row_number == 1 and not any(character.isdigit() for character in value):
            continue  # a header ("member_number")
        if len(numbers) + len(errors) >= MEMBER_LIST_MAX_ROWS:
            errors.append(str(_("The list has more than %(max)s rows.") % {"max": MEMBER_LIST_MAX_ROWS}))
            break
        try:
            numbers.append(member_number_clean(value))
        except InvalidMemberNumber:
            errors.append(
                str(_("Row %(row)s: %(value)s is not a member number.") % {"row": row_number, "value": value[:40]})
            )
    return list(dict.fromkeys(numbers)), errors


class MemberListForm(forms.Form):
    """A CSV of member numbers for a campaign's list: every row valid and a member's, or nothing is written."""

    file = forms.FileField(label=_("CSV of member numbers"), help_text=_("One member number a row, first column."))
    replace = forms.TypedChoiceField(
        label=_("The list"),
        choices=[("1", _("Replaces the current list")), ("0", _("Is added to the current list"))],
        coerce=lambda value: value == "1",
        initial="1",
        widget=forms.RadioSelect,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        numbers, errors = member_numbers_from_csv(upload.read())
        if errors:
            raise ValidationError(errors)
        if not numbers:
            raise ValidationError(_("The file holds no member number."))
        known = set()
        for start in range(0, len(numbers), 2000):
            batch = numbers[start : start + 2000]
            known.update(Member.objects.filter(member_number__in=batch).values_list("member_number", flat=True))
        unknown = [number for number in numbers if number not in known]
        if unknown:
            shown = ", ".join(unknown[:UNKNOWN_SHOWN])
            more = len(unknown) - UNKNOWN_SHOWN
            message = ngettext(
                "%(count)d number is not a member's: %(numbers)s",
                "%(count)d numbers are not members': %(numbers)s",
                len(unknown),
            ) % {"count": len(unknown), "numbers": shown}
            if more > 0:
                message += " " + str(_("(and %(more)d more)") % {"more": more})
            raise ValidationError(message)
        return numbers


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255, help_text=_("Why the points are declined."))


class DryRunForm(forms.Form):
    days = forms.IntegerField(
        label=_("Days of purchases"),
        min_value=1,
        max_value=366,
        initial=30,
        help_text=_("The last N days, up to now."),
    )


class SimulatorForm(forms.Form):
    """Who buys (a member by number, or a tier), where and when; the lines are ``SimulatorLineFormSet``."""

    member_number = forms.CharField(
        label=_("Member number"), required=False, help_text=_("Their tier, join day, lists and caps count.")
    )
    tier = forms.ModelChoiceField(
        label=_("Or a tier"), queryset=None, required=False, empty_label=_("No tier"), help_text=_("Without a member.")
    )
    first_purchase = forms.BooleanField(label=_("As a first purchase (with a tier)"), required=False)
    partner = forms.ModelChoiceField(label=_("Partner"), queryset=None, required=False, empty_label=_("Any"))
    channel = forms.CharField(label=_("Channel"), max_length=32, required=False)
    occurred_at = forms.DateTimeField(
        label=_("Occurred at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("In the program's time zone."),
    )
    discount = forms.DecimalField(
        label=_("Basket discount"), min_value=0, max_digits=14, decimal_places=2, initial=0, required=False
    )
    points_amount = forms.DecimalField(
        label=_("Paid with points"), min_value=0, max_digits=14, decimal_places=2, initial=0, required=False
    )
    campaign = forms.ModelChoiceField(
        label=_("Include a draft campaign"),
        queryset=None,
        required=False,
        empty_label=_("None: the live campaigns only"),
        help_text=_("What if this campaign were live."),
    )

    def __init__(self, *args, **kwargs):
        from loyalty.partners.models import Partner
        from members.tiers.models import Tier

        super().__init__(*args, **kwargs)
        self.fields["tier"].queryset = Tier.objects.order_by("rank")
        self.fields["partner"].queryset = Partner.objects.filter(active=True).order_by("name")
        self.fields["campaign"].queryset = Campaign.objects.filter(status=CampaignStatus.DRAFT).order_by("name")

    def clean_occurred_at(self):
        # What was typed is the program's wall time, whatever time zone is active.
        moment = self.cleaned_data["occurred_at"]
        return timezone.make_aware(timezone.make_naive(moment), program_timezone())

    def clean_member_number(self):
        value = self.cleaned_data["member_number"].strip()
        if not value:
            return None
        try:
            number = member_number_clean(value)
        except InvalidMemberNumber as error:
            raise ValidationError(error.message) from None
        member = Member.objects.filter(member_number=number).first()
        if member is None:
            raise ValidationError(_("No member has this number."))
        return member

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("member_number") and cleaned.get("tier"):
            self.add_error("tier", _("Pick a member or a tier, not both."))
        return cleaned


class SimulatorLineForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=64)
    category = forms.CharField(label=_("Category"), max_length=64, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), min_value=Decimal("0.001"), max_digits=12, decimal_places=3)
    unit_price = forms.DecimalField(label=_("Unit price"), min_value=0, max_digits=14, decimal_places=2)
    # No initial value: a blank extra line must read as unchanged, so the formset skips it.
    discount = forms.DecimalField(label=_("Discount"), min_value=0, max_digits=14, decimal_places=2, required=False)

    def clean(self):
        cleaned = super().clean()
        quantity, price, discount = cleaned.get("quantity"), cleaned.get("unit_price"), cleaned.get("discount") or 0
        if quantity is not None and price is not None and discount > quantity * price:
            self.add_error("discount", _("The discount is more than the line's price."))
        return cleaned


SimulatorLineFormSet = forms.formset_factory(
    SimulatorLineForm, extra=4, min_num=1, validate_min=True, max_num=50, validate_max=True
)
