"""The only code that writes leaderboards and who takes part (see models.py).

Each write forgets the cached standings of its leaderboard once it commits
(``selectors.standings_forget``), so a member who joins, leaves or changes nickname sees it
at once; points and purchases reach the standings when the cache expires
(``LOYALTY_LEADERBOARD_CACHE_SECONDS``).
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.clock import program_date, program_day_start
from loyalty.exceptions import (
    AlreadyJoined,
    LeaderboardClosed,
    LeaderboardNotEligible,
    MemberSuspended,
    NicknameTaken,
    NotFound,
)
from members.models import MemberStatus

from .models import Leaderboard, LeaderboardEntry
from .nicknames import nickname_clean
from .selectors import standings_forget


def leaderboard_save(*, leaderboard: Leaderboard, actor=None) -> Leaderboard:
    """Create or change a leaderboard (its history names ``actor``): its period's moments from its program days.
    Raises Django's ``ValidationError`` for an invalid one."""
    leaderboard.starts_at = program_day_start(leaderboard.starts_on)
    leaderboard.ends_at = program_day_start(leaderboard.ends_on + timedelta(days=1))
    leaderboard.full_clean()
    leaderboard._history_user = actor
    with transaction.atomic():
        leaderboard.save()
        standings_forget(leaderboard.pk)
    return leaderboard


def _open(leaderboard_id: int, *, now: datetime) -> Leaderboard:
    leaderboard = Leaderboard.objects.filter(pk=leaderboard_id, active=True).first()
    if leaderboard is None:
        raise NotFound(_("No such leaderboard."))
    if leaderboard.ends_on < program_date(now):
        raise LeaderboardClosed(_("This leaderboard has ended."))
    return leaderboard


def _entry(member, leaderboard_id: int) -> LeaderboardEntry:
    entry = LeaderboardEntry.objects.filter(leaderboard_id=leaderboard_id, member=member).first()
    if entry is None:
        raise NotFound(_("You do not take part in this leaderboard."))
    return entry


def leaderboard_join(*, member, leaderboard_id: int, nickname: str, now: datetime | None = None) -> LeaderboardEntry:
    """Opt ``member`` in under ``nickname`` (``nicknames.nickname_clean``). Raises ``ValidationError``,
    ``NotFound``, ``LeaderboardClosed`` (ended), ``LeaderboardNotEligible`` (another tier), ``MemberSuspended``
    (only active members take part), ``AlreadyJoined``, ``NicknameTaken``; nothing is written then."""
    now = now or timezone.now()
    nickname = nickname_clean(nickname)
    leaderboard = _open(leaderboard_id, now=now)
    if member.status != MemberStatus.ACTIVE:
        raise MemberSuspended(_("Only active members take part in leaderboards."))
    if leaderboard.tier_id is not None:
        from members.tiers.models import MemberTier

        if not MemberTier.objects.filter(member=member, tier_id=leaderboard.tier_id).exists():
            raise LeaderboardNotEligible(_("This leaderboard is for members of another tier."))
    with transaction.atomic():
        if LeaderboardEntry.objects.filter(leaderboard=leaderboard, member=member).exists():
            raise AlreadyJoined(_("You already take part in this leaderboard."))
        try:
            with transaction.atomic():
                entry = LeaderboardEntry.objects.create(
                    leaderboard=leaderboard, member=member, nickname=nickname, joined_at=now
                )
        except IntegrityError:
            if LeaderboardEntry.objects.filter(leaderboard=leaderboard, member=member).exists():
                raise AlreadyJoined(_("You already take part in this leaderboard.")) from None
            raise NicknameTaken(_("Another member already uses this nickname: choose another.")) from None
        standings_forget(leaderboard.pk)
    return entry


def leaderboard_leave(*, member, leaderboard_id: int) -> bool:
    """Opt ``member`` out: their entry is deleted and they are ranked no more. False if they were not in it."""
    with transaction.atomic():
        deleted, _counts = LeaderboardEntry.objects.filter(leaderboard_id=leaderboard_id, member=member).delete()
        if deleted:
            standings_forget(leaderboard_id)
    return bool(deleted)


def leaderboard_nickname_set(*, member, leaderboard_id: int, nickname: str) -> LeaderboardEntry:
    """Change the member's nickname in a leaderboard they take part in. Raises ``ValidationError``,
    ``NotFound``, ``NicknameTaken``."""
    nickname = nickname_clean(nickname)
    with transaction.atomic():
        entry = _entry(member, leaderboard_id)
        entry.nickname = nickname
        try:
            with transaction.atomic():
                entry.save(update_fields=["nickname"])
        except IntegrityError:
            raise NicknameTaken(_("Another member already uses this nickname: choose another.")) from None
        standings_forget(leaderboard_id)
    return entry


def leaderboard_nickname_reset(*, entry: LeaderboardEntry, actor, now: datetime | None = None) -> LeaderboardEntry:
    """Staff clear an abusive nickname: the member shows as *Player <id>* until they choose another; who and
    when are kept on the entry (the old nickname is not)."""
    now = now or timezone.now()
    with transaction.atomic():
        LeaderboardEntry.objects.filter(pk=entry.pk).update(
            nickname="", nickname_reset_at=now, nickname_reset_by=actor
        )
        standings_forget(entry.leaderboard_id)
    entry.nickname, entry.nickname_reset_at, entry.nickname_reset_by = "", now, actor
    return entry
