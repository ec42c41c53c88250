"""Who created and revoked each partner API key, and when: key events named by the key's prefix, never its hash."""

import importlib

import pytest
from django.apps import apps
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from loyalty.partners.models import KeyEventAction, PartnerAPIKey, PartnerAPIKeyEvent
from loyalty.partners.services import partner_api_key_revoke, partner_create
from tests.factories.partners import PartnerFactory, partner_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Acme Stores")


def stored_text(model) -> str:
    """Every value of every row of ``model``, as text: what a reader of the table could see."""
    return str(list(model.objects.values_list()))


def test_a_key_created_and_revoked_in_the_admin_records_who_and_when_without_the_hash(client, partner, staff_in):
    manager = staff_in("Program manager")
    client.force_login(manager)

    client.post(reverse("admin:partners_partnerapikey_add"), {"partner": partner.pk, "name": "Till 1", "scopes": []})
    key = PartnerAPIKey.objects.get()
    client.post(reverse("admin:partners_partnerapikey_revoke", args=[key.pk]), {"confirm": "yes"})

    events = PartnerAPIKeyEvent.objects.order_by("pk").values_list("key_id", "partner", "action", "name", "actor")
    assert list(events) == [
        (key.prefix, partner.pk, KeyEventAction.CREATED, "Till 1", manager.pk),
        (key.prefix, partner.pk, KeyEventAction.REVOKED, "Till 1", manager.pk),
    ]
    assert key.hashed_key not in stored_text(PartnerAPIKeyEvent)
    assert key.hashed_key not in stored_text(LogEntry)  # the admin log names objects by primary key: not written


def test_revoking_twice_records_one_revocation(partner, staff_in):
    key, _clear = partner_key(partner)
    manager = staff_in("Program manager")

    first = partner_api_key_revoke(api_key=key, actor=manager)
    second = partner_api_key_revoke(api_key=PartnerAPIKey.objects.get(pk=key.pk), actor=manager)

    assert (first, second) == (True, False)
    assert list(key.events.values_list("action", flat=True).order_by("pk")) == ["created", "revoked"]


def test_a_key_made_by_a_command_names_nobody(db):
    partner, _clear = partner_create(name="Bench shop", scopes=["members:read"])

    event = PartnerAPIKeyEvent.objects.get()
    assert (event.partner, event.action, event.name, event.scopes, event.actor) == (
        partner,
        "created",
        "Bench shop key",
        ["members:read"],
        None,
    )


def test_the_keys_page_lists_its_events_to_an_analyst(client, partner, staff_in):
    manager = staff_in("Program manager", first_name="Mia", last_name="Wong")
    key, _clear = partner_key(partner)
    partner_api_key_revoke(api_key=key, actor=manager)
    client.force_login(staff_in("Analyst"))

    html = client.get(reverse("admin:partners_partnerapikey_change", args=[key.pk])).content.decode()

    assert "Created and revoked" in html
    assert "Mia Wong" in html
    assert "Nobody (a command)" in html  # the factory's key has no staff author


def test_the_key_events_list_runs_a_fixed_number_of_queries(client, partner, staff_in, django_assert_num_queries):
    manager = staff_in("Program manager")
    client.force_login(staff_in("Analyst"))
    url = reverse("admin:partners_partnerapikeyevent_changelist")

    def count_queries(keys):
        for _ in range(keys):
            key, _clear = partner_key(PartnerFactory())
            partner_api_key_revoke(api_key=key, actor=manager)
        # session, user, permissions (user, groups), count, page, the partner filter's choices
        with django_assert_num_queries(7):
            return client.get(url)

    assert len(count_queries(1).context["cl"].result_list) == 2
    assert len(count_queries(10).context["cl"].result_list) == 22


def test_nobody_adds_changes_or_deletes_a_key_event(client, partner, staff_in):
    partner_key(partner)
    event = PartnerAPIKeyEvent.objects.get()
    client.force_login(staff_in("Program manager"))

    assert client.get(reverse("admin:partners_partnerapikeyevent_add")).status_code == 403
    assert client.post(reverse("admin:partners_partnerapikeyevent_change", args=[event.pk]), {}).status_code == 403
    assert client.post(reverse("admin:partners_partnerapikeyevent_delete", args=[event.pk])).status_code == 403
    assert PartnerAPIKeyEvent.objects.count() == 1


def test_the_migration_turns_the_admin_logs_key_rows_into_events_and_drops_them(partner, staff_in):
    manager = staff_in("Program manager")
    key, _clear = partner_key(partner)
    PartnerAPIKeyEvent.objects.all().delete()  # as before the events existed
    key_type = ContentType.objects.get_for_model(PartnerAPIKey)
    for flag, message in ((ADDITION, '[{"added": {}}]'), (CHANGE, "Revoked.")):
        LogEntry.objects.create(
            user=manager,
            content_type=key_type,
            object_id=key.pk,  # prefix.hash
            object_repr="test key",
            action_flag=flag,
            change_message=message,
        )
    other = LogEntry.objects.create(
        user=manager,
        content_type=ContentType.objects.get_for_model(partner),
        object_id=str(partner.pk),
        object_repr=str(partner),
        action_flag=CHANGE,
        change_message="Deactivated.",
    )
    migration = importlib.import_module("loyalty.partners.migrations.0006_key_admin_log_to_events")

    migration.move_key_log_entries(apps, None)

    assert list(PartnerAPIKeyEvent.objects.order_by("pk").values_list("key_id", "action", "name", "actor")) == [
        (key.prefix, "created", "test key", manager.pk),
        (key.prefix, "revoked", "test key", manager.pk),
    ]
    assert list(LogEntry.objects.all()) == [other]
    assert key.hashed_key not in stored_text(LogEntry)
