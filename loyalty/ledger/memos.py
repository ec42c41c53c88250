"""What system entries say to members: a code and its parameters, rendered in the reader's language.

An entry written by the system (an expiry today; a campaign's bonus later) stores
``memo_code`` and ``memo_params`` (JSON), never English text, so the French history reads
French. ``entry_memo_display`` is the one function the portal, its CSV, the API and the
admin use to show any entry's memo: the rendered code, or the free text a person wrote
(``memo``: an adjustment's reason, a partner's description). A new kind of system text is
one more entry in ``MEMOS``.
"""

from collections.abc import Callable

from django.utils.formats import number_format
from django.utils.translation import get_language, gettext, ngettext

from loyalty.exceptions import ValidationError

EXPIRED = "expired"
REFERRAL_REFERRER = "referral_referrer"
REFERRAL_WELCOME = "referral_welcome"
GIFT_TO = "gift_to"
GIFT_FROM = "gift_from"
MERGED_INTO = "merged_into"
MERGED_FROM = "merged_from"
MERGED_REFUND = "merged_refund"
DEBT_REPAID = "debt_repaid"
DEBT_WRITTEN_OFF = "debt_written_off"
EVENT_BONUS = "event_bonus"
HOLD_PLACED = "hold_placed"
HOLD_CAPTURED = "hold_captured"
HOLD_REST_RELEASED = "hold_rest_released"
HOLD_VOIDED = "hold_voided"
HOLD_EXPIRED = "hold_expired"
HOLD_REFUNDED = "hold_refunded"
REWARD_REDEEMED = "reward_redeemed"
REWARD_CANCELLED = "reward_cancelled"
REWARD_EXPIRED_REFUNDED = "reward_expired_refunded"
MISSION_PRIZE = "mission_prize"
MISSION_PRIZE_REVERSED = "mission_prize_reversed"


def _points(points: int) -> str:
    return number_format(points, force_grouping=True)


def _expired(*, points: int) -> str:
    return ngettext(
        "%(points)s point reached its expiry date", "%(points)s points reached their expiry date", points
    ) % {"points": _points(points)}


def _referral_referrer() -> str:
    return gettext("A friend you referred made a first purchase: thank you!")


def _referral_welcome() -> str:
    return gettext("Welcome bonus: you joined with a friend's referral")


def _with_message(text: str, message: str) -> str:
    """A gift's memo and the sender's message (free text, never translated)."""
    return gettext("%(memo)s: “%(message)s”") % {"memo": text, "message": message} if message else text


# Only member numbers: a member reads no other member's name or e-mail in a memo.
def _gift_to(*, number: str, message: str = "") -> str:
    return _with_message(gettext("Gift to member %(number)s") % {"number": number}, message)


def _gift_from(*, number: str, message: str = "") -> str:
    return _with_message(gettext("Gift from member %(number)s") % {"number": number}, message)


def _merged_into(*, number: str) -> str:
    return gettext("Moved to member %(number)s: the two memberships were merged") % {"number": number}


def _merged_from(*, number: str) -> str:
    return gettext("Moved from member %(number)s: the two memberships were merged") % {"number": number}


def _merged_refund(*, number: str) -> str:
    """Points a reversal gave back to a merged member, moved on to the member it was merged into (this one)."""
    return gettext("Points given back to member %(number)s, whose membership was merged into this one") % {
        "number": number
    }


def _debt_repaid(*, owed: int) -> str:
    """A repayment: ``owed`` is what the account still owes after it."""
    if owed == 0:
        return gettext("Pays back the points you owed after a return: you owe nothing now")
    return ngettext(
        "Pays back part of the points you owed after a return: %(owed)s point still owed",
        "Pays back part of the points you owed after a return: %(owed)s points still owed",
        owed,
    ) % {"owed": _points(owed)}


def _debt_written_off(*, points: int) -> str:
    return ngettext(
        "%(points)s point you owed after a return was written off",
        "%(points)s points you owed after a return were written off",
        points,
    ) % {"points": _points(points)}


def _event_bonus(*, name: str, name_fr: str = "") -> str:
    """An event's points (``campaigns.events``): the event type's name as staff wrote it in the reader's language."""
    language = (get_language() or "").split("-")[0]
    return gettext("Points for an event: %(event)s") % {"event": name_fr if language == "fr" and name_fr else name}


# Pay with points at a till (ledger holds): what each step of a hold tells the member.
def _hold_placed(*, points: int) -> str:
    return ngettext(
        "%(points)s point set aside for a payment at a till: not spent until the sale completes",
        "%(points)s points set aside for a payment at a till: not spent until the sale completes",
        points,
    ) % {"points": _points(points)}


def _hold_captured(*, points: int) -> str:
    return ngettext(
        "%(points)s point set aside paid at the till", "%(points)s points set aside paid at the till", points
    ) % {"points": _points(points)}


def _hold_rest_released(*, points: int) -> str:
    return ngettext(
        "%(points)s point set aside was not needed at the till: it is yours again",
        "%(points)s points set aside were not needed at the till: they are yours again",
        points,
    ) % {"points": _points(points)}


