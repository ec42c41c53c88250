"""The portal account: the e-mail proved by a link, activation, statuses at log-in, closing and the data download."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, EntryKind
from members.models import Member, MemberStatus, MemberStatusChange
from members.services import member_enroll, member_status_change
from members.tokens import account_token_make
from tests.factories.members import MemberFactory
from tests.helpers import ledger_state
from tests.members.conftest import PASSWORD

SIGN_UP = {
    "email": "grace@example.com",
    "first_name": "Grace",
    "last_name": "Hopper",
    "password1": "a-long-enough-secret",
    "password2": "a-long-enough-secret",
    "language": "en",
}


@pytest.fixture
def mails(django_capture_on_commit_callbacks):
    """Run an action and send the e-mails its transactions queued on commit; return what the action returned."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def link_in(message, path: str) -> str:
    return re.search(rf"http://testserver(/{path}/\S+/)", message.body).group(1)


def without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def log_in(client, email: str, password: str):
    return client.post(reverse("portal:login"), {"username": email, "password": password})


# Sign-up and the confirmation link


def test_a_new_member_logs_in_only_after_following_the_link(client, db, mails):
    mails(lambda: client.post(reverse("portal:signup"), SIGN_UP))
    refused = log_in(client, "grace@example.com", SIGN_UP["password1"])

    assert refused.status_code == 200
    assert refused.context["form"].non_field_errors() == [
        "Confirm your e-mail first: follow the link we sent to this address when you joined. "
        "Nothing arrived? Get a new link."
    ]
    assert reverse("portal:confirm_request") in refused.content.decode()
    assert "_auth_user_id" not in client.session

    link = link_in(mail.outbox[0], "confirm")
    page = client.get(link)
    assert page.status_code == 200
    assert Member.objects.get().email_verified_at is None  # opening the link (a mail scanner) does nothing
    confirmed = client.post(link)

    assert confirmed["Location"] == reverse("portal:login")
    assert Member.objects.get().email_verified_at is not None
    assert log_in(client, "grace@example.com", SIGN_UP["password1"])["Location"] == reverse("portal:dashboard")


def test_an_unconfirmed_member_with_a_wrong_password_is_told_only_that_it_is_wrong(client, db, mails):
    mails(lambda: client.post(reverse("portal:signup"), SIGN_UP))

    response = log_in(client, "grace@example.com", "not-the-password")

    assert response.context["form"].non_field_errors() == [
        "This e-mail and password do not match. The password is case-sensitive."
    ]


def test_the_confirmation_link_works_once(client, db, mails):
    mails(lambda: client.post(reverse("portal:signup"), SIGN_UP))
    link = link_in(mail.outbox[0], "confirm")
    client.post(link)
    first = Member.objects.get().email_verified_at

    again = client.post(link)

    assert again.status_code == 400
    assert b"This link no longer works" in again.content
    assert Member.objects.get().email_verified_at == first


def test_an_expired_link_is_refused(client, db, mails, settings):
    mails(lambda: client.post(reverse("portal:signup"), SIGN_UP))
    settings.ACCOUNT_LINK_MAX_AGE = -1

    response = client.post(link_in(mail.outbox[0], "confirm"))

    assert response.status_code == 400
    assert Member.objects.get().email_verified_at is None


@pytest.mark.parametrize("token", ["forged", "eyJ1IjoxfQ:1abc:xyz", "a" * 300], ids=["word", "bad-signature", "long"])
def test_a_forged_link_is_refused(client, member, token):
    for name in ("portal:confirm", "portal:activate"):
        response = client.post(reverse(name, kwargs={"token": token}), {"new_password1": "x", "new_password2": "x"})
        assert response.status_code == 400


def test_a_confirmation_link_cannot_set_a_password(client, db):
    member = member_enroll(email="eve@example.com", password="eves-own-secret")
    token = account_token_make(member=member, purpose="confirm")

    response = client.post(
        reverse("portal:activate", kwargs={"token": token}),
        {"new_password1": "a-brand-new-secret", "new_password2": "a-brand-new-secret"},
    )

    assert response.status_code == 400
    member.user.refresh_from_db()
    assert member.user.check_password("eves-own-secret")


