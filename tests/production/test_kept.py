"""Values kept in the cache (loyalty/kept.py): a cache that does not answer is read past, never raised."""

import pytest
from django.core.cache import cache
from django.db import transaction

from loyalty.kept import forget, kept

pytestmark = pytest.mark.django_db

CLOSED_PORT = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1"}
}


def test_a_value_is_loaded_once_then_kept_until_forgotten():
    loads = []

    def load():
        loads.append(1)
        return {"unit": "day"}

    assert kept("test:kept", load, 60) == kept("test:kept", load, 60) == {"unit": "day"}
    assert len(loads) == 1
    forget("test:kept")
    assert cache.get("test:kept") is None


def test_a_cache_that_does_not_answer_gives_the_database_s_value(settings):
    settings.CACHES = CLOSED_PORT

    assert kept("test:kept", lambda: 42, 60) == 42
    with transaction.atomic():
        forget("test:kept")  # logged, not raised; the hook on commit neither
