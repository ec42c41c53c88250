"""Why a referral was declined, flagged or not paid: stored as codes, shown to staff in words."""

from django.utils.translation import gettext_lazy as _

SAME_EMAIL = "same_email"
SAME_PHONE = "same_phone"
SAME_DEVICE = "same_device"
SAME_ADDRESS = "same_address"
DORMANT_REFEREES = "dormant_referees"
STAFF = "staff"
MERGED_SELF = "merged_self"
MERGED_DUPLICATE = "merged_duplicate"
REFERRER_CAPPED = "referrer_monthly_cap"

REASONS = {
    SAME_EMAIL: _(
        "The same e-mail as the referrer's (once dots and +tags are removed where the provider ignores them)"
    ),
    SAME_PHONE: _("The same phone number as the referrer's"),
    SAME_DEVICE: _("Signed up from a browser the referrer uses"),
    SAME_ADDRESS: _("Too many sign-ups with a referral code from one address in a day"),
    DORMANT_REFEREES: _("None of the referrer's earlier referees has made a purchase"),
    STAFF: _("Declined by staff"),
    MERGED_SELF: _("The referrer and the new member were merged into one member"),
    MERGED_DUPLICATE: _("Merged into a member who already joined with a referral"),
    REFERRER_CAPPED: _("The referrer had reached the monthly cap of rewarded referrals: only the new member was paid"),
    "referrer_member_suspended": _("The referrer was suspended: not paid"),
    "referrer_member_closed": _("The referrer's account was closed: not paid"),
    "referee_member_suspended": _("The new member was suspended: not paid"),
    "referee_member_closed": _("The new member's account was closed: not paid"),
}


def reasons_display(codes: list[str]) -> list[str]:
    return [str(REASONS.get(code, code)) for code in codes]
