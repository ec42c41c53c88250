"""Notifications to members: written from outbox events and by the weekly expiry reminder, e-mailed after commit.

Who gets what is decided by ``kinds.py`` (the consent rule). Every e-mail is sent by the task
``notifications.send_email`` (``notification_email_send``), enqueued once the notification
commits, and again by the sweep ``notification_emails_send_pending`` for those a dead
process or a failed send left: at least once. The send locks the notification and sends
only if ``email_sent_at`` is empty, so two runs send once; a crash after the mail server
accepted the e-mail and before the commit sends it again on the next run.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from loyalty.celery import on_commit_send
from loyalty.clock import program_date
from loyalty.exceptions import NotFound
from loyalty.ledger.models import Lot
from loyalty.outbox.models import EventType, OutboxEvent
from members.models import Member

from . import lock_objects
from .kinds import (
    KINDS,
    PREFERENCE_KINDS,
    email_wanted,
    members_wanting,
    notification_path,
    notification_texts,
    notification_wanted,
)
from .models import ExpiryReminder, Notification, NotificationKind, NotificationPreference

logger = logging.getLogger(__name__)

EMAIL_RETRY_AFTER = timedelta(minutes=5)
EMAIL_GIVE_UP_AFTER = timedelta(days=2)


# --- From outbox events ---------------------------------------------------------------------------------------------


def notifications_from_events(events: list[OutboxEvent]) -> list[Notification]:
    """The outbox consumer (``settings.LOYALTY_OUTBOX_CONSUMERS``): the notifications the events cause, by each
    member's preferences, e-mails enqueued once the dispatch commits. Runs in the dispatch's transaction; a fixed
    number of queries per call whatever the number of events. An event seen twice writes nothing more."""
    events = [event for event in events if event.member_id is not None and event.type in _KIND_OF_EVENT]
    if not events:
        return []
    members = {
        member.pk: member
        for member in Member.objects.select_related("user", "notification_preference").filter(
            pk__in={event.member_id for event in events}
        )
    }
    changes = _tier_changes_by_id(events)
    vouchers = _vouchers_by_id(events)
    badges = _badges_by_code(events)
    notifications = []
    for event in events:
        member = members[event.member_id]
        data = event.data if isinstance(event.data, dict) else {}
        found = _KIND_OF_EVENT[event.type](data, member=member, changes=changes, vouchers=vouchers, badges=badges)
        if found is None:
            continue
        kind, params = found
        if not notification_wanted(member, kind):
            continue
        notifications.append(
            Notification(
                member=member,
                kind=kind,
                params=params,
                event=event,
                created_at=event.occurred_at,
                send_email=email_wanted(member, kind),
            )
        )
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)
    due = list(
        Notification.objects.filter(
            event_id__in=[n.event_id for n in notifications if n.send_email], send_email=True, email_sent_at=None
        ).values_list("pk", flat=True)
    )
    _emails_enqueue(due)
    return notifications


def _welcome(data: dict, *, member: Member, **_) -> tuple[str, dict]:
    return NotificationKind.WELCOME, {"number": member.member_number}


def _points_earned(data: dict, **_) -> tuple[str, dict] | None:
    points = _int(data.get("points"))
    if not points or points <= 0:
        return None
    params = {"points": points}
    if _int(data.get("balance")) is not None:
        params["balance"] = _int(data["balance"])
    return NotificationKind.POINTS_EARNED, params


def _tier_changed(data: dict, *, changes: dict, **_) -> tuple[str, dict] | None:
    change = changes.get(_int(data.get("change")))
    if change is None or change.from_tier_id == change.to_tier_id:
        return None
    before, after = change.from_tier, change.to_tier
    params = {"tier": after.name, "tier_fr": after.name_fr} if after is not None else {}
    rising = after is not None and (before is None or after.rank > before.rank)
    return (NotificationKind.TIER_UP if rising else NotificationKind.TIER_DOWN), params


def _voucher_issued(data: dict, *, vouchers: dict, **_) -> tuple[str, dict] | None:
    """One notification for the vouchers of one redemption: the voucher's page for one, the list for several."""
    issued = [vouchers[pk] for pk in _voucher_ids(data) if pk in vouchers]
    if not issued:
        return None
    reward = issued[0].reward
    params = {"reward": reward.name, "reward_fr": reward.name_fr, "count": len(issued)}
    if len(issued) == 1:
        params["voucher_id"] = issued[0].pk
    return NotificationKind.VOUCHER_ISSUED, params


