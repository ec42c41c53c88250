"""Sign-up and password reset are limited per client address: 429 with Retry-After, then recovery after the window."""

import time

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from loyalty import ratelimit
from loyalty.ratelimit import client_bucket, rate_count
from tests.factories.members import MemberFactory
from tests.members.conftest import PASSWORD

HOUR_START = 1_800_000_000 // 3600 * 3600  # a window's first second
SIGN_UP = {
    "email": "grace@example.com",
    "first_name": "Grace",
    "last_name": "Hopper",
    "password1": "a-long-enough-secret",
    "password2": "a-long-enough-secret",
    "language": "en",
}


@pytest.fixture
def frozen(monkeypatch):
    """The rate limiter's clock, stopped 10 minutes into an hour; ``frozen.now`` moves it."""

    class Clock:
        now = HOUR_START + 600

    monkeypatch.setattr(ratelimit, "clock", lambda: Clock.now)
    return Clock


def sign_up(client, n: int, **extra):
    return client.post(reverse("portal:signup"), {**SIGN_UP, "email": f"person{n}@example.com"}, **extra)


def reset(client, **extra):
    return client.post(reverse("portal:password_reset"), {"email": "ada@example.com"}, **extra)


# The counter


def test_a_window_allows_the_limit_then_refuses_until_it_ends():
    counts = [rate_count(scope="t", ident="a", limit=2, window=60, now=HOUR_START + 15) for _ in range(3)]

    assert counts == [
        ratelimit.Count(allowed=True, count=1, retry_after=45),
        ratelimit.Count(allowed=True, count=2, retry_after=45),
        ratelimit.Count(allowed=False, count=3, retry_after=45),
    ]
    assert rate_count(scope="t", ident="a", limit=2, window=60, now=HOUR_START + 60).count == 1
    assert rate_count(scope="t", ident="b", limit=2, window=60, now=HOUR_START + 15).count == 1
    assert rate_count(scope="u", ident="a", limit=2, window=60, now=HOUR_START + 15).count == 1


def test_on_the_real_clock_a_refused_client_is_let_in_by_the_next_window():
    # given a one-second window whose one hit is spent
    first = rate_count(scope="t", ident="a", limit=1, window=1)
    second = rate_count(scope="t", ident="a", limit=1, window=1)
    if second.allowed:  # the second ticked between the two calls: spend the new window
        second = rate_count(scope="t", ident="a", limit=1, window=1)

    # when the window ends (well under a second)
    time.sleep(1 - ratelimit.clock() % 1 + 0.01)

    # then the client is counted afresh
    assert (first.allowed, second.allowed, second.retry_after) == (True, False, 1)
    assert rate_count(scope="t", ident="a", limit=1, window=1) == ratelimit.Count(allowed=True, count=1, retry_after=1)


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        pytest.param("192.0.2.7", "192.0.2.7", id="ipv4"),
        pytest.param("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", id="ipv6-its-64"),
        pytest.param("::ffff:192.0.2.7", "192.0.2.7", id="ipv4-mapped"),
        pytest.param(None, "unknown", id="none"),
        pytest.param("", "unknown", id="empty"),
    ],
)
def test_a_client_is_counted_by_its_address_or_its_ipv6_64(address, bucket):
    assert client_bucket(address) == bucket


# Sign-up


def test_sign_up_answers_429_with_retry_after_past_the_limit(client, db, settings, frozen):
    settings.SIGNUP_PER_IP_PER_HOUR = 2
    users_before = get_user_model().objects.count()

    answers = [sign_up(client, n).status_code for n in range(2)]
    refused = sign_up(client, 2)

    assert answers == [302, 302]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3000"
    assert [t.name for t in refused.templates][0] == "portal/rate_limited.html"
    assert "Please try again in 50 minutes." in refused.content.decode()
    assert get_user_model().objects.count() == users_before + 2  # the refused one created nothing
    assert not get_user_model().objects.filter(email="person2@example.com").exists()


def test_reading_the_sign_up_form_is_not_counted(client, db, settings, frozen):
    settings.SIGNUP_PER_IP_PER_HOUR = 1

    for _ in range(3):
        assert client.get(reverse("portal:signup")).status_code == 200

    assert sign_up(client, 0).status_code == 302


