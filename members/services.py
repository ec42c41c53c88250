import logging
import unicodedata
from datetime import date, datetime
from typing import TYPE_CHECKING

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from campaigns import events as campaign_events
from loyalty.exceptions import Conflict, MemberClosed, MergeRefused, PermissionDenied, ValidationError
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.ledger import memos
from loyalty.ledger import services as ledger
from loyalty.ledger.models import EntryKind
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType
from loyalty.ratelimit import rate_count
from missions.game_services import games_member_merge

from .models import Member, MemberStatus, MemberStatusChange
from .notifications import services as notifications
from .numbers import member_number_new
from .phones import phone_normalize
from .referrals import services as referrals
from .referrals.selectors import referral_code_member
from .tiers import services as tiers
from .tokens import account_token_make

if TYPE_CHECKING:
    from loyalty.partners.models import Partner


logger = logging.getLogger(__name__)

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
    phone: str = "",
    referral_code: str = "",
    device_hash: str = "",
    client_address: str | None = None,
) -> Member:
    """Create the user, the member, its points account and its referral code.

    ``phone`` is normalised to E.164 (``ValidationError`` otherwise). With ``referral_code``
    the member joins as that code's referee (``referral_join``: the guards against
    self-referral run there); an unknown code raises ``InvalidReferralCode`` before the
    e-mail is even looked at, so a wrong code says nothing about the address.
    ``device_hash`` (the portal's device cookie) is recorded against the new member. The
    ``sign_up`` event is recorded in the same transaction (``campaigns.events.sign_up_record``):
    its points, unless staff made the type inactive.

    Raises ``Conflict`` on a known e-mail (in any case), also when two enrolments of one
    e-mail race: the username, the e-mail in lower case, is unique in the database. A staff
    login with that username is the same ``Conflict``. The conflict says nothing about who
    holds the e-mail (no member number; the same answer whoever enrolled it). Any other
    integrity error propagates.
    """
    email = get_user_model().objects.normalize_email(email).strip()
    phone = phone_normalize(phone)
    referrer = referral_code_member(code=referral_code) if referral_code else None
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
            phone=phone,
        )
        ledger.open_account(member=member)
        referrals.referral_code_create(member=member)
        referrals.member_device_record(member=member, device_hash=device_hash)
        if referrer is not None:
            referrals.referral_join(
                referee=member, referrer=referrer, device_hash=device_hash, client_address=client_address
            )
        campaign_events.sign_up_record(member=member, now=member.joined_at)
        outbox.event_record(
            type=EventType.MEMBER_ENROLLED,
            member=member,
            partner=enrolled_by,
            now=member.joined_at,
            data={"member": member.member_number, "language": member.language, "referred": referrer is not None},
        )
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


MERGE_PERMISSION = "members.merge_member"


