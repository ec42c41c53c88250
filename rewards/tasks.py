from celery import shared_task

from . import services


@shared_task(name="rewards.expire_vouchers")
def expire_vouchers() -> int:
    """Expire the vouchers past their end, with their points back where the reward says so (hourly on beat)."""
    return services.vouchers_expire()