def test_sign_up_recovers_when_the_window_ends(client, db, settings, frozen):
    settings.SIGNUP_PER_IP_PER_HOUR = 1
    sign_up(client, 0)
    assert sign_up(client, 1).status_code == 429

    frozen.now = HOUR_START + 3600

    assert sign_up(client, 2).status_code == 302
    assert get_user_model().objects.filter(email="person2@example.com").exists()


def test_another_address_is_not_limited(client, db, settings, frozen):
    settings.SIGNUP_PER_IP_PER_HOUR = 1
    sign_up(client, 0, REMOTE_ADDR="192.0.2.1")

    assert sign_up(client, 1, REMOTE_ADDR="192.0.2.1").status_code == 429
    assert sign_up(client, 2, REMOTE_ADDR="192.0.2.2").status_code == 302


def test_without_a_proxy_x_forwarded_for_is_not_believed(client, db, settings, frozen):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.SIGNUP_PER_IP_PER_HOUR = 1
    sign_up(client, 0, HTTP_X_FORWARDED_FOR="198.51.100.1")

    # a client writing another address each time is still counted by its own
    assert sign_up(client, 1, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 429


def test_behind_a_configured_proxy_clients_are_told_apart(client, db, settings, frozen):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.SIGNUP_PER_IP_PER_HOUR = 1
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    sign_up(client, 0, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)

    assert sign_up(client, 1, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy).status_code == 429
    assert sign_up(client, 2, HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy).status_code == 302
    # what the client writes left of the proxy's entry is not believed
    assert sign_up(client, 3, HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.1", **proxy).status_code == 429


def test_a_limit_of_zero_turns_it_off(client, db, settings, frozen):
    settings.SIGNUP_PER_IP_PER_HOUR = 0

    assert [sign_up(client, n).status_code for n in range(3)] == [302, 302, 302]


# Password reset


@pytest.fixture
def ada(db):
    return MemberFactory(email="ada@example.com", password=PASSWORD)


def test_password_reset_answers_429_with_retry_after_past_the_limit(client, ada, settings, frozen):
    settings.PASSWORD_RESET_PER_IP_PER_HOUR = 2
    settings.PASSWORD_RESET_EMAILS_PER_HOUR = 10

    answers = [reset(client).status_code for _ in range(2)]
    refused = reset(client)

    assert answers == [302, 302]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3000"
    assert len(mail.outbox) == 2  # the refused request sent nothing


def test_password_reset_recovers_when_the_window_ends_and_other_addresses_are_free(client, ada, settings, frozen):
    settings.PASSWORD_RESET_PER_IP_PER_HOUR = 1
    settings.PASSWORD_RESET_EMAILS_PER_HOUR = 10
    reset(client)
    assert reset(client).status_code == 429
    assert reset(client, REMOTE_ADDR="192.0.2.2").status_code == 302

    frozen.now = HOUR_START + 3600 + 1

    assert reset(client).status_code == 302
    assert len(mail.outbox) == 3


def test_sign_up_and_reset_are_counted_apart(client, ada, settings, frozen):
    settings.SIGNUP_PER_IP_PER_HOUR = 1
    settings.PASSWORD_RESET_PER_IP_PER_HOUR = 1
    sign_up(client, 0)

    assert reset(client).status_code == 302


# On Redis, as in production


def test_the_limit_is_counted_in_redis(client, ada, settings, redis_cache, frozen):
    settings.PASSWORD_RESET_PER_IP_PER_HOUR = 1
    settings.PASSWORD_RESET_EMAILS_PER_HOUR = 10

    assert reset(client).status_code == 302
    refused = reset(client)

    assert (refused.status_code, refused["Retry-After"]) == (429, "3000")
    keys = [key.decode() for key in redis.Redis.from_url(redis_cache).keys("*ratelimit:password-reset-ip:*")]
    assert keys == [f":1:ratelimit:password-reset-ip:127.0.0.1:{HOUR_START // 3600}"]
    assert 0 < redis.Redis.from_url(redis_cache).ttl(keys[0]) <= 3600
