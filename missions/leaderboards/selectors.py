"""Leaderboards' standings: ranked set-based (SQL ``RANK()``, ties share a rank) and kept in the cache.

The standings of a leaderboard are computed for all its ranked participants in one query with
the others missing from the cache (``standings_get``): a participant's score is its metric's
expression (``metrics.py``), ranked within its leaderboard by ``RANK() OVER (PARTITION BY
leaderboard ORDER BY score DESC)``; members of a tier leaderboard who no longer hold the
tier, and closed or merged members, are not ranked. They are kept in the cache for
``LOYALTY_LEADERBOARD_CACHE_SECONDS`` (60 by default): the top ten and each participant's
rank and score. Joining, leaving, a nickname and a change of the leaderboard forget them.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.expressions import Window
from django.db.models.functions import Rank

from loyalty.kept import forget
from members.models import MemberStatus

from .metrics import score_expression
from .models import Leaderboard, LeaderboardEntry

logger = logging.getLogger(__name__)

TOP = 10
SHOWN_AFTER_END = timedelta(days=7)  # an ended leaderboard stays on the page a week, with its final standings


@dataclass(frozen=True)
class Place:
    rank: int
    nickname: str  # empty: reset by staff (shown as "Player <entry>")
    score: int
    entry_id: int


@dataclass(frozen=True)
class Standings:
    top: list[Place] = field(default_factory=list)
    ranks: dict[int, Place] = field(default_factory=dict)  # by member id

    @property
    def count(self) -> int:
        return len(self.ranks)


def _key(leaderboard_id: int) -> str:
    return f"leaderboards:standings:{leaderboard_id}"


def standings_forget(leaderboard_id: int) -> None:
    """Drop a leaderboard's cached standings now and again once the caller's transaction commits."""
    forget(_key(leaderboard_id))


def standings_compute(leaderboard_ids: list[int]) -> dict[int, Standings]:
    """The standings of the leaderboards, in one query whatever their number and size."""
    if not leaderboard_ids:
        return {}
    ranked = (
        LeaderboardEntry.objects.filter(leaderboard_id__in=leaderboard_ids)
        .filter(Q(leaderboard__tier=None) | Q(member__tier_state__tier=F("leaderboard__tier")))
        .exclude(member__status=MemberStatus.CLOSED)
        .filter(member__merged_into=None)
        .annotate(score=score_expression())
        .annotate(rank=Window(Rank(), partition_by=[F("leaderboard_id")], order_by=F("score").desc()))
        .order_by("leaderboard_id", "rank", "nickname", "pk")
        .values_list("leaderboard_id", "member_id", "pk", "nickname", "score", "rank")
    )
    found = {pk: Standings() for pk in leaderboard_ids}
    for leaderboard_id, member_id, entry_id, nickname, score, rank in ranked:
        standings = found[leaderboard_id]
        place = Place(rank=rank, nickname=nickname, score=score, entry_id=entry_id)
        standings.ranks[member_id] = place
        if len(standings.top) < TOP:
            standings.top.append(place)
    return found


def standings_get(leaderboard_ids: list[int]) -> dict[int, Standings]:
    """The standings from the cache; those missing computed together (one query) and kept."""
    keys = {_key(pk): pk for pk in leaderboard_ids}
    try:
        cached = cache.get_many(list(keys))
    except Exception:
        logger.warning("leaderboards: the cache did not answer; standings computed", exc_info=True)
        return standings_compute(list(leaderboard_ids))
    found = {keys[key]: value for key, value in cached.items()}
    missing = [pk for pk in leaderboard_ids if pk not in found]
    if missing:
        computed = standings_compute(missing)
        found.update(computed)
        try:
            cache.set_many(
                {_key(pk): value for pk, value in computed.items()}, settings.LOYALTY_LEADERBOARD_CACHE_SECONDS
            )
        except Exception:
            logger.warning("leaderboards: the cache did not answer; standings not kept", exc_info=True)
    return found


@dataclass(frozen=True)
class MemberLeaderboard:
    leaderboard: Leaderboard
    entry_id: int | None  # the member's entry, None if they do not take part
    nickname: str
    eligible: bool  # the member may join (everyone, or they hold its tier)
    standings: Standings | None  # for those they take part in
    ended: bool

    @property
    def joined(self) -> bool:
        return self.entry_id is not None

    @property
    def place(self) -> "Place | None":
        return None if self.standings is None else self.standings.ranks.get(self.member_id)

    member_id: int = 0


def member_leaderboards_get(*, member, today: date) -> list[MemberLeaderboard]:
    """The leaderboards shown to ``member`` on ``today`` (active, not ended more than a week ago), with their
    entry and, for those they joined, the standings. Two queries at most (one when the cache holds every
    standings), whatever the number of leaderboards and participants."""
    from members.tiers.models import MemberTier

    mine = LeaderboardEntry.objects.filter(leaderboard=OuterRef("pk"), member_id=member.pk)
    rows = list(
        Leaderboard.objects.filter(active=True, ends_on__gte=today - SHOWN_AFTER_END)
        .select_related("tier", "mission")
        .annotate(
            entry_id=Subquery(mine.values("pk")),
            my_nickname=Subquery(mine.values("nickname")),
            holds_tier=Exists(MemberTier.objects.filter(member_id=member.pk, tier_id=OuterRef("tier_id"))),
        )
        .order_by("ends_on", "name", "pk")
    )
    standings = standings_get([row.pk for row in rows if row.entry_id is not None])
    return [
        MemberLeaderboard(
            leaderboard=row,
            entry_id=row.entry_id,
            nickname=row.my_nickname or "",
            eligible=row.tier_id is None or row.holds_tier,
            standings=standings.get(row.pk),
            ended=row.ends_on < today,
            member_id=member.pk,
        )
        for row in rows
    ]
