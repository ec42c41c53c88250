"""Probes: ``/healthz`` (the process answers) and ``/readyz`` (it can serve: database, cache and broker reachable).

A load balancer sends traffic to an instance while ``/readyz`` answers 200
``{"database": "ok", "cache": "ok", "broker": "ok"}``; with 503 the body names what failed
(``"failed"``), and the log says why. Each check gives up within seconds (the broker's
connection after ``BROKER_TIMEOUT``, a Redis cache by its socket timeouts in settings), so a
probe never hangs on a dead dependency.
"""

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)
BROKER_TIMEOUT = 2  # seconds


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    key, value = f"readyz:{uuid.uuid4().hex}", "ok"
    cache.set(key, value, timeout=10)
    if cache.get(key) != value:
        raise RuntimeError("the cache did not return what was just stored")
    cache.delete(key)


def _broker() -> None:
    from loyalty.celery import app

    with app.connection_for_write(connect_timeout=BROKER_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)


CHECKS = {"database": _database, "cache": _cache, "broker": _broker}


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:  # any failure means "not ready", whatever raised it
            logger.warning("readyz: the %s is not reachable", name, exc_info=True, extra={"dependency": name})
            results[name] = "failed"
        else:
            results[name] = "ok"
    ready = all(result == "ok" for result in results.values())
    return JsonResponse(results, status=200 if ready else 503)