def _referral_credited(data: dict, **_) -> tuple[str, dict] | None:
    points = _int(data.get("points"))
    if not points or points <= 0:
        return None
    role = "referee" if data.get("role") == "referee" else "referrer"
    return NotificationKind.REFERRAL_CREDITED, {"points": points, "role": role}


def _mission_completed(data: dict, **_) -> tuple[str, dict] | None:
    if not data.get("name"):
        return None
    params = {"mission": str(data["name"]), "mission_fr": str(data.get("name_fr") or "")}
    if _int(data.get("points")):
        params["points"] = _int(data["points"])
    return NotificationKind.MISSION_COMPLETED, params


def _badge_earned(data: dict, *, badges: dict, **_) -> tuple[str, dict] | None:
    badge = badges.get(data.get("badge"))
    if badge is None:
        return None
    return NotificationKind.BADGE_EARNED, {"badge": badge.name, "badge_fr": badge.name_fr}


_KIND_OF_EVENT = {
    EventType.MEMBER_ENROLLED: _welcome,
    EventType.POINTS_EARNED: _points_earned,
    EventType.TIER_CHANGED: _tier_changed,
    EventType.VOUCHER_ISSUED: _voucher_issued,
    EventType.REFERRAL_CREDITED: _referral_credited,
    EventType.MISSION_COMPLETED: _mission_completed,
    EventType.BADGE_EARNED: _badge_earned,
}


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _voucher_ids(data: dict) -> list[int]:
    vouchers = data.get("vouchers")
    if not isinstance(vouchers, list):
        return []
    ids = (_int(voucher.get("id")) for voucher in vouchers if isinstance(voucher, dict))
    return [pk for pk in ids if pk is not None]


def _tier_changes_by_id(events: list[OutboxEvent]) -> dict:
    """The ``TierChange`` rows the events name (``data["change"]``), of the events' members, tiers joined."""
    from members.tiers.models import TierChange

    wanted = [event for event in events if event.type == EventType.TIER_CHANGED]
    ids = {_int(event.data.get("change")) for event in wanted if isinstance(event.data, dict)} - {None}
    if not ids:
        return {}
    rows = TierChange.objects.select_related("from_tier", "to_tier").filter(
        pk__in=ids, member_id__in={event.member_id for event in wanted}
    )
    return {change.pk: change for change in rows}


def _badges_by_code(events: list[OutboxEvent]) -> dict:
    """The badges the events name (``data["badge"]``: its code), for their names in both languages."""
    from missions.badges.models import Badge

    codes = {
        event.data.get("badge")
        for event in events
        if event.type == EventType.BADGE_EARNED
        and isinstance(event.data, dict)
        and isinstance(event.data.get("badge"), str)
    }
    if not codes:
        return {}
    return {badge.code: badge for badge in Badge.objects.filter(code__in=codes)}


def _vouchers_by_id(events: list[OutboxEvent]) -> dict:
    """The vouchers the events name (``data["vouchers"][*]["id"]``), of the events' members, rewards joined."""
    from rewards.models import Voucher

    wanted = [event for event in events if event.type == EventType.VOUCHER_ISSUED]
    ids = {pk for event in wanted if isinstance(event.data, dict) for pk in _voucher_ids(event.data)}
    if not ids:
        return {}
    rows = Voucher.objects.select_related("reward").filter(pk__in=ids, member_id__in={e.member_id for e in wanted})
    return {voucher.pk: voucher for voucher in rows}


