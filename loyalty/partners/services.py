"""Partners' writes: partners and keys, idempotent responses, presence codes, and points moved by a partner.

Who may take points (``partner_points_adjust``, and later redemptions and pay with points at
tills): the partner that enrolled the member, or any partner that passes the member's
presence code. A presence code is checked in two steps so that wrong codes are counted even
though the request fails: ``presence_code_check`` counts an attempt in its own committed
transaction and returns a ``PresenceProof``; ``presence_code_consume`` spends the proof in the
same transaction as the debit, so a debit that fails (too few points, say) leaves the code
usable, and two debits with one code cannot both succeed.
"""

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from loyalty.exceptions import (
    Conflict,
    IdempotencyConflict,
    IdempotencyKeyRequired,
    LoyaltyError,
    MemberClosed,
    MemberMerged,
    MemberSuspended,
    PresenceCodeExpired,
    PresenceCodeInvalid,
    PresenceCodeLocked,
    PresenceCodeRequired,
    PresenceCodeUsed,
    ValidationError,
)
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry
from members.models import MemberStatus
from members.selectors import PartnerView, member_view_for_partner

from . import lock_objects
from .models import (
    SCOPES,
    IdempotentResponse,
    KeyEventAction,
    Partner,
    PartnerAPIKey,
    PartnerAPIKeyEvent,
    PresenceCode,
    default_scopes,
)

PRESENCE_CODE_DIGITS = 6
PURGE_BATCH_SIZE = 5000


def partner_create(*, name: str, scopes: Iterable[str] | None = None, actor=None) -> tuple[Partner, str]:
    """Create an active partner and its first API key; returns the partner and the key in clear (shown once).

    Raises ``Conflict`` when a partner has this name already.
    """
    with transaction.atomic():
        if Partner.objects.filter(name__iexact=name.strip()).exists():
            raise Conflict("A partner with this name already exists.", field="name")
        partner = Partner.objects.create(name=name.strip())
        _, key = partner_api_key_create(partner=partner, name=f"{partner.name} key", scopes=scopes, actor=actor)
    return partner, key


def partner_api_key_create(
    *, partner: Partner, name: str, scopes: Iterable[str] | None = None, actor=None
) -> tuple[PartnerAPIKey, str]:
    """A new key for ``partner``, stored hashed and returned in clear once, its creation recorded with ``actor``
    (a staff user, or None for a command). ``ValidationError`` on unknown scopes."""
    scopes = default_scopes() if scopes is None else sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValidationError(f"Unknown scopes: {', '.join(unknown)}.", field="scopes")
    with transaction.atomic():
        api_key, clear_key = PartnerAPIKey.objects.create_key(partner=partner, name=name, scopes=scopes)
        _key_event(api_key, KeyEventAction.CREATED, actor)
    return api_key, clear_key


def partner_api_key_revoke(*, api_key: PartnerAPIKey, actor=None) -> bool:
    """Revoke a key for good: it is refused from the next request on. Idempotent: the revocation is recorded
    (with ``actor``) once, by the call that revoked it, which returns True; a key already revoked returns False."""
    with transaction.atomic():
        revoked = PartnerAPIKey.objects.filter(pk=api_key.pk, revoked=False).update(revoked=True) == 1
        if revoked:
            _key_event(api_key, KeyEventAction.REVOKED, actor)
    api_key.revoked = True
    return revoked


def _key_event(api_key: PartnerAPIKey, action: str, actor) -> None:
    PartnerAPIKeyEvent.objects.create(
        key_id=api_key.prefix,
        partner_id=api_key.partner_id,
        action=action,
        name=api_key.name,
        scopes=list(api_key.scopes or []),
        actor=actor,
    )


# Idempotency


