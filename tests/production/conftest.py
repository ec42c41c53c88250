import os

import pytest
import redis

# Database 14: the Celery worker tests use 15 (tests/ledger/test_tasks.py).
REDIS_URL = os.environ.get("CACHE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
CLOSED_PORT_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens, connections are refused


@pytest.fixture
def redis_url():
    """A Redis database emptied before and after the test (REQUIRE_REDIS=1 fails instead of skipping)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("REQUIRE_REDIS"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL} (REQUIRE_REDIS=1 makes this a failure)")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture
def redis_cache(settings, redis_url):
    """The default cache on Redis, as in production."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    return redis_url