def _hold_voided(*, points: int) -> str:
    return ngettext(
        "The payment at the till was cancelled: %(points)s point set aside is yours again",
        "The payment at the till was cancelled: %(points)s points set aside are yours again",
        points,
    ) % {"points": _points(points)}


def _hold_expired(*, points: int) -> str:
    return ngettext(
        "The payment at the till was not completed in time: %(points)s point set aside is yours again",
        "The payment at the till was not completed in time: %(points)s points set aside are yours again",
        points,
    ) % {"points": _points(points)}


def _hold_refunded(*, points: int) -> str:
    return ngettext(
        "A payment with points was refunded: %(points)s point back",
        "A payment with points was refunded: %(points)s points back",
        points,
    ) % {"points": _points(points)}


def _reward_redeemed(*, name: str, name_fr: str = "", quantity: int = 1) -> str:
    """A redemption (``rewards.services``): the reward's name as staff wrote it in the reader's language."""
    language = (get_language() or "").split("-")[0]
    reward = name_fr if language == "fr" and name_fr else name
    if quantity == 1:
        return gettext("Redeemed: %(reward)s") % {"reward": reward}
    return gettext("Redeemed: %(quantity)s × %(reward)s") % {"quantity": quantity, "reward": reward}


def _reward_name(name: str, name_fr: str) -> str:
    language = (get_language() or "").split("-")[0]
    return name_fr if language == "fr" and name_fr else name


def _reward_cancelled(*, name: str, name_fr: str = "") -> str:
    """A voucher cancelled (``rewards.services.voucher_cancel``): its points back."""
    return gettext("Voucher cancelled, points back: %(reward)s") % {"reward": _reward_name(name, name_fr)}


def _reward_expired_refunded(*, name: str, name_fr: str = "") -> str:
    """An unused voucher of a reward that refunds on expiry (``rewards.services.vouchers_expire``)."""
    return gettext("Voucher expired unused, points back: %(reward)s") % {"reward": _reward_name(name, name_fr)}


def _mission_prize(*, name: str, name_fr: str = "") -> str:
    """A mission's prize (``missions.services``): the mission's name in the reader's language."""
    return gettext("Challenge completed: %(mission)s") % {"mission": _reward_name(name, name_fr)}


def _mission_prize_reversed(*, name: str, name_fr: str = "") -> str:
    """A mission's prize taken back: the purchase that completed a step was returned."""
    return gettext("Challenge prize taken back after a return: %(mission)s") % {"mission": _reward_name(name, name_fr)}


MEMOS: dict[str, Callable[..., str]] = {
    EXPIRED: _expired,
    REFERRAL_REFERRER: _referral_referrer,
    REFERRAL_WELCOME: _referral_welcome,
    GIFT_TO: _gift_to,
    GIFT_FROM: _gift_from,
    MERGED_INTO: _merged_into,
    MERGED_FROM: _merged_from,
    MERGED_REFUND: _merged_refund,
    DEBT_REPAID: _debt_repaid,
    DEBT_WRITTEN_OFF: _debt_written_off,
    EVENT_BONUS: _event_bonus,
    HOLD_PLACED: _hold_placed,
    HOLD_CAPTURED: _hold_captured,
    HOLD_REST_RELEASED: _hold_rest_released,
    HOLD_VOIDED: _hold_voided,
    HOLD_EXPIRED: _hold_expired,
    HOLD_REFUNDED: _hold_refunded,
    REWARD_REDEEMED: _reward_redeemed,
    REWARD_CANCELLED: _reward_cancelled,
    REWARD_EXPIRED_REFUNDED: _reward_expired_refunded,
    MISSION_PRIZE: _mission_prize,
    MISSION_PRIZE_REVERSED: _mission_prize_reversed,
}
"""Every memo code, with the function that renders it from its parameters in the active language."""


def memo_check(code: str, params: dict) -> None:
    """Refuse an unknown code, or parameters that are not a flat JSON object of strings and integers."""
    if code not in MEMOS:
        raise ValidationError(f"{code!r} is not a memo code.", field="memo_code")
    if not isinstance(params, dict) or not all(
        isinstance(key, str) and isinstance(value, str | int) and not isinstance(value, bool)
        for key, value in params.items()
    ):
        raise ValidationError("Memo parameters are a flat object of strings and integers.", field="memo_params")


def entry_memo_display(entry) -> str:
    """The entry's memo in the active language: its code rendered with its parameters, else its free text."""
    render = MEMOS.get(entry.memo_code)
    if render is None:
        return entry.memo
    try:
        return render(**(entry.memo_params or {}))
    except (TypeError, ValueError):
        return entry.memo  # parameters that do not fit the code (the ledger never writes them)


# What a partner reads of a gift: neither the other member nor the sender's message, which
# are the two members' own business (a partner may know one of them, never both).
PARTNER_MEMOS: dict[str, Callable[[], str]] = {
    GIFT_TO: lambda: gettext("Gift to another member"),
    GIFT_FROM: lambda: gettext("Gift from another member"),
}


def entry_memo_for_partner(entry) -> str:
    """The entry's memo as the partner API shows it: ``entry_memo_display``, but a gift names no one."""
    render = PARTNER_MEMOS.get(entry.memo_code)
    return render() if render else entry_memo_display(entry)
