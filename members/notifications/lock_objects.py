"""The only place notification rows are locked."""

from django.db import connection
from django.db.transaction import TransactionManagementError

from .models import Notification


def notification_for_update(notification_id: int) -> Notification | None:
    """Lock one notification with its member and user (``None`` if it is gone)."""
    if connection.get_autocommit():
        raise TransactionManagementError("A notification can only be locked inside a transaction.")
    return (
        Notification.objects.select_for_update(of=("self",))
        .select_related("member__user", "member__notification_preference")
        .filter(pk=notification_id)
        .first()
    )
