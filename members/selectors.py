"""Reads of members for the partner API: each runs a fixed number of queries."""

from django.db.models import Q, QuerySet, Sum

from loyalty.exceptions import NotFound
from loyalty.ledger.models import Entry, Lot

from .models import Member

EXPIRING_DATES = 3


def member_get_for_partner(*, partner, member_number: str) -> Member:
    """The member with this number, its user and account joined. Raises ``NotFound``.

    A partner may name any member by its number (the card it scanned); what it reads of
    the member's history is limited by ``member_entries_for_partner``.
    """
    member = Member.objects.select_related("user", "account").filter(member_number=member_number).first()
    if member is None:
        raise NotFound("No member has this number.")
    return member


def member_expiring(*, member: Member, dates: int = EXPIRING_DATES) -> list[dict]:
    """The next ``dates`` expiry dates of the member's available points, soonest first, with their points."""
    rows = (
        Lot.objects.filter(account_id=member.account.pk, pending=False, remaining__gt=0, expires_on__isnull=False)
        .values("expires_on")
        .annotate(points=Sum("remaining"))
        .order_by("expires_on")[:dates]
    )
    return [{"expires_on": row["expires_on"], "points": row["points"]} for row in rows]


def member_entries_for_partner(*, partner, member: Member) -> QuerySet[Entry]:
    """The member's ledger entries the partner may read, newest first.

    The partner that enrolled the member reads its whole history; any other partner
    reads only the entries it made itself.
    """
    entries = Entry.objects.filter(account_id=member.account.pk).order_by("-created_at", "-id")
    if member.enrolled_by_id != partner.pk:
        entries = entries.filter(
            Q(actor_type__app_label="partners", actor_type__model="partner", actor_id=str(partner.pk))
        )
    return entries
