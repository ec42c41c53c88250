"""Reads for the staff's member page (the admin's "support" view): a fixed number of queries whatever the history."""

from dataclasses import dataclass
from datetime import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils import timezone

from loyalty.ledger.models import Entry, Lot
from loyalty.ledger.selectors import actors_of, entries_with_reversed

from .models import Member, MemberStatusChange
from .selectors import member_expiring, member_pending
from .services import username_from_email
from .tiers.models import TierChange
from .tiers.selectors import TierProgress, member_tier_history, tier_progress_get

SUPPORT_ENTRIES_PER_PAGE = 20
SUPPORT_LOTS_PER_PAGE = 10
SUPPORT_STATUS_CHANGES = 10
SUPPORT_EXPIRY_DATES = 12
SUPPORT_TIER_CHANGES = 10


@dataclass(frozen=True)
class LoginLock:
    ip_address: str | None
    failures: int
    until: datetime


@dataclass(frozen=True)
class MemberSupport:
    member: Member
    status_changes: list[MemberStatusChange]
    pending: list[dict]
    expiring: list[dict]
    expiring_later: dict | None
    lots: Page
    entries: Page
    actors: dict
    login_locks: list[LoginLock]
    tier: TierProgress
    tier_changes: list[TierChange]


def member_login_locks(*, member: Member) -> list[LoginLock]:
    """The addresses django-axes refuses this member's login from now, and until when (one query)."""
    cool_off = settings.AXES_COOLOFF_TIME
    now = timezone.now()
    attempts = AccessAttempt.objects.filter(
        username=username_from_email(member.user.get_username()),
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
        attempt_time__gt=now - cool_off,
    ).order_by("-attempt_time")
    return [
        LoginLock(
            ip_address=attempt.ip_address, failures=attempt.failures_since_start, until=attempt.attempt_time + cool_off
        )
        for attempt in attempts
    ]


def member_support_get(*, member: Member, entries_page: object = 1, lots_page: object = 1) -> MemberSupport:
    """Everything the member page shows; ``member`` comes with its user and account joined.

    Entries and lots come a page at a time (a page number out of range gives the last
    page); each entry with the points reversals took back of it and who made it.
    """
    entries = Paginator(
        entries_with_reversed(Entry.objects.filter(account_id=member.account.pk).order_by("-created_at", "-id")),
        SUPPORT_ENTRIES_PER_PAGE,
    ).get_page(entries_page)
    lots = Paginator(
        Lot.objects.filter(account_id=member.account.pk)
        .annotate(used_up=ExpressionWrapper(Q(remaining=0), output_field=BooleanField()))
        .order_by("used_up", F("expires_on").asc(nulls_last=True), "id"),
        SUPPORT_LOTS_PER_PAGE,
    ).get_page(lots_page)
    expiring = member_expiring(member=member, dates=None)
    later = expiring[SUPPORT_EXPIRY_DATES:]
    return MemberSupport(
        member=member,
        status_changes=list(member.status_changes.select_related("actor")[:SUPPORT_STATUS_CHANGES]),
        pending=member_pending(member=member),
        expiring=expiring[:SUPPORT_EXPIRY_DATES],
        expiring_later={"points": sum(row["points"] for row in later), "dates": len(later)} if later else None,
        lots=lots,
        entries=entries,
        actors=actors_of(entries.object_list),
        login_locks=member_login_locks(member=member),
        tier=tier_progress_get(member=member),
        tier_changes=member_tier_history(member=member, limit=SUPPORT_TIER_CHANGES),
    )
