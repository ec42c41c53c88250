"""The member portal's forms: they check input and leave every write to members.services."""

from datetime import date

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model, password_validation
from django.utils.translation import gettext_lazy as _

from loyalty.exceptions import InvalidReferralCode
from loyalty.exceptions import ValidationError as LoyaltyValidationError
from loyalty.ledger.forms import POINTS_LIMIT, OneTimeTokenForm
from loyalty.ledger.models import EntryKind
from rewards.models import RewardKind
from rewards.services import MAX_QUANTITY

from .gifting import MESSAGE_MAX_LENGTH
from .models import Member, MemberStatusChange
from .phones import phone_normalize
from .referrals.selectors import referral_code_member
from .services import EMAIL_MAX_LENGTH, password_reset_budget_take, username_from_email


def login_username(request, credentials: dict | None = None) -> str:
    """The username django-axes counts failures against, as stored."""
    source = credentials if credentials is not None else request.POST
    return username_from_email((source or {}).get("username", ""))


class LoginForm(auth_forms.AuthenticationForm):
    """Django's login form by e-mail. A closed member (an inactive user) gets the same answer as a wrong
    password; a member who has not yet proved the e-mail is told so, but only with the right password."""

    username = forms.EmailField(
        label=_("E-mail"),
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": _("This e-mail and password do not match. The password is case-sensitive."),
        "unverified": _(
            "Confirm your e-mail first: follow the link we sent to this address when you joined. "
            "Nothing arrived? Get a new link."
        ),
    }

    def clean_username(self) -> str:
        return username_from_email(self.cleaned_data["username"])

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if Member.objects.filter(user_id=user.pk, email_verified_at__isnull=True).exists():
            raise forms.ValidationError(self.error_messages["unverified"], code="unverified")


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, with at most ``PASSWORD_RESET_EMAILS_PER_HOUR`` e-mails to one address.

    Over the budget the page says the same as always and nothing is sent.
    """

    def get_users(self, email):
        if not password_reset_budget_take(email=email):
            return iter(())
        return super().get_users(email)


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), max_length=EMAIL_MAX_LENGTH, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    marketing_consent = forms.BooleanField(
        label=_("Send me offers and news about my points by e-mail"), required=False
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=32,
        required=False,
        help_text=_("With the country code, e.g. +33 6 12 34 56 78."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    referral_code = forms.CharField(
        label=_("A friend's referral code (optional)"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    REFERRAL_CODE_INVALID = _("This referral code is not valid: check it with the friend who gave it.")

    def clean_phone(self) -> str:
        try:
            return phone_normalize(self.cleaned_data["phone"])
        except LoyaltyValidationError:
            raise forms.ValidationError(
                _("Give the phone number with its country code, e.g. +33 6 12 34 56 78.")
            ) from None

    def clean_referral_code(self) -> str:
        code = self.cleaned_data["referral_code"].strip()
        if code:
            try:
                referral_code_member(code=code)
            except InvalidReferralCode:
                raise forms.ValidationError(self.REFERRAL_CODE_INVALID) from None
        return code

    def clean(self):
        data = super().clean()
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords differ."))
        elif password1:
            user = get_user_model()(
                username=data.get("email", ""),
                email=data.get("email", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password1, user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class EmailForm(forms.Form):
    """The address a member wants a link at (a new confirmation link, or one to choose a password)."""

    email = forms.EmailField(
        label=_("E-mail"),
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class ActivateForm(auth_forms.SetPasswordForm):
    """The password a member chooses from an ``activate`` link (Django's checks; ``new-password`` autocomplete)."""


class CloseAccountForm(forms.Form):
    """The member confirms closing with their password and says why."""

    password = forms.CharField(
        label=_("Your password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    reason = forms.CharField(
        label=_("Why are you leaving?"),
        max_length=MemberStatusChange._meta.get_field("reason").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(label=_("I understand that closing is final and my points are lost."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("This is not your password."), code="wrong_password")
        return password


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    marketing_consent = forms.BooleanField(
        label=_("Send me offers and news about my points by e-mail"), required=False
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    next = forms.CharField(required=False)


class HistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("All kinds")), *EntryKind.choices], required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean_since(self) -> date | None:
        return _within_history(self.cleaned_data["since"])

    def clean_until(self) -> date | None:
        return _within_history(self.cleaned_data["until"])

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date comes before the start date."))
        return data

    def filters(self) -> dict:
        """The filters for ``member_entries``; call only once ``is_valid()``."""
        return {name: self.cleaned_data[name] for name in ("kind", "since", "until") if self.cleaned_data[name]}


# The days a history filter may name: a bound outside them could not become a moment (9999-12-31's next day).
HISTORY_FIRST_DAY = date(1900, 1, 1)
HISTORY_LAST_DAY = date(9999, 12, 30)


def _within_history(day: date | None) -> date | None:
    if day is not None and not HISTORY_FIRST_DAY <= day <= HISTORY_LAST_DAY:
        raise forms.ValidationError(
            _("Enter a date between %(first)s and %(last)s."),
            code="out_of_range",
            params={"first": HISTORY_FIRST_DAY.isoformat(), "last": HISTORY_LAST_DAY.isoformat()},
        )
    return day


class GiftForm(OneTimeTokenForm):
    """The portal's *Send points* form; its one-time token makes a double click send once."""

    recipient_number = forms.CharField(
        label=_("Member number of the recipient"),
        max_length=32,
        help_text=_("The 10 digits on their card."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    points = forms.IntegerField(label=_("Points"), min_value=1, max_value=POINTS_LIMIT)
    message = forms.CharField(
        label=_("Message"),
        max_length=MESSAGE_MAX_LENGTH,
        required=False,
        help_text=_("Optional; the recipient reads it in their history."),
    )

    field_order = ["recipient_number", "points", "message", "token"]

    @property
    def idempotency_key(self) -> str:
        return f"portal:{self.cleaned_data['token']}"


class RewardFilterForm(forms.Form):
    """The catalog's filters (a GET form: they work without script, and htmx swaps the results)."""

    affordable = forms.BooleanField(label=_("Only what I can redeem now"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds")), *RewardKind.choices])


class RedeemForm(OneTimeTokenForm):
    """The confirmation step of a redemption; its one-time token makes a double click or a reload redeem once."""

    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        max_value=MAX_QUANTITY,
        initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    field_order = ["quantity", "token"]

    @property
    def idempotency_key(self) -> str:
        return f"portal:{self.cleaned_data['token']}"
