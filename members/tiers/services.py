"""Every write of tiers: each a service function in a transaction (see the models' docstring for the rules)."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from loyalty.clock import add_months, program_date
from loyalty.exceptions import MemberClosed, PermissionDenied, ValidationError
from loyalty.ledger import lock_objects as ledger_locks
from members.models import MemberStatus

from .models import MemberTier, Tier, TierChange, TierChangeReason

# --- Tiers set by hand by staff (a status match) -------------------------------------------

SET_TIER_PERMISSION = "tiers.set_tier"
MANUAL_TIER_MAX_MONTHS = 120


def member_tier_set(*, member, tier: Tier, until: date, reason: str, actor) -> TierChange:
    """Give ``member`` ``tier`` by hand until the end of ``until`` (today or later), with the staff's reason.

    Recorded as a ``manual`` tier change (the reason as its note, ``actor`` as who). A tier set
    by hand holds until its end day whatever the member qualifies for; it starts no grace
    period (a new tier clears ``qualified_on``), so once it ends the member keeps it only by
    qualifying. Setting the same tier, day and reason again changes nothing and returns the
    change that set it (a double click). To end one early, set its end day to today. Locks
    the member's points account first, so it serialises with an upgrade by the ledger.
    Raises ``PermissionDenied`` (``actor`` is not staff with ``tiers.set_tier``),
    ``ValidationError`` (no tier, no reason, an end day in the past or too far off) and
    ``MemberClosed``.
    """
    reason = reason.strip()
    if not (actor and actor.is_active and actor.is_staff and actor.has_perm(SET_TIER_PERMISSION)):
        raise PermissionDenied("You are not allowed to set a member's tier.")
    if tier is None:
        raise ValidationError("Choose the tier.", field="tier")
    if not reason:
        raise ValidationError("Say why the member gets this tier.", field="reason")
    if len(reason) > TierChange._meta.get_field("note").max_length:
        raise ValidationError("The reason is too long (255 characters at most).", field="reason")
    today = program_date()
    if until < today:
        raise ValidationError("The end day is in the past: choose today or later.", field="until")
    if until > add_months(today, MANUAL_TIER_MAX_MONTHS):
        raise ValidationError("The end day is too far off: ten years at most.", field="until")
    with transaction.atomic():
        locked = ledger_locks.account_for_update(member.account.pk)
        if locked.member_status == MemberStatus.CLOSED:
            raise MemberClosed()
        state = MemberTier.objects.filter(member_id=member.pk).first() or MemberTier(member=member)
        if (state.tier_id, state.manual_until, state.manual_reason) == (tier.pk, until, reason):
            last = TierChange.objects.filter(member_id=member.pk, reason=TierChangeReason.MANUAL).first()
            if last is not None:
                return last
        now = timezone.now()
        from_tier_id = state.tier_id
        if from_tier_id != tier.pk:
            state.qualified_on = None
        state.tier, state.manual_until, state.manual_reason, state.updated_at = tier, until, reason, now
        state.save()
        return TierChange.objects.create(
            member=member,
            from_tier_id=from_tier_id,
            to_tier=tier,
            reason=TierChangeReason.MANUAL,
            note=reason,
            actor=actor,
            created_at=now,
        )


# --- end of tiers set by hand ---------------------------------------------------------------
