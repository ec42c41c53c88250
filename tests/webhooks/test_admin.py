"""Staff register endpoints (the secret shown once), read deliveries with their attempts, and resend."""

import uuid

import pytest
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.urls import reverse

from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType
from loyalty.webhooks import services
from loyalty.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    user = User.objects.create_user("manager", password="pw-staff-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Program manager"))
    client.force_login(user)
    return user


def test_an_endpoint_is_registered_through_the_service_and_its_secret_shown_once(client, manager, allow_private):
    partner = PartnerFactory()

    response = client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"partner": partner.pk, "url": "http://127.0.0.1:9/in", "event_types": ["points.earned"], "active": "on"},
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.partner, endpoint.event_types, endpoint.secret[:6]) == (partner, ["points.earned"], "whsec_")
    assert endpoint.secret in response.content.decode()
    page = client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])).content.decode()
    assert endpoint.secret not in page
    assert endpoint.secret_masked in page


def test_a_blocked_url_is_a_form_error_and_saves_nothing(client, manager):
    response = client.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"partner": PartnerFactory().pk, "url": "http://10.0.0.1/in", "event_types": ["points.earned"]},
    )

    assert response.status_code == 200
    assert "This URL does not lead to a public address." in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_staff_resend_a_delivery_with_the_same_event(
    client, manager, allow_private, django_capture_on_commit_callbacks
):
    partner = PartnerFactory()
    endpoint = services.endpoint_create(partner=partner, url="http://127.0.0.1:9/", event_types=["points.earned"])
    member = MemberFactory(enrolled_by=partner)
    with transaction.atomic():
        event = outbox.event_record(type=EventType.POINTS_EARNED, member=member, data={})
    outbox.events_dispatch(event_ids=[event.pk])
    first = WebhookDelivery.objects.get()

    changelist = reverse("admin:webhooks_webhookdelivery_changelist")
    assert client.get(changelist, {"status__exact": "pending"}).status_code == 200
    assert client.get(reverse("admin:webhooks_webhookdelivery_change", args=[first.pk])).status_code == 200
    token = client.get(changelist).context["action_form"]["token"].value()  # new on every page
    assert token != client.get(changelist).context["action_form"]["token"].value()
    with django_capture_on_commit_callbacks() as callbacks:
        action = {"action": "resend", "_selected_action": [first.pk], "token": token}
        response = client.post(changelist, action, follow=True)

    assert "1 delivery resent." in response.content.decode()
    resent = WebhookDelivery.objects.exclude(pk=first.pk).get()
    assert (resent.event_id, resent.endpoint_id, resent.resend_of_id) == (event.pk, endpoint.pk, first.pk)
    assert len(callbacks) == 1  # its sending, enqueued on commit


def test_the_resend_action_sent_twice_from_one_page_resends_once(client, manager, allow_private):
    partner = PartnerFactory()
    services.endpoint_create(partner=partner, url="http://127.0.0.1:9/", event_types=["points.earned"])
    with transaction.atomic():
        events = [
            outbox.event_record(type=EventType.POINTS_EARNED, member=MemberFactory(enrolled_by=partner), data={})
            for _ in range(2)
        ]
    outbox.events_dispatch(event_ids=[event.pk for event in events])
    firsts = list(WebhookDelivery.objects.values_list("pk", flat=True))
    changelist = reverse("admin:webhooks_webhookdelivery_changelist")
    action = {"action": "resend", "_selected_action": firsts}

    for token in (uuid.uuid4(), None):  # a double click, then the form without its token
        client.post(changelist, {**action, "token": token} if token else action)
        client.post(changelist, {**action, "token": token} if token else action)
    assert WebhookDelivery.objects.count() == 4  # one resend each
    client.post(changelist, {**action, "token": uuid.uuid4()})  # another page: resent again
    assert WebhookDelivery.objects.count() == 6


def test_an_analyst_cannot_resend(client, allow_private):
    user = User.objects.create_user("analyst", password="pw-staff-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Analyst"))
    client.force_login(user)
    partner = PartnerFactory()
    services.endpoint_create(partner=partner, url="http://127.0.0.1:9/", event_types=["points.earned"])
    with transaction.atomic():
        event = outbox.event_record(type=EventType.POINTS_EARNED, member=MemberFactory(enrolled_by=partner), data={})
    outbox.events_dispatch(event_ids=[event.pk])
    first = WebhookDelivery.objects.get()

    client.post(
        reverse("admin:webhooks_webhookdelivery_changelist"),
        {"action": "resend", "_selected_action": [first.pk], "token": uuid.uuid4()},
    )

    assert WebhookDelivery.objects.count() == 1