def idempotent_run(
    *,
    partner: Partner,
    key: str,
    request_hash: str,
    action: Callable[..., tuple[int, dict]],
    prepare: Callable[[], object] | None = None,
) -> tuple[int, dict]:
    """Run ``action`` (returning status and body) once per partner and idempotency key.

    The effect and the stored response share one transaction: a repeat with the same key
    and request hash gets the first status and body without a second effect; the same
    key with another request raises ``IdempotencyConflict``. Only successful responses are
    stored: a request that failed changed nothing, so its repeat runs again. Racing first
    requests: a loser that fails (on the unique key, or on the winner's effect, e.g. a
    known e-mail) rolls back and answers with the winner's response.

    ``prepare()``, when given, runs only when no stored response answers, before and outside
    the action's transaction (it may commit on its own, e.g. count a presence code's
    attempt); its result is passed to ``action``. Raises ``IdempotencyKeyRequired`` without a key.
    """
    if not key:
        raise IdempotencyKeyRequired(field="Idempotency-Key")
    stored = _stored_response(partner, key, request_hash)
    if stored:
        return stored
    if prepare is not None:
        try:
            prepared = prepare()
        except LoyaltyError:
            # A first request with this key may have committed while this one waited (its
            # debit spent the presence code this one checks): answer as it did.
            stored = _stored_response(partner, key, request_hash)
            if stored is None:
                raise
            return stored
        run = lambda: action(prepared)  # noqa: E731
    else:
        run = action
    try:
        with transaction.atomic():
            status, body = run()
            IdempotentResponse.objects.create(
                partner=partner, key=key, request_hash=request_hash, status=status, body=body
            )
            return status, body
    except (IntegrityError, LoyaltyError):
        # A racing request with the same key may have committed first (its effect then makes
        # this one fail, e.g. a known e-mail, or its row the unique key): answer as it did.
        stored = _stored_response(partner, key, request_hash)
        if stored is None:
            raise
        return stored


def _stored_response(partner: Partner, key: str, request_hash: str) -> tuple[int, dict] | None:
    stored = IdempotentResponse.objects.filter(partner=partner, key=key).first()
    if stored is None:
        return None
    if stored.request_hash != request_hash:
        raise IdempotencyConflict()
    return stored.status, stored.body


def partner_deactivate(*, partner: Partner) -> None:
    """Deactivate a partner: its keys are refused from the next request on. Partners are never deleted
    (their entries and members name them); ``active`` can be set again by a program manager."""
    Partner.objects.filter(pk=partner.pk).update(active=False)
    partner.active = False


