"""No request to the server's own networks: checked when an endpoint is registered and at each delivery."""

import socket

import pytest
from django.db import transaction

from loyalty.exceptions import ValidationError
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType
from loyalty.webhooks import http, services
from loyalty.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory

pytestmark = pytest.mark.django_db

BLOCKED = [
    pytest.param("127.0.0.1", id="IPv4 loopback"),
    pytest.param("127.8.9.10", id="IPv4 loopback range"),
    pytest.param("::1", id="IPv6 loopback"),
    pytest.param("10.1.2.3", id="private 10/8"),
    pytest.param("172.16.0.1", id="private 172.16/12"),
    pytest.param("192.168.1.1", id="private 192.168/16"),
    pytest.param("fd00::1", id="IPv6 unique local"),
    pytest.param("169.254.169.254", id="link-local (cloud metadata)"),
    pytest.param("fe80::1", id="IPv6 link-local"),
    pytest.param("224.0.0.1", id="multicast"),
    pytest.param("ff02::1", id="IPv6 multicast"),
    pytest.param("240.0.0.1", id="reserved"),
    pytest.param("0.0.0.0", id="unspecified"),
    pytest.param("::", id="IPv6 unspecified"),
    pytest.param("::ffff:127.0.0.1", id="IPv4-mapped loopback"),
    pytest.param("::ffff:10.0.0.1", id="IPv4-mapped private"),
    pytest.param("100.64.0.1", id="shared address space"),
]


@pytest.mark.parametrize("address", BLOCKED)
def test_a_non_public_address_is_blocked(address):
    assert http.address_blocked(address) is True


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:8.8.8.8"])
def test_a_public_address_is_not(address):
    assert http.address_blocked(address) is False


def fake_dns(monkeypatch, *addresses):
    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    monkeypatch.setattr(http.socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("ftp://hooks.example.com/", "Only http and https URLs are accepted.", id="another scheme"),
        pytest.param("file:///etc/passwd", "Only http and https URLs are accepted.", id="a file"),
        pytest.param("https://user:pw@hooks.example.com/", "A URL with credentials is not accepted.", id="creds"),
        pytest.param("http://127.0.0.1:8000/", "This URL does not lead to a public address.", id="loopback"),
        pytest.param("http://[::1]/", "This URL does not lead to a public address.", id="IPv6 loopback"),
        pytest.param("http://localhost/", "This URL does not lead to a public address.", id="a name of 127.0.0.1"),
        pytest.param("http://no-such-host.invalid/", "This URL's host does not resolve.", id="no such host"),
    ],
)
def test_registering_a_blocked_url_is_refused_and_writes_nothing(url, message):
    with pytest.raises(ValidationError) as refused:
        services.endpoint_create(partner=PartnerFactory(), url=url, event_types=["points.earned"])

    assert (refused.value.message, refused.value.details) == (message, {"field": "url"})
    assert WebhookEndpoint.objects.count() == 0


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    fake_dns(monkeypatch, "93.184.215.14", "10.0.0.7")

    with pytest.raises(ValidationError):
        services.endpoint_create(
            partner=PartnerFactory(), url="https://hooks.example.com/", event_types=["tier.changed"]
        )


def test_a_public_name_is_accepted_and_connected_to_at_the_checked_address(monkeypatch):
    fake_dns(monkeypatch, "93.184.215.14")

    target = http.target_resolve("https://hooks.example.com:8443/in?x=1")

    assert target == http.Target(
        scheme="https", host="hooks.example.com", port=8443, path="/in?x=1", address="93.184.215.14"
    )


def test_a_name_that_turns_private_after_registration_gets_no_request(monkeypatch, receiver):
    # given an endpoint registered while its name resolved to a public address
    fake_dns(monkeypatch, "93.184.215.14")
    partner = PartnerFactory()
    endpoint = services.endpoint_create(
        partner=partner, url="http://hooks.example.com/", event_types=["points.earned"]
    )
    member = MemberFactory(enrolled_by=partner)
    with transaction.atomic():
        event = outbox.event_record(type=EventType.POINTS_EARNED, member=member, data={})
    outbox.events_dispatch(event_ids=[event.pk])
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)

    # when the name now resolves to the server's loopback (DNS rebinding) and the delivery is tried
    fake_dns(monkeypatch, "127.0.0.1")
    attempt = services.delivery_attempt(delivery_id=delivery.pk)

    # then nothing is sent, and the attempt says why
    assert (attempt.status_code, attempt.error) == (None, "This URL does not lead to a public address.")
    assert receiver.received == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)


def test_the_setting_allows_private_addresses(settings):
    settings.LOYALTY_WEBHOOK_ALLOW_PRIVATE = True

    endpoint = services.endpoint_create(
        partner=PartnerFactory(), url="http://127.0.0.1:9/", event_types=["points.earned"]
    )

    assert endpoint.url == "http://127.0.0.1:9/"
