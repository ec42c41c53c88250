"""The request id: one token that follows a request into its log records and into the Celery tasks it enqueues.

``RequestIdMiddleware`` (first in ``MIDDLEWARE``) takes ``X-Request-ID`` from the request
when it is a sane token (what a proxy or load balancer sets: a UUID, nginx's
``$request_id``), otherwise makes a new UUID4, and sends it back on the response. From the
request's start until its response is closed it is in ``current`` (a context variable):
every log record carries it (loyalty/logging.py), and every task published meanwhile
carries it in a message header that the worker puts back into ``current`` while the task
runs (loyalty/celery.py).
"""

import re
import uuid
from contextvars import ContextVar

from django.core.signals import request_finished
from django.dispatch import receiver

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
# Letters, digits and . _ : - only, up to 128: no spaces, quotes or line breaks reach the logs.
SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

current: ContextVar[str | None] = ContextVar("request_id", default=None)


def sane(value: object) -> str | None:
    """``value`` if it is a token fit for the logs, else None."""
    return value if isinstance(value, str) and SANE.fullmatch(value) else None


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = sane(request.headers.get(HEADER)) or str(uuid.uuid4())
        request.request_id = request_id
        current.set(request_id)  # until the response is closed: Django logs 4xx and 5xx after the middleware
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


@receiver(request_finished)
def _request_finished(**kwargs):
    current.set(None)
