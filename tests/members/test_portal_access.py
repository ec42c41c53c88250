"""Who may see which portal page: anonymous users log in first, a member sees only their own points."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from loyalty.ledger import services as ledger
from tests.factories.members import MemberFactory

MEMBER_PAGES = ["portal:dashboard", "portal:card", "portal:history", "portal:history_csv", "portal:profile"]


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_an_anonymous_visitor_is_sent_to_log_in(client, db, name):
    url = reverse(name)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('portal:login')}?next={url}"


@pytest.mark.parametrize("name", MEMBER_PAGES)
def test_a_staff_login_without_membership_is_told_so(client, db, name):
    staff = get_user_model().objects.create_user("staff", "staff@example.com", "x", is_staff=True)
    client.force_login(staff)

    response = client.get(reverse(name))

    assert response.status_code == 403
    assert b"This login has no membership" in response.content


def test_a_member_sees_only_their_own_entries(member_client, member):
    other = MemberFactory()
    ledger.credit(member.account, 10, memo="mine")
    ledger.credit(other.account, 20, memo="someone else's")

    pages = [member_client.get(reverse(name)) for name in ("portal:dashboard", "portal:history")]
    csv = b"".join(member_client.get(reverse("portal:history_csv")).streaming_content)

    for content in [page.content for page in pages] + [csv]:
        assert b"mine" in content
        assert b"someone else" not in content


@pytest.mark.parametrize(
    "name",
    ["portal:login", "portal:signup", "portal:password_reset", "portal:profile", "portal:language", "portal:logout"],
)
def test_every_form_refuses_a_post_without_a_csrf_token(db, member, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member.user)

    response = client.post(reverse(name), {"language": "fr", "first_name": "Eve", "last_name": "X"})

    assert response.status_code == 403
    assert b"This form has expired" in response.content
    member.refresh_from_db()
    assert member.language == "en"


def test_logging_out_takes_a_post_and_ends_the_session(member_client):
    assert member_client.get(reverse("portal:logout")).status_code == 405

    response = member_client.post(reverse("portal:logout"))

    assert response["Location"] == reverse("portal:login")
    assert member_client.get(reverse("portal:dashboard")).status_code == 302
