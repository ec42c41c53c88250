from celery import shared_task

from . import services


@shared_task(name="partners.purge_idempotent_responses")
def purge_idempotent_responses() -> int:
    """Delete stored API responses older than ``IDEMPOTENCY_KEY_RETENTION_DAYS`` (daily on the beat schedule)."""
    return services.idempotent_responses_purge()
