"""Points gifting between members: the policy staff set, what a member may still send, and the send itself.

A gift is one ``Gift`` row (sender, recipient, points, message) and the pair of ``gift``
entries that ``ledger.transfer`` writes with it as their cause, in one transaction. The
sender learns nothing of the recipient but the number they typed: every recipient who
cannot receive (unknown, merged, suspended, closed) gets the same answer, and a sender
who keeps typing numbers that cannot receive is slowed down.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from loyalty.clock import program_date
from loyalty.exceptions import (
    GiftingDisabled,
    GiftLimitReached,
    GiftRecipientUnavailable,
    GiftToSelf,
    IdempotencyConflict,
    MemberClosed,
    MemberSuspended,
    TooManyAttempts,
    ValidationError,
)
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.ledger import memos
from loyalty.ledger import services as ledger
from loyalty.ledger.models import EntryKind

from .models import Gift, GiftPolicy, Member, MemberStatus
from .numbers import member_number_clean

MESSAGE_MAX_LENGTH = Gift._meta.get_field("message").max_length
# Numbers that cannot receive, per sender and hour, before the sender must wait: enough
# for typos, too few to walk the number space and learn which numbers are members.
RECIPIENT_MISSES_PER_HOUR = 10


def gift_policy_get() -> GiftPolicy:
    """The program's gift policy (its row is created by a migration; without it, gifting is off)."""
    return GiftPolicy.objects.filter(pk=1).first() or GiftPolicy(pk=1)


@dataclass(frozen=True)
class GiftAllowance:
    """What a member may still send: today, this month, and in one gift (the least of them is ``now``)."""

    day: int
    month: int
    per_gift: int

    @property
    def now(self) -> int:
        return min(self.day, self.month, self.per_gift)


def gift_allowance_get(*, sender: Member, policy: GiftPolicy, now: datetime | None = None) -> GiftAllowance:
    """The points ``sender`` may still give under ``policy``, counted in program days and months (one query)."""
    today = program_date(now)
    sent = _sent(sender, today)
    return GiftAllowance(
        day=max(policy.daily_limit - sent["day"], 0),
        month=max(policy.monthly_limit - sent["month"], 0),
        per_gift=policy.per_gift_limit,
    )


def _sent(sender: Member, today: date) -> dict:
    month_start = today.replace(day=1)
    return Gift.objects.filter(sender=sender, program_day__gte=month_start, program_day__lte=today).aggregate(
        day=Sum("points", filter=Q(program_day=today), default=0), month=Sum("points", default=0)
    )


def gift_send(
    *,
    sender: Member,
    recipient_number: str,
    points: int,
    message: str = "",
    idempotency_key: str,
    now: datetime | None = None,
) -> Gift:
    """Send ``points`` of ``sender``'s available points to the member with ``recipient_number``, with a message.

    Checks, in this order: gifting is enabled (``GiftingDisabled``), the number's check
    digit (``InvalidMemberNumber``), the points and message, the recipient (``GiftToSelf``;
    ``GiftRecipientUnavailable`` for an unknown, merged, suspended or closed member, the
    same answer for each; ``TooManyAttempts`` for any gift once ``RECIPIENT_MISSES_PER_HOUR``
    of them were counted in the hour). Then, with both accounts locked in id order: the sender's status
    (``MemberSuspended``, ``MemberClosed``), the per-gift, daily and monthly limits
    (``GiftLimitReached``; counted under the sender's lock, so two gifts at once cannot
    both pass), the balance (``InsufficientPoints``). Idempotent on ``idempotency_key``
    per sender: a repeat returns the first gift; the key for another gift raises
    ``IdempotencyConflict``.
    """
    policy = gift_policy_get()
    if not policy.enabled:
        raise GiftingDisabled()
    number = member_number_clean(recipient_number)
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValidationError("Points must be a whole number greater than zero.", field="points")
    message = " ".join(message.split())  # one line: no control characters or line breaks reach the memos
    if len(message) > MESSAGE_MAX_LENGTH:
        raise ValidationError(f"A message has {MESSAGE_MAX_LENGTH} characters at most.", field="message")
    if not 0 < len(idempotency_key) <= Gift._meta.get_field("idempotency_key").max_length:
        raise ValidationError("An idempotency key has 1 to 255 characters.", field="idempotency_key")
    if number == sender.member_number:
        raise GiftToSelf(field="recipient_number")
    if cache.get(_misses_key(sender), 0) >= RECIPIENT_MISSES_PER_HOUR:
        raise TooManyAttempts("Too many numbers that cannot receive points: try again in an hour.")
    recipient = Member.objects.filter(member_number=number).select_related("account").first()
    if recipient is None or recipient.merged_into_id is not None or recipient.status != MemberStatus.ACTIVE:
        raise _recipient_unavailable(sender, number)
    now = now or timezone.now()

    with transaction.atomic():
        locked = {a.pk: a for a in ledger_locks.accounts_for_update([sender.account.pk, recipient.account.pk])}
        first = Gift.objects.filter(sender=sender, idempotency_key=idempotency_key).first()
        if first is not None:
            if (first.recipient_id, first.points) != (recipient.pk, points):
                raise IdempotencyConflict()
            return first
        if locked[recipient.account.pk].member_status != MemberStatus.ACTIVE:  # changed since the read above
            raise _recipient_unavailable(sender, number)
        if (status := locked[sender.account.pk].member_status) != MemberStatus.ACTIVE:
            raise MemberClosed() if status == MemberStatus.CLOSED else MemberSuspended()
        _check_limits(policy, sender, points, program_date(now))
        gift = Gift.objects.create(
            sender=sender,
            recipient=recipient,
            points=points,
            message=message,
            created_at=now,
            program_day=program_date(now),
            idempotency_key=idempotency_key,
        )
        ledger.transfer(
            sender.account,
            recipient.account,
            points,
            EntryKind.GIFT,
            cause=gift,
            source_memo_code=memos.GIFT_TO,
            source_memo_params={"number": recipient.member_number, "message": message},
            target_memo_code=memos.GIFT_FROM,
            target_memo_params={"number": sender.member_number, "message": message},
            actor=sender.user,
            idempotency_key=f"gift:{idempotency_key}",
            now=now,
        )
    return gift


def _check_limits(policy: GiftPolicy, sender: Member, points: int, today: date) -> None:
    if points > policy.per_gift_limit:
        raise GiftLimitReached(
            f"One gift is {policy.per_gift_limit} points at most.", limit="per_gift", remaining=policy.per_gift_limit
        )
    sent = _sent(sender, today)
    for limit, allowed, when in (("day", policy.daily_limit, "today"), ("month", policy.monthly_limit, "this month")):
        if sent[limit] + points > allowed:
            remaining = max(allowed - sent[limit], 0)
            raise GiftLimitReached(f"{remaining} more points can be given {when}.", limit=limit, remaining=remaining)


def _misses_key(sender: Member) -> str:
    return f"gift-misses:{sender.pk}"


def _recipient_unavailable(sender: Member, number: str) -> GiftRecipientUnavailable:
    """The one answer for a number that cannot receive, counted against the sender's hourly budget of misses."""
    key = _misses_key(sender)
    cache.add(key, 0, timeout=3600)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
    return GiftRecipientUnavailable(f"Member {number} cannot receive points.", field="recipient_number", number=number)