def welcome_email_release(*, member: Member) -> list[int]:
    """E-mail the welcome that waited for the member's confirmation (see ``kinds.awaiting_confirmation``); returns
    the notifications enqueued. Sent once however often it is called: ``notification_email_send`` locks and sends
    a notification only while ``email_sent_at`` is empty. A welcome not written yet (its event not dispatched)
    is e-mailed when it is, the member being confirmed by then."""
    waiting = Notification.objects.filter(
        member=member, kind=NotificationKind.WELCOME, send_email=False, email_sent_at=None
    )
    ids = list(waiting.values_list("pk", flat=True))
    Notification.objects.filter(pk__in=ids).update(send_email=True)
    _emails_enqueue(ids)
    return ids


# --- E-mails --------------------------------------------------------------------------------------------------------


def _emails_enqueue(notification_ids: list[int]) -> None:
    if not notification_ids:
        return

    def enqueue():
        from .tasks import send_email

        for pk in notification_ids:
            send_email.delay(pk)

    on_commit_send(enqueue)


def notification_email_send(*, notification_id: int, now: datetime | None = None) -> bool:
    """Send the notification's e-mail if it is due and not sent yet; returns whether this call sent it.

    Locks the notification, sends, sets ``email_sent_at``, commits: two runs at once send once.
    Sent at least once: a crash between the mail server's acceptance and the commit sends it
    again. The consent rule is checked again at sending time (an opt-out since wins)."""
    with transaction.atomic():
        notification = lock_objects.notification_for_update(notification_id)
        if notification is None or not notification.send_email or notification.email_sent_at is not None:
            return False
        member = notification.member
        if not email_wanted(member, notification.kind):
            notification.send_email = False
            notification.save(update_fields=["send_email"])
            return False
        notification_email_message(notification=notification).send()
        notification.email_sent_at = now or timezone.now()
        notification.save(update_fields=["email_sent_at"])
    return True


def notification_email_message(*, notification: Notification) -> EmailMultiAlternatives:
    """The e-mail of a notification in its member's language: plain text and HTML, links absolute to the portal."""
    member = notification.member
    portal = settings.LOYALTY_PORTAL_URL.rstrip("/")
    with translation.override(member.language):
        title, text = notification_texts(notification)
        context = {
            "member": member,
            "first_name": member.user.first_name,
            "title": title,
            "text": text,
            "link": portal + notification_path(notification),
            "settings_link": portal + reverse("portal:notification_settings"),
            "marketing": KINDS[notification.kind].marketing,
            "language": member.language,
        }
        body = render_to_string("portal/email/notification_body.txt", context)
        html = render_to_string("portal/email/notification_body.html", context)
    message = EmailMultiAlternatives(title, body, None, [member.user.email])
    message.attach_alternative(html, "text/html")
    return message


