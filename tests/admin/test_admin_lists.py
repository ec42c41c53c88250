"""The admin's list pages: bad filters never answer 500, member numbers are checked, entries read well."""

import pytest
from django.urls import reverse

from loyalty.ledger import services as ledger
from loyalty.ledger.admin import CauseFilter
from loyalty.ledger.models import Entry
from members.models import MemberStatus
from members.services import member_status_change
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory


@pytest.fixture
def member(db):
    member = MemberFactory(first_name="Ada", last_name="Lovelace")
    ledger.credit(member.account, 100)
    return member


def mistyped(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/members/member/?joined_at__year=99999",
        "/admin/members/member/?status=%00",
        "/admin/members/member/?q=%00",
        "/admin/members/member/?joined_at__gte=%00",
        "/admin/ledger/entry/?kind=%00",
        "/admin/ledger/entry/?created_at__year=99999",
        "/admin/ledger/entry/?cause=%00",
        "/admin/ledger/lot/?expires_on__year=99999",
        "/admin/ledger/lot/?expires_on__gte=99999-01-01",
        "/admin/partners/partner/?name=%00",
        "/admin/partners/partnerapikey/?revoked__exact=%00",
        "/admin/django_celery_beat/periodictask/?name%00=x",
        "/admin/auth/user/?username=%00",
    ],
)
def test_a_list_filter_that_cannot_apply_sends_back_to_the_whole_list(admin_client, member, url):
    response = admin_client.get(url)

    assert response.status_code == 302
    assert response["Location"] == url.split("?")[0]
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert [str(m) for m in page.context["messages"]] == ["These filters cannot be applied; here is the whole list."]


@pytest.mark.parametrize(
    "changelist", ["members_member", "ledger_account", "ledger_entry", "ledger_lot"], ids=lambda name: name
)
def test_a_typed_member_number_with_a_wrong_check_digit_says_a_digit_is_mistyped(admin_client, member, changelist):
    url = reverse(f"admin:{changelist}_changelist")

    found = admin_client.get(url, {"q": member.member_number})
    spaced = admin_client.get(url, {"q": f" {member.member_number[:5]} {member.member_number[5:]} "})
    typo = admin_client.get(url, {"q": mistyped(member.member_number)})

    assert found.context["cl"].result_count == spaced.context["cl"].result_count == 1
    assert typo.context["cl"].result_count == 0
    assert [str(m) for m in typo.context["messages"]] == [
        f"{mistyped(member.member_number)} is not a member number: a digit is mistyped."
    ]


def test_a_name_or_part_of_a_number_still_searches_as_text(admin_client, member):
    url = reverse("admin:members_member_changelist")

    assert admin_client.get(url, {"q": "Lovelace"}).context["cl"].result_count == 1
    assert admin_client.get(url, {"q": member.member_number[:6]}).context["cl"].result_count == 1


def test_the_cause_filter_offers_the_causes_not_every_table(admin_client, member):
    response = admin_client.get(reverse("admin:ledger_entry_changelist"))

    cause_filter = next(spec for spec in response.context["cl"].filter_specs if isinstance(spec, CauseFilter))
    assert [title for _value, title in cause_filter.lookup_choices] == [
        "None",
        "Adjustment",
        "Expiry run",
        "Entry",
        "Member status change",
        "Gift",
        "Referral",
        "Purchase",
        "Event",
        "Points payment",
    ]


def test_the_cause_filter_finds_the_forfeit_of_a_closed_account(admin_client, member, django_user_model):
    manager = django_user_model.objects.get(username="admin")
    member_status_change(member=member, status=MemberStatus.CLOSED, reason="Asked to", actor=manager)

    response = admin_client.get(reverse("admin:ledger_entry_changelist"), {"cause": "members.memberstatuschange"})

    assert [entry.kind for entry in response.context["cl"].result_list] == ["forfeit"]


def test_entries_show_who_made_them_by_name(admin_client, member, django_user_model):
    agent = django_user_model.objects.create_user("jo", first_name="Jo", last_name="March", is_staff=True)
    ledger.adjust(member.account, 5, reason="Goodwill", actor=agent)
    ledger.credit(member.account, 7, actor=PartnerFactory(name="Acme Stores"))

    html = admin_client.get(reverse("admin:ledger_entry_changelist")).content.decode()

    assert "Jo March (staff)" in html
    assert "Acme Stores" in html
    assert "System" in html
    assert "Authentication and Authorization | user" not in html


def entries_list_queries(admin_client, django_assert_num_queries, expected):
    url = reverse("admin:ledger_entry_changelist")
    admin_client.get(url)
    with django_assert_num_queries(expected):
        assert admin_client.get(url).status_code == 200


def test_the_entries_list_runs_a_fixed_number_of_queries(
    admin_client, member, django_user_model, django_assert_num_queries
):
    agent = django_user_model.objects.create_user("jo", is_staff=True)
    partner = PartnerFactory()
    ledger.adjust(member.account, 5, reason="Goodwill", actor=agent)
    ledger.credit(member.account, 7, actor=partner)
    # session, user, count, page, its actors (partners, users), the date hierarchy (range, dates)
    entries_list_queries(admin_client, django_assert_num_queries, 8)

    for n in range(40):
        ledger.credit(MemberFactory().account, n + 1, actor=partner if n % 2 else agent)
    entries_list_queries(admin_client, django_assert_num_queries, 8)


def test_the_member_list_runs_a_fixed_number_of_queries(admin_client, member, django_assert_num_queries):
    url = reverse("admin:members_member_changelist")
    admin_client.get(url)
    with django_assert_num_queries(4):  # session, user, count, page
        admin_client.get(url)
    MemberFactory.create_batch(30)
    with django_assert_num_queries(4):
        admin_client.get(url)


def test_an_entry_page_links_to_its_member_and_to_its_reversal(admin_client, member):
    entry = Entry.objects.get()

    html = admin_client.get(reverse("admin:ledger_entry_change", args=[entry.pk])).content.decode()

    assert reverse("admin:members_member_change", args=[member.pk]) in html
    assert reverse("admin:ledger_entry_reverse", args=[entry.pk]) in html
