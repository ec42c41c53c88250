"""Reads of members for the partner API and the portal: each runs a fixed number of queries."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate

from loyalty.clock import program_date, program_day_start, program_timezone
from loyalty.exceptions import NotFound
from loyalty.ledger.models import Account, Entry, Lot

from .models import GiftPolicy, Member
from .notifications.selectors import notifications_unread_count
from .numbers import member_number_clean

EXPIRING_DATES = 3
DASHBOARD_EXPIRY_DATES = 12
DASHBOARD_ENTRIES = 5


class PartnerView:
    """What a partner may read of a member (``member_view_for_partner``): one of two output shapes."""

    PROFILE = "profile"  # the enrolling partner: the full profile
    TILL = "till"  # any other partner naming the member by card number: what a till needs


def member_get_for_partner(*, partner, member_number: str, annotations: dict | None = None) -> Member:
    """The member with this number, its user and account joined (and ``annotations``, expressions on the
    member that the caller reads in the same query). Raises ``InvalidMemberNumber``, ``NotFound``.

    The number is checked (digits, Luhn check digit) before any lookup. A partner may name
    any member by its number (the card it scanned); what it reads of the member is decided by
    ``member_view_for_partner`` and ``member_entries_for_partner``, what it may take from it by
    ``loyalty.partners.services.partner_debit_proof_check``.
    """
    number = member_number_clean(member_number)
    members = Member.objects.select_related("user", "account", "merged_into").filter(member_number=number)
    member = members.annotate(**annotations).first() if annotations else members.first()
    if member is None:
        raise NotFound("No member has this number.")
    return member


def member_view_for_partner(*, partner, member: Member) -> str:
    """``PartnerView.PROFILE`` for the partner that enrolled ``member``, ``PartnerView.TILL`` for any other."""
    if member.enrolled_by_id is not None and member.enrolled_by_id == partner.pk:
        return PartnerView.PROFILE
    return PartnerView.TILL


def member_for_user(*, user) -> Member | None:
    """The signed-in user's member with its account joined, or ``None`` (a staff login, say)."""
    if not user.is_authenticated:
        return None
    # Whether gifting is open and the unread count ride along, so the header's *Send points* link and its
    # notifications badge cost no query.
    gifting = Subquery(GiftPolicy.objects.filter(pk=1).values("enabled"))
    return (
        Member.objects.select_related("account", "user")
        .annotate(gifting_enabled=gifting, notifications_unread=notifications_unread_count())
        .filter(user_id=user.pk)
        .first()
    )


def member_expiring(*, member: Member, dates: int | None = EXPIRING_DATES) -> list[dict]:
    """The coming expiry dates (today or later, program time) of the member's available points, soonest first.

    At most ``dates`` of them; all when ``dates`` is None.
    """
    rows = (
        Lot.objects.filter(
            account_id=member.account.pk,
            pending=False,
            remaining__gt=0,
            expires_on__gte=program_date(),
        )
        .values("expires_on")
        .annotate(points=Sum("remaining"))
        .order_by("expires_on")
    )
    if dates is not None:
        rows = rows[:dates]
    return [{"expires_on": row["expires_on"], "points": row["points"]} for row in rows]


def member_entries_for_partner(*, partner, member: Member) -> QuerySet[Entry]:
    """The member's ledger entries the partner may read, newest first.

    The partner that enrolled the member reads its whole history; any other partner
    reads only the entries it made itself.
    """
    entries = Entry.objects.filter(account_id=member.account.pk).order_by("-created_at", "-id")
    if member_view_for_partner(partner=partner, member=member) != PartnerView.PROFILE:
        entries = entries.filter(
            Q(actor_type__app_label="partners", actor_type__model="partner", actor_id=str(partner.pk))
        )
    return entries


def member_pending(*, member: Member) -> list[dict]:
    """The member's pending points grouped by the day (program time) they become available, soonest first."""
    rows = (
        Lot.objects.filter(account_id=member.account.pk, pending=True, remaining__gt=0)
        .annotate(available_on=TruncDate("available_at", tzinfo=program_timezone()))
        .values("available_on")
        .annotate(points=Sum("remaining"))
        .order_by("available_on")
    )
    return [{"available_on": row["available_on"], "points": row["points"]} for row in rows]


def member_entries(
    *, member: Member, kind: str = "", since: date | None = None, until: date | None = None
) -> QuerySet[Entry]:
    """The member's own ledger entries, newest first, filtered by kind and by day (program time, inclusive)."""
    entries = Entry.objects.filter(account_id=member.account.pk).order_by("-created_at", "-id")
    if kind:
        entries = entries.filter(kind=kind)
    if since:
        entries = entries.filter(created_at__gte=_start_of(since))
    if until:
        entries = entries.filter(created_at__lt=_start_of(until + timedelta(days=1)))
    return entries


def entries_with_availability(entries: QuerySet[Entry]) -> QuerySet[Entry]:
    """``entries`` with, for a credit written pending, when its points become available.

    Adds ``available_at`` (the credit's lot's moment, or None when the points were available
    at once or the entry opened no lot) and ``still_pending``. In the same query.
    """
    lot = Lot.objects.filter(entry_id=OuterRef("pk"), available_at__gt=OuterRef("created_at")).order_by("pk")
    return entries.annotate(
        available_at=Subquery(lot.values("available_at")[:1]),
        still_pending=Exists(lot.filter(pending=True)),
    )


def _start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` in the program's time zone (a bound the history index can use)."""
    return program_day_start(day)


@dataclass(frozen=True)
class Dashboard:
    account: Account
    pending: list[dict]
    expiring: list[dict]
    expiring_later: dict | None  # {"points", "dates"} past the first DASHBOARD_EXPIRY_DATES dates
    entries: list[Entry]


def member_dashboard_get(*, member: Member) -> Dashboard:
    """What the portal's dashboard shows: three queries whatever the member's history."""
    expiring = member_expiring(member=member, dates=None)
    later = expiring[DASHBOARD_EXPIRY_DATES:]
    return Dashboard(
        account=member.account,
        pending=member_pending(member=member),
        expiring=expiring[:DASHBOARD_EXPIRY_DATES],
        expiring_later={"points": sum(row["points"] for row in later), "dates": len(later)} if later else None,
        entries=list(entries_with_availability(member_entries(member=member))[:DASHBOARD_ENTRIES]),
    )
