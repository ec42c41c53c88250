import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.utils import translation


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail("REQUIRE_POSTGRES is set but DATABASE_URL is not PostgreSQL: this test would be skipped")
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (CI does)")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The suite enrols members without the sign-up bonus: its points would change every balance it counts.

    The built-in ``sign_up`` type (100 points) is made inactive once in the test database, so
    enrolment looks it up and records nothing (a transactional test's flush removes the type
    altogether, with the same effect). Tests of sign-up turn it on: the ``sign_up_bonus`` fixture.
    """
    from campaigns.models import EventType

    with django_db_blocker.unblock():
        EventType.objects.filter(code="sign_up").update(active=False)


@pytest.fixture
def sign_up_bonus(db):
    """The built-in sign-up event type as shipped (active, 100 points): enrolment credits it."""
    from campaigns.models import EventType

    EventType.objects.filter(code="sign_up").update(active=True)
    return EventType.objects.get(code="sign_up")


@pytest.fixture(scope="session", autouse=True)
def plain_http_under_production_settings():
    """Under DEBUG=False (CI's production leg) SECURE_SSL_REDIRECT answers every plain-HTTP request with 301.

    Django's test client and the browser tests' live server speak plain HTTP, as gunicorn does behind
    the proxy that ends TLS, so the redirect is turned off for the session, before the live server
    loads its middleware. Everything else of production stays on (secure cookies, HSTS, the manifest
    of static files); the tests of the redirect itself turn it on (tests/production/test_readyz.py).
    """
    if not settings.SECURE_SSL_REDIRECT:
        yield
        return
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Members are enrolled with a password; the production hasher would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters live in the cache, which outlives a test."""
    cache.clear()


@pytest.fixture(autouse=True)
def fresh_content_types(request):
    """A transactional test's flush gives the content types new ids; Django's per-process cache of them would
    make the next test's entries name a content type that no longer exists."""
    yield
    marker = request.node.get_closest_marker("django_db")
    flushed = marker is not None and marker.kwargs.get("transaction")
    if flushed or {"transactional_db", "live_server"} & set(request.fixturenames):
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def english_after_each_test():
    """A request in French activates French for the thread (LocaleMiddleware): the next test starts in English."""
    yield
    translation.activate("en")