def notification_emails_send_pending(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Enqueue the e-mails still due after ``EMAIL_RETRY_AFTER`` (a lost enqueue, a failed send), those younger than
    ``EMAIL_GIVE_UP_AFTER`` (an e-mail days late is worse than none). Returns how many were enqueued."""
    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(
            send_email=True,
            email_sent_at=None,
            created_at__lte=now - EMAIL_RETRY_AFTER,
            created_at__gte=now - EMAIL_GIVE_UP_AFTER,
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    from .tasks import send_email

    for pk in ids:
        send_email.delay(pk)
    return len(ids)


# --- Expiry reminders -----------------------------------------------------------------------------------------------


def expiry_reminders_create(*, now: datetime | None = None, days: int | None = None, batch_size: int = 2000) -> int:
    """Remind each active member who did not opt out of the points that expire in the coming ``days``
    (``LOYALTY_EXPIRY_REMINDER_DAYS``): one reminder per member and expiry date, ever.

    Set-based, in transactions of ``batch_size`` member ids: one INSERT … SELECT of the lots'
    remainders summed per member and expiry date, skipping what was reminded already, and
    ``ON CONFLICT DO NOTHING`` against the unique (member, expires_on) for a run beside it;
    the rows it inserted get their notification, e-mailed after commit. Safe to run twice,
    also at once. Returns how many reminders it wrote."""
    now = now or timezone.now()
    days = settings.LOYALTY_EXPIRY_REMINDER_DAYS if days is None else days
    today = program_date(now)
    last_id = Member.objects.aggregate(last=Max("pk"))["last"] or 0
    total = 0
    for start in range(0, last_id + 1, batch_size):
        with transaction.atomic():
            rows = _reminders_insert(start=start, stop=start + batch_size, today=today, days=days, now=now)
            notifications = Notification.objects.bulk_create(
                Notification(
                    member_id=member_id,
                    kind=NotificationKind.EXPIRY_REMINDER,
                    params={"points": points, "expires_on": str(expires_on)},
                    reminder_id=reminder_id,
                    created_at=now,
                    send_email=True,
                )
                for reminder_id, member_id, expires_on, points in rows
            )
            _emails_enqueue([notification.pk for notification in notifications])
        total += len(rows)
    return total


def _reminders_insert(*, start: int, stop: int, today, days: int, now: datetime) -> list[tuple]:
    members = Member.objects.filter(
        members_wanting(NotificationKind.EXPIRY_REMINDER, email=True), pk__gte=start, pk__lt=stop
    )
    reminded = ExpiryReminder.objects.filter(
        member_id=OuterRef("account__member_id"), expires_on=OuterRef("expires_on")
    )
    candidates = (
        Lot.objects.filter(
            account__member__in=members,
            pending=False,
            remaining__gt=0,
            expires_on__gte=today,
            expires_on__lte=today + timedelta(days=days),
        )
        .filter(~Exists(reminded))
        .values(reminder_member=F("account__member_id"), reminder_day=F("expires_on"))
        .annotate(reminder_points=Sum("remaining"))
        .order_by()
    )
    select, params = candidates.query.sql_with_params()
    table = ExpiryReminder._meta.db_table
    sql = (
        f"INSERT INTO {table} (member_id, expires_on, points, created_at) "
        "SELECT candidates.reminder_member, candidates.reminder_day, candidates.reminder_points, %s "
        f"FROM ({select}) AS candidates WHERE candidates.reminder_points > 0 "
        "ON CONFLICT (member_id, expires_on) DO NOTHING RETURNING id, member_id, expires_on, points"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(now), *params])
        rows = cursor.fetchall()
    # SQLite returns dates as text.
    return [(pk, member_id, str(expires_on), points) for pk, member_id, expires_on, points in rows]


# --- The portal -----------------------------------------------------------------------------------------------------


def notification_preferences_set(*, member: Member, **choices: bool) -> NotificationPreference:
    """Record the member's choices (the kinds of ``PREFERENCE_KINDS``; a kind left out keeps its value)."""
    unknown = set(choices) - {KINDS[kind].preference for kind in PREFERENCE_KINDS}
    if unknown:
        raise ValueError(f"Not notification preferences: {sorted(unknown)}")
    preference, _ = NotificationPreference.objects.update_or_create(member=member, defaults=choices)
    return preference


def notification_mark_read(*, member: Member, notification_id: int, now: datetime | None = None) -> Notification:
    """Mark one of the member's notifications read (already read: its first time stays). ``NotFound`` for a
    notification that is not the member's."""
    notification = Notification.objects.filter(member=member, pk=notification_id).first()
    if notification is None:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at=None).update(read_at=notification.read_at)
    return notification


def notifications_mark_all_read(*, member: Member, now: datetime | None = None) -> int:
    """Mark every unread notification of the member read; returns how many."""
    return Notification.objects.filter(member=member, read_at=None).update(read_at=now or timezone.now())
