"""Each kind of notification: who gets it, and what it says in the reader's language.

**The consent rule, in one place** (``notification_wanted``, ``email_wanted`` and, for the
set-based expiry reminder, ``members_wanting``):

- A closed member gets nothing. A suspended member still sees notifications in the portal (they
  may log in and look) but gets no e-mail; an active member gets both.
- The welcome of a portal sign-up is e-mailed once its address is confirmed (``awaiting_confirmation``).
- A kind with a preference (every kind but the welcome) is written only if the member's
  preference allows it; a member who never chose has the field's default
  (``NotificationPreference``): on for every kind but *points earned*.
- **Transactional** kinds (about the member's own account: welcome, expiry reminder, tier up and
  down, voucher issued, referral credited, badge earned) are e-mailed unless the member switched them off.
- **Marketing** kinds (*points earned*: a frequent message that invites to come back rather than
  one the account needs) are e-mailed only if the member also gave ``marketing_consent``;
  without it they stay in the portal's list.

Texts are stored as a kind and parameters and rendered here when shown (like
``loyalty.ledger.memos``): ``title`` is the list's line and the e-mail's subject, ``text``
the sentence below it, ``link`` where the portal shows more.
"""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.translation import get_language, gettext, ngettext

from members.models import MemberStatus

from .models import NotificationKind, NotificationPreference


@dataclass(frozen=True)
class Kind:
    preference: str | None  # the NotificationPreference field that switches it; None: always written
    marketing: bool = False

    @property
    def default(self) -> bool:
        if self.preference is None:
            return True
        return NotificationPreference._meta.get_field(self.preference).default


KINDS: dict[str, Kind] = {
    NotificationKind.WELCOME: Kind(preference=None),
    NotificationKind.POINTS_EARNED: Kind(preference="points_earned", marketing=True),
    NotificationKind.EXPIRY_REMINDER: Kind(preference="expiry_reminder"),
    NotificationKind.TIER_UP: Kind(preference="tier_up"),
    NotificationKind.TIER_DOWN: Kind(preference="tier_down"),
    NotificationKind.VOUCHER_ISSUED: Kind(preference="voucher_issued"),
    NotificationKind.REFERRAL_CREDITED: Kind(preference="referral_credited"),
    NotificationKind.MISSION_COMPLETED: Kind(preference=None),  # transactional: a prize the member won
    NotificationKind.BADGE_EARNED: Kind(preference="badge_earned"),
}
PREFERENCE_KINDS = [kind for kind, rule in KINDS.items() if rule.preference]


def _preference(member) -> NotificationPreference | None:
    try:
        return member.notification_preference
    except NotificationPreference.DoesNotExist:
        return None


def notification_wanted(member, kind: str) -> bool:
    """Whether ``member`` gets a notification of ``kind`` at all (in the portal). Reads the member's preference
    (select it with the member: ``notification_preference``)."""
    if member.status == MemberStatus.CLOSED or member.merged_into_id is not None:
        return False
    rule = KINDS[kind]
    if rule.preference is None:
        return True
    preference = _preference(member)
    return rule.default if preference is None else getattr(preference, rule.preference)


def awaiting_confirmation(member) -> bool:
    """A portal sign-up (it chose a password) whose address is not proven yet: its welcome waits for the link, so
    an address someone else typed in gets only the confirmation e-mail. A partner's enrolment (no password: the
    partner took the address at its till) is welcomed at once."""
    return member.email_verified_at is None and member.user.has_usable_password()


def email_wanted(member, kind: str) -> bool:
    """Whether a notification of ``kind`` the member gets is e-mailed too."""
    if not notification_wanted(member, kind) or member.status != MemberStatus.ACTIVE or not member.user.email:
        return False
    if kind == NotificationKind.WELCOME and awaiting_confirmation(member):
        return False
    return member.marketing_consent or not KINDS[kind].marketing


def members_wanting(kind: str, *, email: bool) -> Q:
    """``notification_wanted`` (or ``email_wanted``) as a filter on members, for set-based work."""
    rule = KINDS[kind]
    wanted = Q(merged_into__isnull=True) & ~Q(status=MemberStatus.CLOSED)
    if rule.preference is not None:
        switched = NotificationPreference.objects.filter(
            member_id=OuterRef("pk"), **{rule.preference: not rule.default}
        )
        wanted &= ~Exists(switched) if rule.default else Exists(switched)
    if email:
        wanted &= Q(status=MemberStatus.ACTIVE) & ~Q(user__email="")
        if rule.marketing:
            wanted &= Q(marketing_consent=True)
        if kind == NotificationKind.WELCOME:  # not awaiting_confirmation
            wanted &= Q(email_verified_at__isnull=False) | Q(user__password__startswith=UNUSABLE_PASSWORD_PREFIX)
    return wanted


def _points(points: int) -> str:
    return number_format(points, force_grouping=True)


def _localized(name: str, name_fr: str = "") -> str:
    return name_fr if name_fr and (get_language() or "").startswith("fr") else name


def _day(iso: str) -> str:
    return date_format(date.fromisoformat(iso), "DATE_FORMAT")


def _welcome(*, number: str = "") -> tuple[str, str]:
    return (
        gettext("Welcome to the loyalty program"),
        gettext("Your card number is %(number)s: show it at the till to earn points on every purchase.")
        % {"number": number},
    )


