"""Behind reverse proxies: the login lock counts each client by its own address, and only a
configured proxy is believed about the client's address or HTTPS."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse

from loyalty.proxies import client_ip
from members.services import member_email_verify
from tests.factories.members import MemberFactory

PASSWORD = "correct-horse-battery"
PROXY = "10.0.0.1"  # every request reaches the app from the proxy
ATTACKER = "203.0.113.7"
MEMBER_ADDRESS = "198.51.100.9"


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1


@pytest.fixture
def member(db):
    return member_email_verify(member=MemberFactory(email="ada@example.com", password=PASSWORD))


def post_through_proxy(client, url, data, forwarded_for):
    return client.post(url, data, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)


def test_one_client_failing_logins_does_not_lock_out_another_client_as_the_same_member(
    client, member, behind_one_proxy, settings
):
    # given an attacker who tried wrong passwords for Ada until locked, through the proxy
    login = reverse("portal:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_through_proxy(client, login, {"username": "ada@example.com", "password": "wrong"}, ATTACKER)
    locked = post_through_proxy(client, login, {"username": "ada@example.com", "password": PASSWORD}, ATTACKER)
    assert locked.status_code == 429

    # when Ada logs in from her own address, through the same proxy
    response = post_through_proxy(client, login, {"username": "ada@example.com", "password": PASSWORD}, MEMBER_ADDRESS)

    # then she is in
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:dashboard")


def test_one_client_cannot_lock_the_admin_out_from_another_address(client, db, behind_one_proxy, settings):
    get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)
    login = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_through_proxy(client, login, {"username": "admin", "password": "wrong"}, ATTACKER)
    assert post_through_proxy(client, login, {"username": "admin", "password": PASSWORD}, ATTACKER).status_code == 429

    response = post_through_proxy(
        client, login, {"username": "admin", "password": PASSWORD, "next": "/admin/"}, "198.51.100.20"
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_a_client_cannot_escape_its_lock_by_forging_x_forwarded_for(client, member, behind_one_proxy, settings):
    # the proxy appends the real address after whatever the client sent
    login = reverse("portal:login")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        forged = f"192.0.2.{attempt}, {ATTACKER}"
        post_through_proxy(client, login, {"username": "ada@example.com", "password": "wrong"}, forged)

    response = post_through_proxy(
        client, login, {"username": "ada@example.com", "password": PASSWORD}, f"{MEMBER_ADDRESS}, {ATTACKER}"
    )

    assert response.status_code == 429


@pytest.mark.parametrize(
    ("count", "forwarded_for", "expected"),
    [
        pytest.param(0, "203.0.113.7", PROXY, id="no-proxy-configured-ignores-the-header"),
        pytest.param(1, "203.0.113.7", "203.0.113.7", id="one-proxy"),
        pytest.param(1, "192.0.2.1, 203.0.113.7", "203.0.113.7", id="one-proxy-client-forged-an-entry"),
        pytest.param(2, "192.0.2.1, 203.0.113.7, 10.0.0.2", "203.0.113.7", id="two-proxies"),
        pytest.param(2, "203.0.113.7", PROXY, id="fewer-entries-than-proxies"),
        pytest.param(1, "", PROXY, id="no-header"),
        pytest.param(1, "not-an-address", PROXY, id="garbage"),
        pytest.param(1, "203.0.113.7:51234", "203.0.113.7", id="ipv4-with-port"),
        pytest.param(1, "[2001:db8::1]:51234", "2001:db8::1", id="ipv6-with-port"),
        pytest.param(1, "2001:db8::1", "2001:db8::1", id="ipv6"),
    ],
)
def test_the_client_address_is_the_nth_entry_from_the_right(settings, count, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)

    assert client_ip(request) == expected


def test_django_axes_reads_the_address_through_the_projects_function():
    assert django_settings.AXES_CLIENT_IP_CALLABLE == "loyalty.proxies.client_ip"


def _setting_in_a_fresh_process(name: str, **env) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print(repr(settings.{name}))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "loyalty.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_x_forwarded_proto_is_not_believed_without_a_proxy():
    assert _setting_in_a_fresh_process("SECURE_PROXY_SSL_HEADER", TRUSTED_PROXY_COUNT="0") == "None"


def test_x_forwarded_proto_is_believed_from_a_configured_proxy():
    assert (
        _setting_in_a_fresh_process("SECURE_PROXY_SSL_HEADER", TRUSTED_PROXY_COUNT="1")
        == "('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_a_client_claiming_https_without_a_proxy_is_not_secure(client, db):
    request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")

    assert request.is_secure() is False
