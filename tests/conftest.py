import os

import pytest
from django.core.cache import cache
from django.db import connection


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but DATABASE_URL is not PostgreSQL: this test would be skipped")
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (CI does)")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Members are enrolled with a password; the production hasher would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters live in the cache, which outlives a test."""
    cache.clear()