def test_signing_up_with_an_unconfirmed_address_neither_takes_it_over_nor_tells(client, db, mails):
    mails(lambda: client.post(reverse("portal:signup"), SIGN_UP))
    owner = Member.objects.select_related("user").get()
    new_page = without_csrf(client.get(reverse("portal:signup_sent")))
    mail.outbox.clear()

    response = mails(
        lambda: client.post(
            reverse("portal:signup"),
            {
                **SIGN_UP,
                "email": "GRACE@example.com",
                "first_name": "Mallory",
                "password1": "mallorys-secret-1",
                "password2": "mallorys-secret-1",
            },
        )
    )

    assert response["Location"] == reverse("portal:signup_sent")
    assert without_csrf(client.get(response["Location"])) == new_page
    owner.user.refresh_from_db()
    assert (owner.user.first_name, owner.user.check_password(SIGN_UP["password1"])) == ("Grace", True)
    assert Member.objects.count() == 1
    assert [(message.to, message.subject) for message in mail.outbox] == [
        (["grace@example.com"], "You already have a loyalty account")
    ]
    assert "mallorys-secret-1" not in mail.outbox[0].body
    assert log_in(client, "grace@example.com", "mallorys-secret-1").status_code == 200


def test_the_owner_of_a_known_address_can_choose_a_password_from_the_mail(client, db, mails):
    mails(lambda: client.post(reverse("portal:signup"), SIGN_UP))
    mail.outbox.clear()
    mails(lambda: client.post(reverse("portal:signup"), SIGN_UP))

    response = client.post(
        link_in(mail.outbox[0], "activate"),
        {"new_password1": "the-owners-new-secret", "new_password2": "the-owners-new-secret"},
    )

    assert response["Location"] == reverse("portal:dashboard")
    assert Member.objects.get().email_verified_at is not None


def test_resending_the_link_sends_a_new_one_and_says_the_same_for_an_unknown_address(client, db, mails):
    mails(lambda: client.post(reverse("portal:signup"), SIGN_UP))
    mail.outbox.clear()

    known = mails(lambda: client.post(reverse("portal:confirm_request"), {"email": "Grace@Example.com"}))
    unknown = mails(lambda: client.post(reverse("portal:confirm_request"), {"email": "nobody@example.com"}))

    assert known["Location"] == unknown["Location"] == reverse("portal:access_link_sent")
    assert [message.to for message in mail.outbox] == [["grace@example.com"]]
    client.post(link_in(mail.outbox[0], "confirm"))
    assert Member.objects.get().email_verified_at is not None


def test_account_emails_to_one_address_are_capped_per_hour(client, db, mails, settings):
    mails(lambda: client.post(reverse("portal:signup"), SIGN_UP))

    for _ in range(settings.ACCOUNT_EMAILS_PER_HOUR + 2):
        response = mails(lambda: client.post(reverse("portal:confirm_request"), {"email": "grace@example.com"}))
        assert response["Location"] == reverse("portal:access_link_sent")

    assert len(mail.outbox) == settings.ACCOUNT_EMAILS_PER_HOUR


# Activation of a member enrolled by a partner


def test_a_member_enrolled_by_a_partner_activates_the_portal_by_email(client, db, mails):
    enrolled = member_enroll(email="lin@example.com", first_name="Lin", language="fr")
    assert log_in(client, "lin@example.com", "").status_code == 200

    response = mails(lambda: client.post(reverse("portal:activate_request"), {"email": "lin@example.com"}))
    assert response["Location"] == reverse("portal:access_link_sent")
    assert mail.outbox[0].to == ["lin@example.com"]
    link = link_in(mail.outbox[0], "activate")
    form = client.get(link)
    assert 'autocomplete="new-password"' in form.content.decode()
    done = client.post(link, {"new_password1": "lins-chosen-secret", "new_password2": "lins-chosen-secret"})

    assert done["Location"] == reverse("portal:dashboard")
    assert client.get(reverse("portal:dashboard")).context["member"] == enrolled
    enrolled.refresh_from_db()
    assert enrolled.email_verified_at is not None
    assert (
        client.post(link, {"new_password1": "x-other-secret-9", "new_password2": "x-other-secret-9"}).status_code
        == 400
    )


