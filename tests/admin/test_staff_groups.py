import uuid

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.urls import reverse

from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Entry, EntryKind
from loyalty.staff_groups import sync_staff_groups
from tests.factories.members import MemberFactory


def staff_in(group_name: str) -> User:
    user = User.objects.create_user(f"{group_name.lower().replace(' ', '-')}", password="pw-staff-123", is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def account(db):
    account = MemberFactory().account
    ledger.credit(account, 100)
    return account


def adjust_url(account):
    return reverse("admin:ledger_account_adjust", args=[account.pk])


def test_the_migrations_create_the_three_staff_groups(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {"Program manager", "Support agent", "Analyst"}


def test_syncing_the_groups_with_the_projects_registry_leaves_its_apps_as_they_were(db):
    """Run with the project's own registry (tests do), the sync once left every app without a models module, so
    each later flush of a test database skipped recreating their content types and permissions."""
    before = {config.label: config.models_module for config in django_apps.get_app_configs()}

    sync_staff_groups(django_apps)

    assert {config.label: config.models_module for config in django_apps.get_app_configs()} == before
    assert Group.objects.get(name="Analyst").permissions.filter(codename="view_entry").exists()


def test_a_support_agent_adjusts_points_through_the_admin_form(client, account):
    agent = staff_in("Support agent")
    client.force_login(agent)

    response = client.post(
        adjust_url(account), {"points": "-30", "reason": "Duplicate receipt", "token": str(uuid.uuid4())}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:members_member_change", args=[account.member.pk])
    entry = Entry.objects.get(account=account, kind=EntryKind.ADJUST)
    assert (entry.amount, entry.memo, entry.actor) == (-30, "Duplicate receipt", agent)
    account.refresh_from_db()
    assert account.balance == 70
    assert audit() == []


def test_an_adjustment_beyond_the_balance_shows_the_error_and_writes_nothing(client, account):
    client.force_login(staff_in("Support agent"))

    response = client.post(adjust_url(account), {"points": "-500", "reason": "Too much", "token": str(uuid.uuid4())})

    assert response.status_code == 200
    assert "Only 100 points are available" in response.content.decode()
    assert account.entries.count() == 1
    account.refresh_from_db()
    assert account.balance == 100


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"points": "0", "reason": "x", "token": str(uuid.uuid4())}, "points"),
        ({"points": "5", "reason": "", "token": str(uuid.uuid4())}, "reason"),
        ({"points": "5", "reason": "x"}, "token"),
        ({"points": "5", "reason": "x", "token": "not-a-uuid"}, "token"),
    ],
    ids=["zero points", "no reason", "no one-time token", "a token that is not a UUID"],
)
def test_an_invalid_adjustment_is_a_form_error(client, account, data, field):
    client.force_login(staff_in("Support agent"))

    response = client.post(adjust_url(account), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert account.entries.count() == 1


def test_an_analyst_cannot_adjust_points(client, account):
    client.force_login(staff_in("Analyst"))

    member_page = reverse("admin:members_member_change", args=[account.member.pk])
    assert client.get(reverse("admin:ledger_account_change", args=[account.pk]))["Location"] == member_page
    page = client.get(member_page)
    assert page.status_code == 200
    assert "Adjust points" not in page.content.decode()
    assert (
        client.post(adjust_url(account), {"points": "10", "reason": "No", "token": str(uuid.uuid4())}).status_code
        == 403
    )
    assert account.entries.count() == 1


def test_a_support_agent_cannot_edit_the_periodic_task_rules(client, db):
    client.force_login(staff_in("Support agent"))

    assert client.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 403
    assert client.get(reverse("admin:django_celery_beat_periodictask_add")).status_code == 403


def test_a_program_manager_can_edit_the_periodic_task_rules(client, db):
    client.force_login(staff_in("Program manager"))

    assert client.get(reverse("admin:django_celery_beat_periodictask_add")).status_code == 200


def test_entries_are_read_only_in_the_admin(client, account):
    client.force_login(staff_in("Program manager"))
    entry = account.entries.get()

    response = client.post(reverse("admin:ledger_entry_change", args=[entry.pk]), {"amount": "999"})

    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.amount == 100


@pytest.mark.parametrize("group", ["Program manager", "Support agent", "Analyst"])
def test_nobody_may_delete_members_or_partners(db, group):
    user = staff_in(group)

    assert not user.has_perm("partners.delete_partner")
    assert not user.has_perm("members.delete_member")
    assert not user.has_perm("partners.delete_partnerapikey")


def test_a_program_manager_may_still_delete_periodic_tasks(db):
    assert staff_in("Program manager").has_perm("django_celery_beat.delete_periodictask")
