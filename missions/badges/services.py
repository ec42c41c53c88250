"""The only code that awards or takes back a badge."""

from datetime import datetime

from django.db import IntegrityError, transaction

from loyalty.celery import on_commit_send
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


def badge_save(*, badge: Badge, actor=None) -> Badge:
    """Create or change a badge (the admin's form validated it; ``full_clean`` again for other doors). Its
    history names ``actor``. Once committed, the cached milestones are forgotten and, for an active milestone
    badge, the members who already reach it get it (``badges.award_milestones``, set-based)."""
    from . import milestones
    from .tasks import award_milestones

    badge.full_clean()
    badge._history_user = actor
    with transaction.atomic():
        badge.save()
        milestones.milestones_forget()
        if badge.active and badge.milestone:
            on_commit_send(award_milestones.delay)
    return badge
