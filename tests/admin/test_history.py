"""Configuration history (django-simple-history): who changed what and when, visible in the admin."""

import pytest
from django.urls import reverse

from loyalty.webhooks.models import WebhookEndpoint
from tests.factories.tiers import program_tiers


@pytest.fixture
def tiers(db):
    return program_tiers()


def test_a_tier_changed_in_the_admin_is_in_its_history_with_who_changed_it(client, tiers, staff_in):
    manager = staff_in("Program manager")
    client.force_login(manager)
    silver = tiers[0]

    response = client.post(
        reverse("admin:tiers_tier_change", args=[silver.pk]),
        {"name": "Bronze", "rank": 1, "threshold": "500", "colour": "#cd7f32", "earning_multiplier": "1"},
    )

    assert response.status_code == 302
    latest = silver.history.first()
    assert (latest.name, latest.history_type, latest.history_user) == ("Bronze", "~", manager)
    assert latest.prev_record.name == "Silver"


def test_an_analyst_reads_a_tiers_history_page(client, tiers, staff_in):
    client.force_login(staff_in("Analyst"))
    silver = tiers[0]
    silver.name = "Bronze"
    silver.save()

    response = client.get(reverse("admin:tiers_tier_history", args=[silver.pk]))

    assert response.status_code == 200
    assert "Bronze" in response.content.decode()


def test_a_webhook_endpoints_secret_is_never_in_its_history(db):
    from tests.factories.partners import PartnerFactory

    endpoint = WebhookEndpoint.objects.create(
        partner=PartnerFactory(),
        url="https://hooks.example.com/loyalty",
        event_types=["points.earned"],
        secret="s" * 40,
    )
    endpoint.url = "https://hooks.example.com/v2"
    endpoint.save()

    historical = endpoint.history.model
    assert "secret" not in {field.name for field in historical._meta.get_fields()}
    assert list(endpoint.history.values_list("url", flat=True)) == [
        "https://hooks.example.com/v2",
        "https://hooks.example.com/loyalty",
    ]
