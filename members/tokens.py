"""The links the portal e-mails to prove that a member owns an address.

A token is a signed, timestamped pair (user id, a fingerprint of the account's state),
salted by purpose, so a link to confirm an e-mail cannot set a password. It expires
after ``settings.ACCOUNT_LINK_MAX_AGE`` seconds, and works once: what the link does
(confirming the e-mail, choosing a password, closing) changes the fingerprint, which
then no longer matches. Nothing is stored.
"""

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from .models import Member

# confirm: the member signed up with a password and proves the e-mail.
# activate: the member chooses a password (enrolled by a partner, or lost the first link); it proves the e-mail too.
PURPOSES = ("confirm", "activate")


def account_token_make(*, member: Member, purpose: str) -> str:
    """A token for ``purpose`` that works once, until ``ACCOUNT_LINK_MAX_AGE`` has passed."""
    return signing.dumps([member.user_id, _fingerprint(member, purpose)], salt=_salt(purpose), compress=True)


def account_token_member(*, token: str, purpose: str) -> Member | None:
    """The member this token was made for, or ``None`` if it is forged, expired, for another purpose or used."""
    try:
        user_id, fingerprint = signing.loads(token, salt=_salt(purpose), max_age=settings.ACCOUNT_LINK_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or not isinstance(fingerprint, str):
        return None
    member = Member.objects.select_related("user", "account").filter(user_id=user_id).first()
    if member is None or not member.user.is_active:
        return None
    if not constant_time_compare(fingerprint, _fingerprint(member, purpose)):
        return None
    return member


def _salt(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"Unknown token purpose: {purpose}")
    return f"members.tokens.{purpose}"


def _fingerprint(member: Member, purpose: str) -> str:
    user = member.user
    verified = member.email_verified_at.isoformat() if member.email_verified_at else ""
    state = f"{user.pk}|{user.password}|{user.email}|{user.is_active}|{member.status}|{verified}"
    return salted_hmac(_salt(purpose), state, algorithm="sha256").hexdigest()[:32]
