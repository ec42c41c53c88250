"""Reads for the staff's member page (the admin's "support" view): a fixed number of queries whatever the history.

Besides the points, the page shows the latest rows of what the member did and was sent:
purchases (with their breakdown and returns), vouchers, holds, referrals, notifications and
webhook deliveries about them. Each section is one query (joined; the purchases' breakdown
one more) for its latest ``SUPPORT_LATEST`` rows plus one, which says whether older rows
exist (the page then links the full list); a section the reader may not see is not read.
"""

from dataclasses import dataclass, field
from datetime import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    When,
)
from django.db.models import Value as V
from django.utils import timezone

from campaigns.earn_selectors import entry_breakdowns_get
from campaigns.models import Purchase, PurchaseReturn
from loyalty.ledger.models import Entry, Hold, Lot
from loyalty.ledger.selectors import actors_of, entries_with_reversed
from loyalty.webhooks.models import WebhookDelivery
from rewards.models import Voucher
from rewards.selectors import voucher_state

from .models import Member, MemberStatusChange
from .notifications.kinds import notification_texts
from .notifications.models import Notification
from .notifications.services import EMAIL_GIVE_UP_AFTER
from .referrals.models import Referral
from .selectors import member_expiring, member_pending
from .services import username_from_email
from .tiers.models import TierChange
from .tiers.selectors import TierProgress, member_tier_history, tier_progress_get

SUPPORT_ENTRIES_PER_PAGE = 20
SUPPORT_LOTS_PER_PAGE = 10
SUPPORT_STATUS_CHANGES = 10
SUPPORT_EXPIRY_DATES = 12
SUPPORT_TIER_CHANGES = 10
SUPPORT_LATEST = 10  # rows of each of the sections below; the full list is linked

# The sections a reader may see, by the permission that lets them read the model's admin list.
SECTIONS = {
    "purchases": "campaigns.view_purchase",
    "vouchers": "rewards.view_voucher",
    "holds": "ledger.view_hold",
    "referrals": "referrals.view_referral",
    "notifications": "notifications.view_notification",
    "deliveries": "webhooks.view_webhookdelivery",
    "badges": "badges.view_memberbadge",
}


@dataclass(frozen=True)
class Latest:
    """The latest rows of a section, and whether there are older ones (then the page links the full list)."""

    rows: list = field(default_factory=list)
    more: bool = False


def _latest(queryset, limit: int = SUPPORT_LATEST) -> Latest:
    rows = list(queryset[: limit + 1])
    return Latest(rows=rows[:limit], more=len(rows) > limit)


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
    purchases: Latest | None = None
    vouchers: Latest | None = None
    holds: Latest | None = None
    referrals: Latest | None = None
    notifications: Latest | None = None
    deliveries: Latest | None = None
    badges: Latest | None = None


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


def member_purchases(*, member: Member) -> Latest:
    """The latest purchases with their partner, what returns took back (``return_count``, ``returned_points``,
    ``returned_amount``) and ``breakdown``: the earning breakdown's labels, net of returns. Two queries (one
    without purchases that earned)."""
    returns = PurchaseReturn.objects.filter(purchase_id=OuterRef("pk")).order_by().values("purchase_id")
    latest = _latest(
        Purchase.objects.filter(member_id=member.pk)
        .select_related("partner")
        .annotate(
            return_count=Subquery(returns.annotate(n=Count("pk")).values("n")[:1]),
            returned_points=Subquery(returns.annotate(points_back=Sum("points")).values("points_back")[:1]),
            returned_amount=Subquery(returns.annotate(money_back=Sum("amount")).values("money_back")[:1]),
        )
        .order_by("-occurred_at", "-id")
    )
    breakdowns = entry_breakdowns_get(entry_ids=[row.entry_id for row in latest.rows if row.entry_id])
    for row in latest.rows:
        row.breakdown = breakdowns.get(row.entry_id, [])
    return latest


def member_vouchers(*, member: Member, now: datetime) -> Latest:
    """The latest vouchers with their reward and ``state`` (``rewards.selectors.voucher_state``: the status as
    shown, until when it can be cancelled). One query."""
    latest = _latest(
        Voucher.objects.filter(member_id=member.pk)
        .select_related("reward", "redemption")
        .order_by("-issued_at", "-id")
    )
    for voucher in latest.rows:
        voucher.state = voucher_state(voucher, now=now)
    return latest


def member_holds(*, member: Member) -> Latest:
    """The latest holds of pay with points, open ones first, with their payment and its partner. One query."""
    open_first = Case(When(status="open", then=V(0)), default=V(1), output_field=IntegerField())
    return _latest(
        Hold.objects.filter(account_id=member.account.pk)
        .select_related("points_payment__partner")
        .order_by(open_first, "-created_at", "-id")
    )


def member_referrals(*, member: Member) -> Latest:
    """The referral that brought the member in (first), then the latest they made, with both members. One query."""
    as_referee = Case(When(referee_id=member.pk, then=V(0)), default=V(1), output_field=IntegerField())
    return _latest(
        Referral.objects.filter(Q(referrer_id=member.pk) | Q(referee_id=member.pk))
        .select_related("referrer", "referee")
        .order_by(as_referee, "-created_at", "-id")
    )


def member_notifications(*, member: Member, now: datetime) -> Latest:
    """The latest notifications, each with ``title`` (in the reader's language) and ``email_state``: ``sent``,
    ``due`` (not sent yet: the sweep retries), ``given_up`` (not sent within ``EMAIL_GIVE_UP_AFTER``) or
    ``none`` (portal only). One query."""
    latest = _latest(Notification.objects.filter(member_id=member.pk).order_by("-created_at", "-id"))
    for notification in latest.rows:
        notification.title = notification_texts(notification)[0]
        if not notification.send_email:
            notification.email_state = "none"
        elif notification.email_sent_at is not None:
            notification.email_state = "sent"
        elif notification.created_at < now - EMAIL_GIVE_UP_AFTER:
            notification.email_state = "given_up"
        else:
            notification.email_state = "due"
    return latest


def member_deliveries(*, member: Member) -> Latest:
    """The latest webhook deliveries of the member's events, with the event, the endpoint and its partner, and
    who resent one. One query."""
    return _latest(
        WebhookDelivery.objects.filter(event__member_id=member.pk)
        .select_related("event", "endpoint__partner", "resent_by")
        .order_by("-created_at", "-id")
    )


def member_badges(*, member: Member) -> Latest:
    """The latest badges the member earned, with the badge. One query."""
    from missions.badges.models import MemberBadge

    return _latest(
        MemberBadge.objects.filter(member_id=member.pk).select_related("badge").order_by("-earned_at", "-id")
    )


def member_support_get(
    *, member: Member, entries_page: object = 1, lots_page: object = 1, sections: frozenset[str] = frozenset()
) -> MemberSupport:
    """Everything the member page shows; ``member`` comes with its user and account joined.

    Entries and lots come a page at a time (a page number out of range gives the last
    page); each entry with the points reversals took back of it and who made it.
    ``sections``: which of ``SECTIONS`` to read (those the reader may see); the others are ``None``.
    """
    now = timezone.now()
    readers = {
        "purchases": lambda: member_purchases(member=member),
        "vouchers": lambda: member_vouchers(member=member, now=now),
        "holds": lambda: member_holds(member=member),
        "referrals": lambda: member_referrals(member=member),
        "notifications": lambda: member_notifications(member=member, now=now),
        "deliveries": lambda: member_deliveries(member=member),
        "badges": lambda: member_badges(member=member),
    }
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
        **{name: read() for name, read in readers.items() if name in sections},
    )