def test_activation_says_the_same_and_sends_nothing_for_unknown_closed_or_staff_addresses(client, db, mails):
    closed = member_enroll(email="gone@example.com", password="gone-secret-123")
    member_status_change(member=closed, status=MemberStatus.CLOSED, reason="Left", actor=None)
    get_user_model().objects.create_user("staff@example.com", "staff@example.com", "x", is_staff=True)

    answers = {
        email: mails(lambda email=email: client.post(reverse("portal:activate_request"), {"email": email}))["Location"]
        for email in ("nobody@example.com", "gone@example.com", "staff@example.com")
    }

    assert set(answers.values()) == {reverse("portal:access_link_sent")}
    assert mail.outbox == []


def test_a_weak_password_on_activation_is_a_form_error(client, db):
    enrolled = member_enroll(email="lin@example.com")
    link = reverse("portal:activate", kwargs={"token": account_token_make(member=enrolled, purpose="activate")})

    response = client.post(link, {"new_password1": "1234", "new_password2": "1234"})

    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"][0].startswith("This password is too short.")
    enrolled.user.refresh_from_db()
    assert not enrolled.user.has_usable_password()


# Statuses at the portal


def test_a_closed_member_is_answered_like_a_wrong_password(client, member):
    member_status_change(member=member, status=MemberStatus.CLOSED, reason="Asked by phone", actor=None)

    right = log_in(client, "ada@example.com", PASSWORD)
    wrong = log_in(client, "ada@example.com", "wrong")

    assert right.status_code == wrong.status_code == 200
    assert right.context["form"].non_field_errors() == wrong.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_a_session_of_a_member_closed_meanwhile_ends_at_the_next_request(client, member):
    assert log_in(client, "ada@example.com", PASSWORD)["Location"] == reverse("portal:dashboard")
    assert client.get(reverse("portal:dashboard")).status_code == 200

    member_status_change(member=member, status=MemberStatus.CLOSED, reason="Fraud", actor=None)
    response = client.get(reverse("portal:dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


@pytest.mark.parametrize("name", ["portal:dashboard", "portal:history", "portal:profile"])
def test_a_suspended_member_logs_in_and_looks_with_a_notice_that_points_are_paused(client, member, name):
    ledger.credit(member.account, 1945, memo="before the suspension")
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Fraud check", actor=None)
    assert log_in(client, "ada@example.com", PASSWORD)["Location"] == reverse("portal:dashboard")

    response = client.get(reverse(name))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Your account is suspended." in html
    assert "Earning and spending points are paused for now" in html


def test_an_active_member_sees_no_suspension_notice(member_client):
    assert "Your account is suspended." not in member_client.get(reverse("portal:dashboard")).content.decode()


# Closing the account from the profile


@pytest.fixture
def rich_member(member):
    ledger.credit(member.account, 1200, memo="purchase")
    ledger.credit(member.account, 50, available_at=timezone.now() + timedelta(days=3), memo="pending")
    return member


def test_the_close_page_says_how_many_points_are_lost_before_confirming(member_client, rich_member):
    response = member_client.get(reverse("portal:profile_close"))

    html = response.content.decode()
    assert "Closing your account is final. Your 1,250 points will be lost" in html
    assert "This counts your 50 pending points too." in html
    assert 'autocomplete="current-password"' in html


def test_closing_the_account_forfeits_the_points_records_why_and_logs_out(member_client, rich_member):
    response = member_client.post(
        reverse("portal:profile_close"), {"password": PASSWORD, "reason": "Moving abroad", "confirm": "on"}
    )

    assert response["Location"] == reverse("portal:login")
    rich_member.refresh_from_db()
    rich_member.account.refresh_from_db()
    assert rich_member.status == MemberStatus.CLOSED
    assert (rich_member.account.balance, rich_member.account.pending) == (0, 0)
    change = MemberStatusChange.objects.get()
    assert (change.from_status, change.to_status, change.reason, change.actor_id) == (
        "active",
        "closed",
        "Moving abroad",
        rich_member.user_id,
    )
    forfeit = Entry.objects.get(kind=EntryKind.FORFEIT)
    assert (forfeit.amount, forfeit.memo) == (-1250, "Moving abroad")
    assert "_auth_user_id" not in member_client.session
    login_page = member_client.get(response["Location"])
    assert "Your account is closed." in login_page.content.decode()
    assert log_in(member_client, "ada@example.com", PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"password": "wrong", "reason": "Bye", "confirm": "on"}, "password", "This is not your password."),
        ({"password": PASSWORD, "reason": "", "confirm": "on"}, "reason", "This field is required."),
        ({"password": PASSWORD, "reason": "Bye"}, "confirm", "This field is required."),
        ({"password": PASSWORD, "reason": "x" * 256, "confirm": "on"}, "reason", "Ensure this value has at most 255"),
    ],
    ids=["wrong-password", "no-reason", "not-confirmed", "reason-too-long"],
)
def test_closing_without_the_password_a_reason_and_the_confirmation_changes_nothing(
    member_client, rich_member, data, field, message
):
    before = ledger_state(rich_member.account)

    response = member_client.post(reverse("portal:profile_close"), data)

    assert response.status_code == 200
    assert response.context["form"].errors[field][0].startswith(message)
    rich_member.refresh_from_db()
    assert rich_member.status == MemberStatus.ACTIVE
    assert ledger_state(rich_member.account) == before
    assert not MemberStatusChange.objects.exists()
    assert "_auth_user_id" in member_client.session


