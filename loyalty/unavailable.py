"""A Redis that does not answer (the cache or the broker, while it restarts): 503 with ``Retry-After``, not 500.

The API's limit per key, the portal's limits per address and the e-mail budgets count in the
cache; while it is down a request cannot be counted, so it is refused (fail closed) with an
answer a client knows to retry. The request wrote nothing: the counters come before any
service, and tasks are enqueued after commit without raising (``loyalty.celery.on_commit_send``).
The API's exception handler (loyalty/partners/rest.py) answers in its JSON; every other page
goes through ``server_error``, the site's ``handler500``.
"""

import sys

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeout

SERVICE_DOWN = (RedisConnectionError, RedisTimeout, BrokerUnavailable)
RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: Django calls it while handling the exception, so ``sys.exception()`` is the error."""
    if isinstance(sys.exception(), SERVICE_DOWN):  # no context processors: they may need what is down
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return defaults.server_error(request)
