"""Webhook endpoints and deliveries (see models.py)."""

import json
import random
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.celery import on_commit_send
from loyalty.exceptions import IdempotencyConflict, ValidationError
from loyalty.outbox.models import EventType, OutboxEvent

from . import http, lock_objects
from .models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=4)


def endpoint_create(*, partner, url: str, event_types: list[str], active: bool = True) -> WebhookEndpoint:
    """Register a partner's URL for ``event_types``, with a new secret (``endpoint.secret``: show it once).

    Raises ``ValidationError`` for an unknown event type, a URL that is not http(s) or whose host resolves to a
    non-public address (unless ``LOYALTY_WEBHOOK_ALLOW_PRIVATE``)."""
    unknown = sorted(set(event_types) - set(EventType.values))
    if unknown or not event_types:
        raise ValidationError(
            f"Unknown event types: {', '.join(unknown)}." if unknown else "Choose at least one event type.",
            field="event_types",
        )
    http.target_resolve(url)
    return WebhookEndpoint.objects.create(
        partner=partner,
        url=url,
        event_types=sorted(set(event_types)),
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        active=active,
    )


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its deliveries and their log; nothing more is sent to it."""
    endpoint.delete()


def deliveries_create(events: list[OutboxEvent]) -> list[WebhookDelivery]:
    """The outbox consumer: one delivery per event and active endpoint subscribed to its type whose partner may
    hear of it (the member's enrolling partner, and the partner that caused the change), sent on commit."""
    from members.models import Member

    enrolled_by = dict(
        Member.objects.filter(pk__in={event.member_id for event in events} - {None}).values_list("pk", "enrolled_by")
    )
    audiences = {event.pk: {event.partner_id, enrolled_by.get(event.member_id)} - {None} for event in events}
    partner_ids = set().union(*audiences.values())
    if not partner_ids:
        return []
    endpoints = list(WebhookEndpoint.objects.filter(partner_id__in=partner_ids, active=True).order_by("pk"))
    now = timezone.now()
    deliveries = [
        WebhookDelivery(endpoint=endpoint, event=event, created_at=now, next_attempt_at=now)
        for event in events
        for endpoint in endpoints
        if endpoint.partner_id in audiences[event.pk] and event.type in endpoint.event_types
    ]
    WebhookDelivery.objects.bulk_create(deliveries)
    _send_on_commit([delivery.pk for delivery in deliveries])
    return deliveries


def delivery_resend(
    *, delivery: WebhookDelivery, resent_by=None, idempotency_key: str | None = None
) -> WebhookDelivery:
    """A new delivery of the same event to the same endpoint (the same event id: receivers de-duplicate), naming
    ``resent_by`` (the staff user), sent on commit.

    Idempotent on ``idempotency_key`` (a form's one-time token): a repeat returns the first resend and sends
    nothing more; the key used for another delivery raises ``IdempotencyConflict``. Locks the delivery resent.
    """
    key = idempotency_key or ""
    if len(key) > 64:
        raise ValidationError("An idempotency key has at most 64 characters.", field="idempotency_key")
    now = timezone.now()
    with transaction.atomic():
        lock_objects.delivery_for_update(delivery.pk)
        if key and (first := _resend_repeat(delivery, key)):
            return first
        try:
            with transaction.atomic():  # a racing repeat that committed first (no row lock on SQLite)
                resent = WebhookDelivery.objects.create(
                    endpoint_id=delivery.endpoint_id,
                    event_id=delivery.event_id,
                    created_at=now,
                    next_attempt_at=now,
                    resend_of=delivery,
                    resent_by=resent_by,
                    resend_key=key,
                )
        except IntegrityError:
            if key and (first := _resend_repeat(delivery, key)):
                return first
            raise
        _send_on_commit([resent.pk])
    return resent


def _resend_repeat(delivery: WebhookDelivery, key: str) -> WebhookDelivery | None:
    first = WebhookDelivery.objects.filter(resend_key=key).first()
    if first is not None and first.resend_of_id != delivery.pk:
        raise IdempotencyConflict("This form was used for another delivery: reload the page.")
    return first


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> WebhookAttempt | None:
    """Try a due pending delivery once and log the attempt: 2xx delivers it; otherwise it is retried after an
    exponential backoff with jitter, or failed once the retry window (``LOYALTY_WEBHOOK_RETRY_HOURS`` from its
    creation) is over. The delivery row stays locked during the request, and a locked one is skipped: safe to run
    twice at once, one attempt at a time, one success. ``None`` when there was nothing to do."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = lock_objects.delivery_due_for_update(delivery_id, now)
        if delivery is None:
            return None
        endpoint = delivery.endpoint
        if not endpoint.active:
            answer = http.Answer(None, 0, error="The endpoint is inactive.")
        else:
            body = event_body(delivery.event)
            headers = {
                "Loyalty-Signature": http.signature_header(endpoint.secret, int(now.timestamp()), body),
                "Loyalty-Event-Id": str(delivery.event_id),
                "User-Agent": "loyalty-webhooks/1",
            }
            answer = http.post(endpoint.url, body, headers)
        delivery.attempts += 1
        if answer.status_code is not None and 200 <= answer.status_code < 300:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        else:
            retry_at = now + retry_delay(delivery.attempts)
            if endpoint.active and retry_at <= delivery.created_at + timedelta(
                hours=settings.LOYALTY_WEBHOOK_RETRY_HOURS
            ):
                delivery.next_attempt_at = retry_at
            else:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        delivery.save(update_fields=["status", "attempts", "delivered_at", "next_attempt_at"])
        return WebhookAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=answer.status_code,
            latency_ms=answer.latency_ms,
            response_excerpt=answer.excerpt,
            error=answer.error,
        )


def retry_delay(attempts: int) -> timedelta:
    """After the ``attempts``-th failure: 30 s doubled each time, at most 4 h, times a jitter in [0.8, 1.2)."""
    delay = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 (spreads retries; not a secret)


def deliveries_due(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Ids of pending deliveries whose attempt is due, oldest first (the minutely beat sends them)."""
    now = now or timezone.now()
    rows = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
    return list(rows.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def event_body(event: OutboxEvent) -> bytes:
    """What the receiver reads: ``{id, type, created_at, data}`` as compact JSON (the bytes that are signed)."""
    body = {"id": str(event.pk), "type": event.type, "created_at": event.occurred_at.isoformat(), "data": event.data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def _send_on_commit(delivery_ids: list[int]) -> None:
    from .tasks import deliver

    for delivery_id in delivery_ids:
        on_commit_send(lambda delivery_id=delivery_id: deliver.delay(delivery_id))
