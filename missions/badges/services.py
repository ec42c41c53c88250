"""The only code that awards or takes back a badge."""

from datetime import datetime

from django.db import IntegrityError, transaction

from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType

from .models import Badge, MemberBadge


def badge_award(*, member, badge: Badge, source: str, now: datetime) -> MemberBadge | None:
    """Award ``badge`` to ``member`` in the caller's transaction; ``None`` if the member already has it
    (or the badge is inactive). Writes the ``badge.earned`` outbox event (webhooks, notification)."""
    if not badge.active:
        return None
    try:
        with transaction.atomic():  # a savepoint: a racing award of the same badge loses without harm
            earned = MemberBadge.objects.create(member=member, badge=badge, source=source, earned_at=now)
    except IntegrityError:
        return None
    outbox.event_record(
        type=EventType.BADGE_EARNED,
        member=member,
        now=now,
        data={"member": member.member_number, "badge": badge.code, "name": badge.name, "source": source},
    )
    return earned


def badge_take_back(*, member, badge: Badge, source: str) -> bool:
    """Take back the badge ``source`` awarded (a mission's prize whose purchase was returned); a badge
    the member holds from another source stays. True if one was taken back."""
    deleted, _ = MemberBadge.objects.filter(member=member, badge=badge, source=source).delete()
    return bool(deleted)