def member_merge(
    *, source: Member, survivor: Member, reason: str, actor=None, now: datetime | None = None
) -> MemberStatusChange:
    """Merge ``source`` into ``survivor``: every point moves, and ``source`` closes pointing at the survivor.

    With both accounts locked in id order: the whole account (available and pending lots,
    with their dates) moves through ``ledger.transfer(kind="merge")``; ``source`` gets
    ``merged_into=survivor`` (members merged into it before now point at the survivor
    too), is closed without forfeit (it holds nothing any more) with a status change
    carrying the reason, which is also the entries' cause, and its login ends. Entries
    stay on their accounts. Both members must be active or suspended and neither merged
    already, and the source may hold no points for a till (open holds: capture or void them
    first) (``MergeRefused``); ``actor`` (the staff user; None: the system) needs
    ``members.merge_member`` (``PermissionDenied``). Not repeatable: a second merge of one
    source is refused.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why the members are merged.", field="reason")
    if len(reason) > MemberStatusChange._meta.get_field("reason").max_length:
        raise ValidationError("The reason is too long (255 characters at most).", field="reason")
    if actor is not None and not (actor.is_active and actor.is_staff and actor.has_perm(MERGE_PERMISSION)):
        raise PermissionDenied("You are not allowed to merge members.")
    if source.pk == survivor.pk:
        raise MergeRefused("A member cannot be merged into itself.")
    now = now or timezone.now()
    with transaction.atomic():
        ledger_locks.accounts_for_update([source.account.pk, survivor.account.pk])
        current = dict(Member.objects.filter(pk__in=[source.pk, survivor.pk]).values_list("pk", "status"))
        merged = set(
            Member.objects.filter(pk__in=[source.pk, survivor.pk], merged_into__isnull=False).values_list(
                "pk", flat=True
            )
        )
        if merged:
            raise MergeRefused("A member that was merged already cannot be merged again, nor receive a merge.")
        if MemberStatus.CLOSED in current.values():
            raise MergeRefused("A closed member cannot be merged, nor receive a merge: closing is final.")
        change = MemberStatusChange.objects.create(
            member=source,
            from_status=current[source.pk],
            to_status=MemberStatus.CLOSED,
            reason=reason,
            actor=actor,
            created_at=now,
        )
        ledger.transfer(
            source.account,
            survivor.account,
            None,
            EntryKind.MERGE,
            cause=change,
            memo=reason,
            source_memo_code=memos.MERGED_INTO,
            source_memo_params={"number": survivor.member_number},
            target_memo_code=memos.MERGED_FROM,
            target_memo_params={"number": source.member_number},
            actor=actor,
            idempotency_key=f"merge:{source.pk}",
            now=now,
        )
        Member.objects.filter(merged_into=source).update(merged_into=survivor, updated_at=now)
        source.merged_into, source.status = survivor, MemberStatus.CLOSED
        source.save(update_fields=["merged_into", "status", "updated_at"])
        get_user_model().objects.filter(pk=source.user_id).update(is_active=False)
        source.user.is_active = False
        referrals.referral_member_merge(source=source, survivor=survivor)
        tiers.tier_member_merge(source=source, survivor=survivor, now=now)
        games_member_merge(source=source, survivor=survivor, now=now)
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
    """Count one reset e-mail to ``email``; False once ``PASSWORD_RESET_EMAILS_PER_HOUR`` are spent."""
    return email_budget_take(email=email, purpose="password-reset", per_hour=settings.PASSWORD_RESET_EMAILS_PER_HOUR)


def email_budget_take(*, email: str, purpose: str, per_hour: int) -> bool:
    """Count one e-mail of ``purpose`` to ``email``; False once ``per_hour`` were counted in the hour.

    Caps the e-mails anyone can make the program send to one address.
    """
    return rate_count(scope=purpose, ident=username_from_email(email), limit=per_hour, window=3600).allowed


# The portal account: sign-up, the e-mailed links that prove the address, activation.
ACCOUNT_EMAILS = "account-email"


def member_signup(
    *,
    email: str,
    first_name: str,
    last_name: str,
    password: str,
    language: str,
    marketing_consent: bool,
    site_url: str,
    phone: str = "",
    referral_code: str = "",
    device_hash: str = "",
    client_address: str | None = None,
) -> Member | None:
    """Enrol a portal member whose login waits until they follow the link e-mailed to the address.

    Never claims an address that already has an account, and never tells: the owner of a
    known address gets an e-mail instead (with a link to choose a password), and the caller
    shows the same page either way. Returns the new member, or ``None`` for a known address.
    At most ``ACCOUNT_EMAILS_PER_HOUR`` e-mails go to one address (the account is still created).
    The phone, the referral code, the device and the client address go to ``member_enroll``.
    """
    _check_language(language)
    try:
        member = member_enroll(
            email=email,
            first_name=first_name,
            last_name=last_name,
            password=password,
            language=language,
            marketing_consent=marketing_consent,
            phone=phone,
            referral_code=referral_code,
            device_hash=device_hash,
            client_address=client_address,
        )
    except Conflict:
        make_password(password)  # as long as a sign-up, so the time taken does not tell either
        owner = _member_by_email(email)
        if owner is not None and owner.user.is_active and _account_budget_take(email):
            _account_mail_send(member=owner, purpose="activate", template="signup_known", site_url=site_url)
        return None
    if _account_budget_take(email):
        _account_mail_send(member=member, purpose="confirm", template="confirm", site_url=site_url)
    return member


def member_access_link_send(*, email: str, site_url: str) -> bool:
    """E-mail the member with this address the link they need to get into the portal.

    A member who signed up with a password and has not proved the e-mail gets a new
    confirmation link; any other member (enrolled by a partner, so without a password, or
    one who wants a new one) gets a link to choose a password. Unknown, closed or staff-only
    addresses get nothing, and the caller shows the same page. Returns whether a mail went.
    """
    member = _member_by_email(email)
    if member is None or not member.user.is_active or not _account_budget_take(email):
        return False
    if member.user.has_usable_password() and member.email_verified_at is None:
        _account_mail_send(member=member, purpose="confirm", template="confirm", site_url=site_url)
    else:
        _account_mail_send(member=member, purpose="activate", template="activate", site_url=site_url)
    return True


def member_email_verify(*, member: Member, now: datetime | None = None) -> Member:
    """Record that the member proved the e-mail is theirs; the first proof's time stays. The first proof sends
    the welcome that waited for it (``notifications.welcome_email_release``)."""
    if member.email_verified_at is None:
        with transaction.atomic():
            member.email_verified_at = now or timezone.now()
            member.save(update_fields=["email_verified_at", "updated_at"])
            notifications.welcome_email_release(member=member)
    return member


def member_activate(*, member: Member, password: str) -> Member:
    """Set the password of a member who followed an ``activate`` link, prove the e-mail, lift any login lock.

    The caller validated the password. Refused (``MemberClosed``) for a closed member.
    """
    if member.status == MemberStatus.CLOSED or not member.user.is_active:
        raise MemberClosed()
    with transaction.atomic():
        member.user.set_password(password)
        member.user.save(update_fields=["password"])
        member_email_verify(member=member)
    user_login_unlock(user=member.user)
    return member


def _member_by_email(email: str) -> Member | None:
    return Member.objects.select_related("user").filter(user__username=username_from_email(email)).first()


def _account_budget_take(email: str) -> bool:
    return email_budget_take(email=email, purpose=ACCOUNT_EMAILS, per_hour=settings.ACCOUNT_EMAILS_PER_HOUR)


def _account_mail_send(*, member: Member, purpose: str, template: str, site_url: str) -> None:
    """Render the e-mail in the member's language and send it once the transaction commits."""
    token = account_token_make(member=member, purpose=purpose)
    link = site_url.rstrip("/") + reverse(f"portal:{purpose}", kwargs={"token": token})
    context = {
        "link": link,
        "member": member,
        "days": settings.ACCOUNT_LINK_MAX_AGE // 86400,
        "login_url": site_url.rstrip("/") + reverse("portal:login"),
    }
    with translation.override(member.language):
        subject = render_to_string(f"portal/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"portal/email/{template}_body.txt", context)
    recipient = member.user.email
    transaction.on_commit(lambda: send_mail(subject, body, None, [recipient]))


def user_password_reset_complete(*, user) -> None:
    """The user chose a password from a reset link, so the e-mail is theirs: record the proof, lift the lock."""
    member = Member.objects.filter(user_id=user.pk).first()
    if member is not None:
        member_email_verify(member=member)
    user_login_unlock(user=user)


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


def member_password_reset_send(*, member: Member, actor, domain: str, use_https: bool = True) -> None:
    """E-mail the member the portal's password-reset link, in their language (what support sends on a call).

    The same e-mail as the portal's *forgot your password?*, counted against the same
    per-address cap (``PASSWORD_RESET_EMAILS_PER_HOUR``). Raises ``MemberClosed`` for a
    closed member, ``Conflict`` over the cap, ``PermissionDenied`` unless ``actor`` (the
    staff user, logged) may change members.
    """
    from django.contrib.auth.forms import PasswordResetForm
    from django.contrib.auth.tokens import default_token_generator
    from django.utils import translation
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    if actor is not None and not (actor.is_active and actor.is_staff and actor.has_perm("members.change_member")):
        raise PermissionDenied("You are not allowed to help members log in.")
    user = member.user
    if member.status == MemberStatus.CLOSED or not user.is_active:
        raise MemberClosed()
    if not password_reset_budget_take(email=user.email):
        raise Conflict(
            f"This address already received {settings.PASSWORD_RESET_EMAILS_PER_HOUR} reset e-mails "
            "in the last hour; try again later."
        )
    context = {
        "email": user.email,
        "domain": domain,
        "site_name": domain,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": "https" if use_https else "http",
    }
    with translation.override(member.language):
        PasswordResetForm().send_mail(
            "portal/auth/password_reset_subject.txt",
            "portal/auth/password_reset_email.txt",
            context,
            None,
            user.email,
        )
    logger.info(
        "Password-reset e-mail sent to member %s by user %s.", member.member_number, getattr(actor, "pk", None)
    )
