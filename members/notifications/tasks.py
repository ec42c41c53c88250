from celery import shared_task

from . import services


@shared_task(name="notifications.send_email")
def send_email(notification_id: int) -> bool:
    """Send one notification's e-mail (enqueued after its commit; safe to run twice)."""
    return services.notification_email_send(notification_id=notification_id)


@shared_task(name="notifications.send_pending_emails")
def send_pending_emails() -> int:
    """Enqueue the e-mails a lost enqueue or a failed send left (every ten minutes)."""
    return services.notification_emails_send_pending()


@shared_task(name="notifications.expiry_reminders")
def expiry_reminders() -> int:
    """Remind members of points about to expire (weekly)."""
    return services.expiry_reminders_create()
