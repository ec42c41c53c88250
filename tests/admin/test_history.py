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


# Who reads the history: the historical model's view permission, which the groups hold beside the model's own


def historical_models():
    from django.apps import apps

    return [model for model in apps.get_models() if hasattr(model._meta, "simple_history_manager_attribute")]


@pytest.mark.parametrize("group", ["Program manager", "Support agent", "Analyst"])
def test_a_group_views_the_history_of_every_model_it_views_and_never_edits_it(db, group):
    from django.contrib.auth.models import Group

    held = set(Group.objects.get(name=group).permissions.values_list("content_type__app_label", "codename").order_by())
    for model in historical_models():
        opts, history = model._meta, model.history.model._meta
        views = (opts.app_label, f"view_{opts.model_name}") in held
        assert ((history.app_label, f"view_{history.model_name}") in held) == views, (group, model)
        for action in ("add", "change", "delete"):
            assert (history.app_label, f"{action}_{history.model_name}") not in held, (group, model, action)


@pytest.mark.parametrize(
    ("group", "reads"),
    [
        pytest.param("Analyst", True, id="analyst"),
        pytest.param("Program manager", True, id="program-manager"),
        pytest.param("Support agent", False, id="support-agent"),  # does not read tiers
    ],
)
def test_who_reads_a_tiers_history_page(client, tiers, staff_in, group, reads):
    client.force_login(staff_in(group))

    response = client.get(reverse("admin:tiers_tier_history", args=[tiers[0].pk]))

    assert response.status_code == (200 if reads else 403)


def test_the_history_pages_of_campaigns_partners_and_webhook_endpoints_open_for_an_analyst(client, staff_in):
    from tests.factories.campaigns import CampaignFactory
    from tests.factories.partners import PartnerFactory

    partner = PartnerFactory()
    endpoint = WebhookEndpoint.objects.create(
        partner=partner, url="https://hooks.example.com/loyalty", event_types=["points.earned"], secret="s" * 40
    )
    campaign = CampaignFactory()
    client.force_login(staff_in("Analyst"))

    pages = [
        reverse("admin:campaigns_campaign_history", args=[campaign.pk]),
        reverse("admin:partners_partner_history", args=[partner.pk]),
        reverse("admin:webhooks_webhookendpoint_history", args=[endpoint.pk]),
    ]
    assert [client.get(page).status_code for page in pages] == [200, 200, 200]


def test_the_view_permission_of_the_model_alone_does_not_open_its_history(client, tiers, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("reader", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_tier"))
    client.force_login(user)

    assert client.get(reverse("admin:tiers_tier_change", args=[tiers[0].pk])).status_code == 200
    assert client.get(reverse("admin:tiers_tier_history", args=[tiers[0].pk])).status_code == 403


@pytest.mark.parametrize("group", ["Analyst", "Program manager"])
def test_a_past_version_is_shown_and_never_saved_back(client, tiers, staff_in, group):
    silver = tiers[0]
    silver.name = "Bronze"
    silver.save()
    first = silver.history.earliest()
    client.force_login(staff_in(group))
    url = reverse("admin:tiers_tier_simple_history", args=[silver.pk, first.history_id])
    versions = silver.history.count()

    shown = client.get(url)
    posted = client.post(
        url, {"name": "Hacked", "rank": 1, "threshold": "500", "colour": "#cd7f32", "earning_multiplier": "1"}
    )

    assert shown.status_code == 200
    assert "Revert" not in shown.content.decode()
    assert posted.status_code == 403
    silver.refresh_from_db()
    assert (silver.name, silver.history.count()) == ("Bronze", versions)


def test_a_history_page_runs_a_fixed_number_of_queries(client, tiers, staff_in, django_assert_num_queries):
    silver = tiers[0]
    client.force_login(staff_in("Analyst"))
    url = reverse("admin:tiers_tier_history", args=[silver.pk])
    client.get(url)  # the content types' cache filled, as on a running site
    for changes in (1, 10):
        for number in range(changes):
            silver.name = f"Silver {number}"
            silver.save()
        # session, user, the tier, permissions (user, groups), the count, the page (its users and deltas joined)
        with django_assert_num_queries(7):
            response = client.get(url)
        assert len(response.context["page_obj"].object_list) == silver.history.count()
