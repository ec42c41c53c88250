"""`check --deploy` refuses a cache that would count the rate limits per process."""

import pytest
from django.core import checks

from loyalty.checks.deploy import check_shared_cache


def _cache(backend: str, location: str = "") -> dict:
    return {"default": {"BACKEND": backend, "LOCATION": location}}


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("django.core.cache.backends.locmem.LocMemCache", id="local-memory"),
        pytest.param("django.core.cache.backends.dummy.DummyCache", id="dummy"),
        pytest.param("django.core.cache.backends.filebased.FileBasedCache", id="file"),
        pytest.param("django.core.cache.backends.db.DatabaseCache", id="database-not-atomic"),
    ],
)
def test_a_cache_not_shared_by_every_process_is_a_deploy_error(settings, backend):
    settings.CACHES = _cache(backend)

    errors = check_shared_cache()

    assert [(error.id, error.level) for error in errors] == [("loyalty.E001", checks.ERROR)]
    assert "rate limit" in errors[0].msg
    assert "CACHE_URL=redis://" in errors[0].hint


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("django.core.cache.backends.redis.RedisCache", id="redis"),
        pytest.param("django.core.cache.backends.memcached.PyMemcacheCache", id="memcached"),
    ],
)
def test_a_shared_cache_passes(settings, backend):
    settings.CACHES = _cache(backend, "redis://127.0.0.1:6379/1")

    assert check_shared_cache() == []


def test_the_check_runs_with_deploy_only(settings):
    settings.CACHES = _cache("django.core.cache.backends.locmem.LocMemCache")

    plain = checks.run_checks(tags=[checks.Tags.caches])
    deploy = checks.run_checks(tags=[checks.Tags.caches], include_deployment_checks=True)

    assert "loyalty.E001" not in [message.id for message in plain]
    assert "loyalty.E001" in [message.id for message in deploy]
