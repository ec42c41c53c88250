"""What a leaderboard ranks by: one SQL expression of a participant's score, per metric.

Each metric is a function returning an expression over a ``LeaderboardEntry`` row (its
``member_id`` and its leaderboard's ``starts_at``/``ends_at`` as ``OuterRef``), so one query
ranks every leaderboard whatever their metrics (``score_expression``). Adding a metric is one
more ``Metric`` choice and one more function here.
"""

from collections.abc import Callable

from django.db.models import BigIntegerField, Case, Count, Expression, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from campaigns.models import Outcome, Purchase
from loyalty.ledger.models import Entry, EntryKind
from missions.models import MissionCompletion

from .models import Metric

EARNING_KINDS = [EntryKind.EARN, EntryKind.BONUS]


def _in_period(prefix: str) -> dict:
    return {f"{prefix}__gte": OuterRef("leaderboard__starts_at"), f"{prefix}__lt": OuterRef("leaderboard__ends_at")}


def points_earned() -> Expression:
    """Points earned and bonus points credited in the period, less the reversals of such points in it."""
    entries = Entry.objects.filter(
        Q(kind__in=EARNING_KINDS) | Q(kind=EntryKind.REVERSE, reverses__kind__in=EARNING_KINDS),
        account__member_id=OuterRef("member_id"),
        **_in_period("created_at"),
    )
    return Subquery(entries.order_by().values("account_id").annotate(total=Sum("amount")).values("total"))


def purchases() -> Expression:
    """Purchases made in the period (by ``occurred_at``) while the member could earn."""
    bought = Purchase.objects.filter(
        member_id=OuterRef("member_id"), outcome__in=[Outcome.EARNED, Outcome.NOTHING], **_in_period("occurred_at")
    )
    return Subquery(bought.order_by().values("member_id").annotate(total=Count("pk")).values("total"))


def mission_completions() -> Expression:
    """Completions of the leaderboard's mission in the period that still stand (a return did not undo them)."""
    completed = MissionCompletion.objects.filter(
        mission_id=OuterRef("leaderboard__mission_id"),
        member_id=OuterRef("member_id"),
        reversed_at__isnull=True,
        **_in_period("completed_at"),
    )
    return Subquery(completed.order_by().values("member_id").annotate(total=Count("pk")).values("total"))


METRICS: dict[str, Callable[[], Expression]] = {
    Metric.POINTS_EARNED: points_earned,
    Metric.PURCHASES: purchases,
    Metric.MISSION_COMPLETIONS: mission_completions,
}


def score_expression() -> Expression:
    """The score of a ``LeaderboardEntry`` row by its leaderboard's metric (0 for nothing in the period)."""
    return Case(
        *[
            When(leaderboard__metric=metric, then=Coalesce(score(), Value(0), output_field=BigIntegerField()))
            for metric, score in METRICS.items()
        ],
        default=Value(0),
        output_field=BigIntegerField(),
    )
