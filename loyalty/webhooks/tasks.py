from celery import shared_task

from . import services


@shared_task(name="webhooks.deliver")
def deliver(delivery_id: int) -> bool:
    """Try one delivery (enqueued on commit of its creation, and by the retry sweep)."""
    return services.delivery_attempt(delivery_id=delivery_id) is not None


@shared_task(name="webhooks.deliver_due")
def deliver_due() -> int:
    """Every minute: enqueue the deliveries whose retry is due."""
    due = services.deliveries_due()
    for delivery_id in due:
        deliver.delay(delivery_id)
    return len(due)
