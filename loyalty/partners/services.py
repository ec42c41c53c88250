from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction

from loyalty.exceptions import Conflict, IdempotencyConflict, LoyaltyError, ValidationError

from .models import SCOPES, IdempotentResponse, Partner, PartnerAPIKey, default_scopes


def partner_create(*, name: str, scopes: Iterable[str] | None = None) -> tuple[Partner, str]:
    """Create an active partner and its first API key; returns the partner and the key in clear (shown once).

    Raises ``Conflict`` when a partner has this name already.
    """
    with transaction.atomic():
        if Partner.objects.filter(name__iexact=name.strip()).exists():
            raise Conflict("A partner with this name already exists.", field="name")
        partner = Partner.objects.create(name=name.strip())
        _, key = partner_api_key_create(partner=partner, name=f"{partner.name} key", scopes=scopes)
    return partner, key


def partner_api_key_create(
    *, partner: Partner, name: str, scopes: Iterable[str] | None = None
) -> tuple[PartnerAPIKey, str]:
    """A new key for ``partner``, stored hashed and returned in clear once. ``ValidationError`` on unknown scopes."""
    scopes = default_scopes() if scopes is None else sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValidationError(f"Unknown scopes: {', '.join(unknown)}.", field="scopes")
    return PartnerAPIKey.objects.create_key(partner=partner, name=name, scopes=scopes)


def partner_api_key_revoke(*, api_key: PartnerAPIKey) -> None:
    """Revoke a key for good: it is refused from the next request on."""
    PartnerAPIKey.objects.filter(pk=api_key.pk).update(revoked=True)
    api_key.revoked = True


def idempotent_run(
    *, partner: Partner, key: str | None, request_hash: str, action: Callable[[], tuple[int, dict]]
) -> tuple[int, dict]:
    """Run ``action`` (returning status and body) once per partner and idempotency key.

    The effect and the stored response share one transaction: a repeat with the same key
    and request hash gets the first status and body without a second effect; the same
    key with another request raises ``IdempotencyConflict``. Only successful responses are
    stored: a request that failed changed nothing, so its repeat runs again. Racing first
    requests: a loser that fails (on the unique key, or on the winner's effect, e.g. a
    known e-mail) rolls back and answers with the winner's response.
    """
    if not key:
        with transaction.atomic():
            return action()
    try:
        with transaction.atomic():
            stored = _stored_response(partner, key, request_hash)
            if stored:
                return stored
            status, body = action()
            IdempotentResponse.objects.create(
                partner=partner, key=key, request_hash=request_hash, status=status, body=body
            )
            return status, body
    except (IntegrityError, LoyaltyError):
        # A racing request with the same key may have committed first (its effect then makes
        # this one fail, e.g. a known e-mail): answer as it did.
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