# Downloading all the data


def test_the_data_download_holds_profile_status_history_account_lots_and_every_entry(member_client, member, settings):
    settings.TIME_ZONE = "Europe/Paris"
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Check", actor=None)
    member_status_change(member=member, status=MemberStatus.ACTIVE, reason="Checked", actor=None)
    earned = ledger.credit(member.account, 100, expires_on=timezone.localdate() + timedelta(days=30), memo="buy")
    spent = ledger.debit(member.account, 30, memo="coffee")
    other = MemberFactory()
    ledger.credit(other.account, 5, memo="not ada's")

    response = member_client.get(reverse("portal:profile_data"))

    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="loyalty-data-{member.member_number}-')
    data = json.loads(b"".join(response.streaming_content))
    assert set(data) == {
        "exported_at", "time_zone", "profile", "status_history", "account", "lots", "badges", "leaderboards", "entries"
    }  # fmt: skip
    assert data["time_zone"] == "Europe/Paris"
    assert data["profile"]["email"] == "ada@example.com"
    assert (data["profile"]["first_name"], data["profile"]["status"]) == ("Ada", "active")
    assert [(row["from"], row["to"], row["reason"], row["by"]) for row in data["status_history"]] == [
        ("active", "suspended", "Check", "system"),
        ("suspended", "active", "Checked", "system"),
    ]
    assert data["account"] == {
        "balance": 70,
        "pending": 0,
        "lifetime_earned": 100,
        "lifetime_spent": 30,
        "lifetime_expired": 0,
    }
    assert [(lot["entry"], lot["points"], lot["remaining"]) for lot in data["lots"]] == [(earned.pk, 100, 70)]
    assert [
        (row["id"], row["kind"], row["points"], row["balance_after"], row["reason"]) for row in data["entries"]
    ] == [
        (earned.pk, "earn", 100, 100, "buy"),
        (spent.pk, "redeem", -30, 70, "coffee"),
    ]
    assert data["entries"][0]["at"].endswith(("+01:00", "+02:00"))


def test_the_data_download_of_a_new_member_is_valid_json(member_client):
    data = json.loads(b"".join(member_client.get(reverse("portal:profile_data")).streaming_content))

    assert (data["lots"], data["entries"], data["status_history"]) == ([], [], [])


def test_a_password_reset_link_proves_the_email_too(client, db, mails):
    mails(lambda: client.post(reverse("portal:signup"), SIGN_UP))
    client.post(reverse("portal:password_reset"), {"email": "grace@example.com"})
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[-1].body).group(1)
    form = client.get(link, follow=True)

    new_password = {"new_password1": "a-new-long-secret", "new_password2": "a-new-long-secret"}
    client.post(form.redirect_chain[-1][0], new_password)

    assert Member.objects.get().email_verified_at is not None
    assert log_in(client, "grace@example.com", "a-new-long-secret")["Location"] == reverse("portal:dashboard")
