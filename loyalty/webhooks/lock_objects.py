"""The only place webhook rows are locked."""

from datetime import datetime

from .models import DeliveryStatus, WebhookDelivery


def delivery_due_for_update(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Lock a pending delivery that is due, with its endpoint and event; ``None`` if it is not due, not pending,
    or another worker holds it (skipped, not waited for): one attempt at a time."""
    return (
        WebhookDelivery.objects.select_related("endpoint", "event")
        .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .select_for_update(skip_locked=True, of=("self",))
        .first()
    )


def delivery_for_update(delivery_id: int) -> WebhookDelivery:
    """Lock one delivery (waiting for it): resends of it are decided one at a time."""
    return WebhookDelivery.objects.select_for_update(of=("self",)).get(pk=delivery_id)
