import unicodedata
from datetime import date
from typing import TYPE_CHECKING

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction

from loyalty.exceptions import Conflict, MemberClosed, PermissionDenied, ValidationError
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.ledger import services as ledger

from .models import Member, MemberStatus, MemberStatusChange
from .numbers import member_number_new

if TYPE_CHECKING:
    from loyalty.partners.models import Partner


# The username is the e-mail in lower case, so an e-mail must fit the user model's username.
EMAIL_MAX_LENGTH = 150


def username_from_email(email: str) -> str:
    """The username of the member with this e-mail: NFKC-normalised (as ``create_user`` does) and in lower case."""
    return unicodedata.normalize("NFKC", email.strip()).lower()


def member_enroll(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
    birth_date: date | None = None,
    language: str = "",
    external_id: str = "",
    marketing_consent: bool = False,
    enrolled_by: "Partner | None" = None,
) -> Member:
    """Create the user, the member and its points account.

    Raises ``Conflict`` on a known e-mail (in any case), also when two enrolments of one
    e-mail race: the username, the e-mail in lower case, is unique in the database. A staff
    login with that username is the same ``Conflict``. The conflict says nothing about who
    holds the e-mail (no member number; the same answer whoever enrolled it). Any other
    integrity error propagates.
    """
    email = get_user_model().objects.normalize_email(email).strip()
    with transaction.atomic():
        _refuse_known_email(email)
        try:
            with transaction.atomic():
                user = get_user_model().objects.create_user(
                    username=username_from_email(email),
                    email=email,
                    password=password,
                    first_name=first_name,
                    last_name=last_name,
                )
        except IntegrityError:
            if get_user_model().objects.filter(username=username_from_email(email)).exists():
                raise _email_taken() from None
            raise
        number = member_number_new()
        while Member.objects.filter(member_number=number).exists():
            number = member_number_new()
        member = Member.objects.create(
            user=user,
            member_number=number,
            birth_date=birth_date,
            language=language or settings.LANGUAGE_CODE,
            external_id=external_id,
            marketing_consent=marketing_consent,
            enrolled_by=enrolled_by,
        )
        ledger.open_account(member=member)
    return member


# The permission a staff user needs to move a member to each status.
STATUS_PERMISSIONS = {
    MemberStatus.ACTIVE: "members.suspend_member",
    MemberStatus.SUSPENDED: "members.suspend_member",
    MemberStatus.CLOSED: "members.close_member",
}


def member_status_change(*, member: Member, status: str, reason: str, actor=None) -> MemberStatusChange:
    """Move ``member`` to ``status`` with a reason, recorded with who did it (a user; None: the system).

    Staff need ``members.suspend_member`` to suspend or reactivate, ``members.close_member``
    to close; members may close their own account and nothing else. Closing is final: it
    forfeits every point through the ledger, with the reason, and ends the member's login.
    Locks the member's points account first, so no ledger move interleaves. Raises
    ``PermissionDenied``, ``ValidationError`` (unknown status, no reason, no change) and
    ``MemberClosed``.
    """
    if status not in STATUS_PERMISSIONS:
        raise ValidationError("This status does not exist.", field="status")
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why the status changes.", field="reason")
    if len(reason) > MemberStatusChange._meta.get_field("reason").max_length:
        raise ValidationError("The reason is too long (255 characters at most).", field="reason")
    if actor is not None and not _may_set_status(actor, member, status):
        raise PermissionDenied("You are not allowed to give a member this status.")
    with transaction.atomic():
        locked = ledger_locks.account_for_update(member.account.pk)
        current = locked.member_status
        if current == MemberStatus.CLOSED:
            raise MemberClosed()
        if current == status:
            raise ValidationError("The member already has this status.", field="status")
        change = MemberStatusChange.objects.create(
            member=member, from_status=current, to_status=status, reason=reason, actor=actor
        )
        if status == MemberStatus.CLOSED:
            ledger.forfeit(member.account, reason=reason, actor=actor, cause=change)
            get_user_model().objects.filter(pk=member.user_id).update(is_active=False)
            member.user.is_active = False
        member.status = status
        member.save(update_fields=["status", "updated_at"])
    return change


def _may_set_status(actor, member: Member, status: str) -> bool:
    if actor.pk == member.user_id:
        return status == MemberStatus.CLOSED
    return actor.is_active and actor.is_staff and actor.has_perm(STATUS_PERMISSIONS[status])


def member_profile_update(
    *, member: Member, first_name: str, last_name: str, language: str, marketing_consent: bool
) -> Member:
    """Save what the member may change about themselves; the e-mail and the number stay.

    Raises ``ValidationError`` for a language the program does not offer.
    """
    _check_language(language)
    user = member.user
    user.first_name, user.last_name = first_name, last_name
    member.language, member.marketing_consent = language, marketing_consent
    with transaction.atomic():
        user.save(update_fields=["first_name", "last_name"])
        member.save(update_fields=["language", "marketing_consent", "updated_at"])
    return member


def member_language_set(*, member: Member, language: str) -> Member:
    """Remember the member's portal language (one of ``settings.LANGUAGES``)."""
    _check_language(language)
    member.language = language
    member.save(update_fields=["language", "updated_at"])
    return member


def password_reset_budget_take(*, email: str) -> bool:
    """Count one reset e-mail to ``email``; False once ``PASSWORD_RESET_EMAILS_PER_HOUR`` are spent.

    Caps the e-mails anyone can make the program send to one address.
    """
    key = f"password-reset:{username_from_email(email)}"
    cache.add(key, 0, timeout=3600)
    try:
        sent = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        sent = 1
    return sent <= settings.PASSWORD_RESET_EMAILS_PER_HOUR


def user_login_unlock(*, user) -> None:
    """Lift the login throttle (django-axes) on this user: they just proved they own the e-mail."""
    axes_reset(username=user.get_username())


def _check_language(language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise ValidationError("This language is not offered.", language=language)


def _email_taken() -> Conflict:
    return Conflict("This e-mail is already registered.", field="email")


def _refuse_known_email(email: str) -> None:
    if Member.objects.filter(user__email__iexact=email).exists():
        raise _email_taken()
