"""/readyz: 200 while the database, the cache and the broker answer; 503 naming the one that does not."""

import time

import pytest
from django.db import OperationalError

from loyalty.celery import app
from tests.production.conftest import CLOSED_PORT_URL

ALL_OK = {"database": "ok", "cache": "ok", "broker": "ok"}


def test_ready_when_everything_answers(client, db):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == ALL_OK
    assert "no-cache" in response["Cache-Control"]


def broker_at(monkeypatch, url: str) -> None:
    """Celery takes CELERY_BROKER_URL from the environment before its configuration (CI's production leg sets it).

    The configuration first: monkeypatch restores what it read, which the environment would already decide.
    """
    monkeypatch.setattr(app.conf, "broker_url", url)
    monkeypatch.setenv("CELERY_BROKER_URL", url)


def test_ready_on_redis_as_in_production(client, db, redis_cache, monkeypatch):
    broker_at(monkeypatch, redis_cache)

    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (200, ALL_OK)


def test_a_cache_that_does_not_answer_is_named(client, db, settings, caplog):
    redis_cache = "django.core.cache.backends.redis.RedisCache"
    settings.CACHES = {"default": {"BACKEND": redis_cache, "LOCATION": CLOSED_PORT_URL}}

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "failed", "broker": "ok"}
    assert [(r.levelname, r.getMessage(), r.dependency) for r in caplog.records if r.name == "loyalty.health"] == [
        ("WARNING", "readyz: the cache is not reachable", "cache")
    ]


def test_a_broker_that_does_not_answer_is_named_within_seconds(client, db, monkeypatch):
    broker_at(monkeypatch, CLOSED_PORT_URL)
    started = time.monotonic()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "ok", "broker": "failed"}
    assert time.monotonic() - started < 10


def test_a_database_that_does_not_answer_is_named(client, db, monkeypatch):
    class Refusing:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("loyalty.health.connection", Refusing())

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"database": "failed", "cache": "ok", "broker": "ok"}


@pytest.mark.parametrize("path", ["/readyz", "/healthz"])
def test_probes_are_not_redirected_to_https(client, db, settings, path):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(path).status_code == 200
    assert client.get("/login/").status_code == 301