def _points_earned(*, points: int, balance: int | None = None) -> tuple[str, str]:
    title = ngettext("You earned %(points)s point", "You earned %(points)s points", points) % {
        "points": _points(points)
    }
    if balance is None:
        return title, ""
    return title, ngettext(
        "Your balance is now %(balance)s point.", "Your balance is now %(balance)s points.", balance
    ) % {"balance": _points(balance)}


def _expiry_reminder(*, points: int, expires_on: str) -> tuple[str, str]:
    return (
        ngettext("%(points)s point expires on %(date)s", "%(points)s points expire on %(date)s", points)
        % {"points": _points(points), "date": _day(expires_on)},
        gettext("Spend them by the end of that day: points that expire are lost. The rewards are waiting."),
    )


def _tier_up(*, tier: str, tier_fr: str = "") -> tuple[str, str]:
    return (
        gettext("You reached the %(tier)s tier") % {"tier": _localized(tier, tier_fr)},
        gettext("Thank you for your loyalty! See what your new tier brings you."),
    )


def _tier_down(*, tier: str = "", tier_fr: str = "") -> tuple[str, str]:
    if not tier:
        title = gettext("You no longer hold a tier")
    else:
        title = gettext("Your tier is now %(tier)s") % {"tier": _localized(tier, tier_fr)}
    return title, gettext("See what it takes to reach the next tier again.")


def _voucher_issued(
    *, reward: str, reward_fr: str = "", count: int = 1, voucher_id: int | None = None
) -> tuple[str, str]:
    name = _localized(reward, reward_fr)
    if count == 1:
        return (
            gettext("Your voucher for %(reward)s is ready") % {"reward": name},
            gettext("Show it at the till: its code and its dates are in the portal."),
        )
    return (
        ngettext(
            "Your %(count)s voucher for %(reward)s is ready", "Your %(count)s vouchers for %(reward)s are ready", count
        )
        % {"count": count, "reward": name},
        gettext("Show them at the till: their codes and their dates are in the portal."),
    )


def _referral_credited(*, points: int, role: str = "referrer") -> tuple[str, str]:
    if role == "referee":
        return (
            ngettext(
                "Your friend's invitation earned you %(points)s point",
                "Your friend's invitation earned you %(points)s points",
                points,
            )
            % {"points": _points(points)},
            gettext("Welcome bonus for joining with a friend's referral."),
        )
    return (
        ngettext(
            "A friend you invited earned you %(points)s point",
            "A friend you invited earned you %(points)s points",
            points,
        )
        % {"points": _points(points)},
        gettext("Your friend made a first purchase: thank you for inviting them!"),
    )


def _mission_completed(*, mission: str, mission_fr: str = "", points: int = 0) -> tuple[str, str]:
    title = gettext("You completed the challenge %(mission)s") % {"mission": _localized(mission, mission_fr)}
    if points:
        return title, ngettext(
            "Your prize: %(points)s point, already in your balance.",
            "Your prize: %(points)s points, already in your balance.",
            points,
        ) % {"points": _points(points)}
    return title, gettext("Your prize is waiting for you on the Challenges page.")


def _badge_earned(*, badge: str, badge_fr: str = "") -> tuple[str, str]:
    return (
        gettext("You earned the %(badge)s badge") % {"badge": _localized(badge, badge_fr)},
        gettext("Well done! See your badges and the ones still to earn."),
    )


TEXTS = {
    NotificationKind.WELCOME: _welcome,
    NotificationKind.POINTS_EARNED: _points_earned,
    NotificationKind.EXPIRY_REMINDER: _expiry_reminder,
    NotificationKind.TIER_UP: _tier_up,
    NotificationKind.TIER_DOWN: _tier_down,
    NotificationKind.VOUCHER_ISSUED: _voucher_issued,
    NotificationKind.REFERRAL_CREDITED: _referral_credited,
    NotificationKind.MISSION_COMPLETED: _mission_completed,
    NotificationKind.BADGE_EARNED: _badge_earned,
}


def notification_texts(notification) -> tuple[str, str]:
    """The notification's title and text in the active language."""
    try:
        return TEXTS[notification.kind](**(notification.params or {}))
    except (KeyError, TypeError, ValueError):
        return gettext("A message about your account"), ""


def notification_path(notification) -> str:
    """Where in the portal the member reads more (a path: the e-mail makes it absolute)."""
    kind, params = notification.kind, notification.params or {}
    if kind == NotificationKind.VOUCHER_ISSUED and params.get("voucher_id"):
        return reverse("portal:voucher", args=[params["voucher_id"]])
    names = {
        NotificationKind.POINTS_EARNED: "portal:history",
        NotificationKind.EXPIRY_REMINDER: "portal:rewards",
        NotificationKind.TIER_UP: "portal:tier",
        NotificationKind.TIER_DOWN: "portal:tier",
        NotificationKind.VOUCHER_ISSUED: "portal:vouchers",
        NotificationKind.REFERRAL_CREDITED: "portal:referrals",
        NotificationKind.MISSION_COMPLETED: "portal:challenges",
        NotificationKind.BADGE_EARNED: "portal:challenges",
    }
    return reverse(names.get(kind, "portal:dashboard"))