def idempotent_responses_purge(*, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete the stored responses older than ``IDEMPOTENCY_KEY_RETENTION_DAYS``; returns how many.

    Works in batches of ``batch_size`` rows (one short transaction each), so it never holds a
    long lock; safe to run twice and beside requests. After the purge a repeated key is a new
    request (the ledger still refuses to move points twice for one key).
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.IDEMPOTENCY_KEY_RETENTION_DAYS)
    purged = 0
    while True:
        ids = list(IdempotentResponse.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return purged
        purged += IdempotentResponse.objects.filter(pk__in=ids).delete()[0]


# Presence codes


@dataclass(frozen=True)
class PresenceProof:
    """A presence code that matched (``presence_code_check``), to spend with ``presence_code_consume``."""

    code_id: int
    member_id: int


def presence_code_issue(*, member, now: datetime | None = None) -> tuple[PresenceCode, str]:
    """A new one-time code for ``member``, returned in clear once (only its keyed hash is stored).

    Ends the member's earlier codes, so one code at a time is live. Valid for
    ``PRESENCE_CODE_TTL_MINUTES``. Raises ``MemberSuspended`` / ``MemberClosed``: such a member
    spends nothing, so needs no code.
    """
    if member.status == MemberStatus.CLOSED:
        raise MemberClosed()
    if member.status == MemberStatus.SUSPENDED:
        raise MemberSuspended()
    now = now or timezone.now()
    code = "".join(secrets.choice("0123456789") for _ in range(PRESENCE_CODE_DIGITS))
    with transaction.atomic():
        PresenceCode.objects.filter(member=member, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
        row = PresenceCode.objects.create(
            member=member,
            code_hash=_presence_hash(member.pk, code),
            created_at=now,
            expires_at=now + timedelta(minutes=settings.PRESENCE_CODE_TTL_MINUTES),
        )
    return row, code


def presence_code_payload(*, member, code: str) -> str:
    """What the portal's QR code holds: ``<member number>:<code>``, all a till needs to scan."""
    return f"{member.member_number}:{code}"


def presence_code_check(*, member, code: str, now: datetime | None = None) -> PresenceProof:
    """Check ``code`` against the member's latest code, in its own committed transaction.

    A wrong code counts one failed attempt, also against a code already used or expired, so
    guessing it teaches nothing (the row is locked, so concurrent guesses are counted one by
    one); ``PRESENCE_CODE_MAX_ATTEMPTS`` of them lock the code for good, and a locked
    code is refused before it is compared. Does not spend the code (``presence_code_consume``
    does, with the debit). Raises ``PresenceCodeInvalid`` (wrong, or the member has no code),
    ``PresenceCodeLocked``, ``PresenceCodeUsed``, ``PresenceCodeExpired``. Must not run inside
    another transaction: a rollback would forget the attempt.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        row = lock_objects.presence_code_latest_for_update(member.pk)
        error = _presence_error(row, member, code, now)
        if isinstance(error, PresenceCodeInvalid) and row is not None:
            row.failed_attempts += 1
            row.save(update_fields=["failed_attempts"])
    if error:
        raise error
    return PresenceProof(code_id=row.pk, member_id=member.pk)


def presence_code_consume(*, proof: PresenceProof, partner: Partner, now: datetime | None = None) -> PresenceCode:
    """Spend a checked code in the caller's transaction (with the debit it proves). Locks the code's row.

    Raises ``PresenceCodeUsed`` (a racing debit spent it first), ``PresenceCodeExpired``,
    ``PresenceCodeLocked``; a rollback of the caller's transaction leaves the code unspent.
    """
    now = now or timezone.now()
    row = lock_objects.presence_code_for_update(proof.code_id, proof.member_id)
    if row.failed_attempts >= settings.PRESENCE_CODE_MAX_ATTEMPTS:
        raise PresenceCodeLocked()
    if row.used_at is not None:
        raise PresenceCodeUsed()
    if row.expires_at <= now:
        raise PresenceCodeExpired()
    row.used_at, row.used_by = now, partner
    row.save(update_fields=["used_at", "used_by"])
    return row


def _presence_hash(member_id: int, code: str) -> str:
    return salted_hmac("loyalty.presence-code", f"{member_id}:{code}", algorithm="sha256").hexdigest()


def _presence_error(row: PresenceCode | None, member, code: str, now: datetime) -> LoyaltyError | None:
    if row is None:
        return PresenceCodeInvalid()
    if row.failed_attempts >= settings.PRESENCE_CODE_MAX_ATTEMPTS:
        return PresenceCodeLocked()
    if not constant_time_compare(row.code_hash, _presence_hash(member.pk, code)):
        return PresenceCodeInvalid()
    if row.used_at is not None:
        return PresenceCodeUsed()
    if row.expires_at <= now:
        return PresenceCodeExpired()
    return None


# Points moved by a partner


def partner_may_take_points(*, partner: Partner, member) -> bool:
    """Whether ``partner`` may debit ``member`` without a presence code: only the partner that enrolled it."""
    return member_view_for_partner(partner=partner, member=member) == PartnerView.PROFILE


def _refuse_merged(member) -> None:
    """A merged member's number takes no points: the till is told the survivor's number (``MemberMerged``)."""
    if member.merged_into_id is not None:
        raise MemberMerged(merged_into=member.merged_into.member_number)


def partner_debit_proof_check(
    *, partner: Partner, member, points: int, presence_code: str | None
) -> PresenceProof | None:
    """The permission to move ``points`` (signed) of ``member``: the proof to pass to ``partner_points_adjust``.

    A credit needs no proof: a code sent with it is ignored and stays usable (a till may send
    the code it scanned with every request). A debit's code is checked
    (``presence_code_check``: a wrong attempt counts, committed); without one, a debit of a
    member the partner did not enrol raises ``PresenceCodeRequired``.
    """
    _refuse_merged(member)
    if points > 0:
        return None
    if presence_code:
        return presence_code_check(member=member, code=presence_code)
    if not partner_may_take_points(partner=partner, member=member):
        raise PresenceCodeRequired()
    return None


def partner_points_adjust(
    *, partner: Partner, member, points: int, reason: str, idempotency_key: str, proof: PresenceProof | None = None
) -> Entry:
    """Credit or debit ``member`` by ``partner`` (the entry's actor), with a reason, in one transaction.

    A debit of a member the partner did not enrol needs ``proof`` (``partner_debit_proof_check``),
    which is spent in the same transaction as the debit. Idempotent on the partner's
    ``idempotency_key`` (the ledger scopes keys by actor). Raises ``PresenceCodeRequired``,
    the ``presence_code_consume`` errors and the ledger's (``InsufficientPoints``,
    ``MemberSuspended``, ``MemberClosed``).
    """
    _refuse_merged(member)
    if points < 0 and proof is None and not partner_may_take_points(partner=partner, member=member):
        raise PresenceCodeRequired()
    if proof is not None and proof.member_id != member.pk:
        raise PresenceCodeInvalid()
    with transaction.atomic(savepoint=False):  # one transaction with the caller's, if any: no extra savepoint
        if proof is not None:
            presence_code_consume(proof=proof, partner=partner)
        return ledger.adjust(member.account, points, reason=reason, actor=partner, idempotency_key=idempotency_key)
