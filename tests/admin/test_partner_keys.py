"""Partners and their API keys in the admin: created and revoked through the services, never deleted."""

import re

import pytest
from django.urls import reverse

from loyalty.ledger import services as ledger
from loyalty.partners.models import Partner, PartnerAPIKey
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory, partner_key


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Acme Stores")


def test_a_key_is_created_with_scope_checkboxes_through_the_service_and_shown_once(client, partner, staff_in):
    client.force_login(staff_in("Program manager"))
    url = reverse("admin:partners_partnerapikey_add")

    form = client.get(url).content.decode()
    response = client.post(
        url, {"partner": partner.pk, "name": "Till 1", "scopes": ["members:read", "points:adjust"]}, follow=True
    )

    assert 'type="checkbox" name="scopes" value="points:adjust"' in form
    key = PartnerAPIKey.objects.get()
    assert (key.partner, key.name, key.scopes, key.revoked) == (
        partner,
        "Till 1",
        ["members:read", "points:adjust"],
        False,
    )
    shown = [re.search(r"The new key is (\S+)\. Copy it now", str(m)) for m in response.context["messages"]]
    [clear] = [match.group(1) for match in shown if match]
    assert PartnerAPIKey.objects.get_from_key(clear) == key


def test_a_misspelt_scope_is_refused_and_nothing_is_saved(client, partner, staff_in):
    client.force_login(staff_in("Program manager"))

    response = client.post(
        reverse("admin:partners_partnerapikey_add"),
        {"partner": partner.pk, "name": "Till", "scopes": ["point:adjsut"]},
    )

    assert response.status_code == 200
    assert "scopes" in response.context["adminform"].form.errors
    assert not PartnerAPIKey.objects.exists()


def test_the_key_list_shows_scopes_and_says_revoked_or_active(client, partner, staff_in):
    client.force_login(staff_in("Analyst"))
    active, _ = partner_key(partner, scopes=["members:read"])
    revoked, _ = partner_key(partner, scopes=["points:adjust"])
    PartnerAPIKey.objects.filter(pk=revoked.pk).update(revoked=True)

    html = client.get(reverse("admin:partners_partnerapikey_changelist")).content.decode()

    assert '<span class="key-active">active</span>' in html
    assert '<span class="key-revoked">revoked</span>' in html
    assert "members:read" in html
    assert "points:adjust" in html
    assert "icon-yes.svg" not in html


def test_revoking_asks_first_then_goes_through_the_service_for_good(client, partner, staff_in):
    client.force_login(staff_in("Program manager"))
    key, _ = partner_key(partner)
    url = reverse("admin:partners_partnerapikey_revoke", args=[key.pk])

    asked = client.get(url)
    key.refresh_from_db()
    assert not key.revoked
    done = client.post(url, {"confirm": "yes"})

    assert "cannot be undone" in asked.content.decode()
    assert done.status_code == 302
    key.refresh_from_db()
    assert key.revoked


def test_the_revoke_action_asks_before_revoking_the_selected_keys(client, partner, staff_in):
    client.force_login(staff_in("Program manager"))
    keys = [partner_key(partner)[0] for _ in range(2)]
    url = reverse("admin:partners_partnerapikey_changelist")
    selected = {"action": "revoke_selected", "_selected_action": [key.pk for key in keys]}

    asked = client.post(url, selected)
    assert PartnerAPIKey.objects.filter(revoked=True).count() == 0
    done = client.post(url, {**selected, "confirm": "yes"})

    assert asked.status_code == 200
    assert done.status_code == 302
    assert PartnerAPIKey.objects.filter(revoked=True).count() == 2


def test_a_key_cannot_be_edited_to_unrevoke_it(client, partner, staff_in):
    client.force_login(staff_in("Program manager"))
    key, _ = partner_key(partner)
    PartnerAPIKey.objects.filter(pk=key.pk).update(revoked=True)

    response = client.post(reverse("admin:partners_partnerapikey_change", args=[key.pk]), {"revoked": ""})

    assert response.status_code == 403
    key.refresh_from_db()
    assert key.revoked


@pytest.mark.parametrize("group", ["Support agent", "Analyst"])
def test_only_program_managers_revoke(client, partner, staff_in, group):
    client.force_login(staff_in(group))
    key, _ = partner_key(partner)

    assert (
        client.post(reverse("admin:partners_partnerapikey_revoke", args=[key.pk]), {"confirm": "yes"}).status_code
        == 403
    )
    key.refresh_from_db()
    assert not key.revoked


def test_a_partner_with_entries_cannot_be_deleted_even_by_a_superuser(admin_client, partner):
    ledger.credit(MemberFactory().account, 10, actor=partner)

    response = admin_client.post(reverse("admin:partners_partner_delete", args=[partner.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Partner.objects.filter(pk=partner.pk).exists()


def test_partners_are_deactivated_instead(client, partner, staff_in):
    client.force_login(staff_in("Program manager"))
    partner_key(partner)

    response = client.post(
        reverse("admin:partners_partner_changelist"), {"action": "deactivate", "_selected_action": [partner.pk]}
    )

    assert response.status_code == 302
    partner.refresh_from_db()
    assert not partner.active
    assert not PartnerAPIKey.objects.get_usable_keys().exists()
