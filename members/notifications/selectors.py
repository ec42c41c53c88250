"""Reads of a member's notifications for the portal: a fixed number of queries each."""

from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from .kinds import notification_path, notification_texts
from .models import Notification

PAGE_SIZE = 25


def notifications_unread_count() -> Coalesce:
    """The unread count of the member in the outer query, as an annotation (the nav's badge rides on the query
    that reads the signed-in member: no query of its own)."""
    unread = (
        Notification.objects.filter(member_id=OuterRef("pk"), read_at__isnull=True)
        .order_by()
        .values("member_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(unread), 0)


def notifications_page(*, member, page: str | int | None) -> Page:
    """One page of the member's notifications, newest first, each with ``title``, ``text`` and ``path`` rendered in
    the active language (two queries: the count and the page)."""
    rows = Notification.objects.filter(member=member).order_by("-created_at", "-id")
    result = Paginator(rows, PAGE_SIZE).get_page(page)
    result.object_list = [notification_with_texts(notification) for notification in result.object_list]
    return result


def notification_with_texts(notification: Notification) -> Notification:
    notification.title, notification.text = notification_texts(notification)
    notification.path = notification_path(notification)
    return notification
