"""Sign-up, log-in with throttling, and password reset through the portal."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from members.models import Member
from members.services import member_email_verify
from tests.members.conftest import PASSWORD

SIGN_UP = {
    "email": "Grace@Example.com",
    "first_name": "Grace",
    "last_name": "Hopper",
    "password1": "a-long-enough-secret",
    "password2": "a-long-enough-secret",
    "language": "fr",
    "marketing_consent": "on",
}


def test_signing_up_enrols_a_member_who_must_confirm_the_email_before_logging_in(
    client, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:signup"), SIGN_UP)

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:signup_sent")
    member = Member.objects.select_related("user", "account").get()
    assert (member.user.username, member.user.email) == ("grace@example.com", "Grace@example.com")
    assert (member.language, member.marketing_consent, member.account.balance) == ("fr", True, 0)
    assert member.email_verified_at is None
    assert response.cookies["django_language"].value == "fr"
    assert "_auth_user_id" not in client.session
    assert [message.to for message in mail.outbox] == [["Grace@example.com"]]


def test_signing_up_with_a_known_email_looks_the_same_and_mails_the_owner(
    client, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:signup"), {**SIGN_UP, "email": "ADA@example.com"})

    assert response["Location"] == reverse("portal:signup_sent")
    assert Member.objects.count() == 1
    assert [message.to for message in mail.outbox] == [["ada@example.com"]]
    assert mail.outbox[0].subject == "You already have a loyalty account"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"password2": "something-else-entirely"}, "password2", "The two passwords differ."),
        ({"password1": "1234", "password2": "1234"}, "password1", "This password is too short."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"first_name": ""}, "first_name", "This field is required."),
    ],
    ids=["passwords-differ", "weak-password", "bad-email", "missing-name"],
)
def test_bad_sign_up_input_is_shown_on_its_field(client, db, change, field, message):
    response = client.post(reverse("portal:signup"), {**SIGN_UP, **change})

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Member.objects.exists()
    assert not get_user_model().objects.exists()


def test_logging_in_ignores_the_case_of_the_email_and_applies_the_members_language(client, member):
    member.language = "fr"
    member.save()

    response = client.post(reverse("portal:login"), {"username": "ADA@Example.COM", "password": PASSWORD})

    assert response["Location"] == reverse("portal:dashboard")
    assert response.cookies["django_language"].value == "fr"


def test_a_wrong_password_is_a_form_error(client, member):
    response = client.post(reverse("portal:login"), {"username": "ada@example.com", "password": "wrong"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "This e-mail and password do not match. The password is case-sensitive."
    ]
    assert "_auth_user_id" not in client.session


def test_an_email_too_long_for_a_login_is_a_form_error(client, db):
    email = "a" * 140 + "@example.com"

    response = client.post(reverse("portal:signup"), {**SIGN_UP, "email": email})

    assert response.context["form"].errors["email"] == ["Ensure this value has at most 150 characters (it has 152)."]
    assert not Member.objects.exists()


def test_an_email_with_compatibility_characters_logs_in_as_it_signed_up(client, db):
    client.post(reverse("portal:signup"), {**SIGN_UP, "email": "ada@\ufb01rm.com"})
    member_email_verify(member=Member.objects.get())

    response = client.post(reverse("portal:login"), {"username": "ada@\ufb01rm.com", "password": SIGN_UP["password1"]})

    assert Member.objects.get().user.username == "ada@firm.com"
    assert response["Location"] == reverse("portal:dashboard")


def fail_to_log_in(client, times: int, address: str = "10.0.0.1") -> None:
    for _ in range(times):
        client.post(reverse("portal:login"), {"username": "Ada@example.com", "password": "wrong"}, REMOTE_ADDR=address)


def test_too_many_wrong_passwords_lock_the_email_out_even_with_the_right_one(client, member, settings):
    fail_to_log_in(client, settings.AXES_FAILURE_LIMIT)

    response = client.post(
        reverse("portal:login"), {"username": "ada@example.com", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )

    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert client.get(reverse("portal:dashboard")).status_code == 302


def test_the_admin_login_shares_the_lock(client, member, settings):
    fail_to_log_in(client, settings.AXES_FAILURE_LIMIT)

    response = client.post(
        reverse("admin:login"), {"username": "ada@example.com", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )

    assert response.status_code == 429


def test_the_lock_holds_one_email_from_one_address_only(client, member, settings):
    fail_to_log_in(client, settings.AXES_FAILURE_LIMIT)

    response = client.post(
        reverse("portal:login"), {"username": "ada@example.com", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2"
    )

    assert response["Location"] == reverse("portal:dashboard")


def test_the_lock_page_is_in_the_visitors_language(client, member, settings):
    fail_to_log_in(client, settings.AXES_FAILURE_LIMIT)
    client.post(reverse("portal:language"), {"language": "fr"})

    response = client.post(
        reverse("portal:login"), {"username": "ada@example.com", "password": "x"}, REMOTE_ADDR="10.0.0.1"
    )

    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()


def test_choosing_a_new_password_lifts_the_lock(client, member, settings):
    fail_to_log_in(client, settings.AXES_FAILURE_LIMIT)
    new_password = reset_password(client)

    response = client.post(
        reverse("portal:login"), {"username": "ada@example.com", "password": new_password}, REMOTE_ADDR="10.0.0.1"
    )

    assert response["Location"] == reverse("portal:dashboard")


def reset_password(client, new_password: str = "another-long-secret") -> str:
    """Ask for a reset link, follow it from the e-mail and choose ``new_password``."""
    client.post(reverse("portal:password_reset"), {"email": "ada@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert done["Location"] == reverse("portal:password_reset_complete")
    return new_password


def test_a_password_reset_link_sets_a_new_password(client, member):
    new_password = reset_password(client)

    logged_in = client.post(reverse("portal:login"), {"username": "ada@example.com", "password": new_password})

    assert logged_in["Location"] == reverse("portal:dashboard")
    assert client.post(reverse("portal:logout")).status_code == 302
    old = client.post(reverse("portal:login"), {"username": "ada@example.com", "password": PASSWORD})
    assert old.status_code == 200


def test_a_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client, db):
    response = client.post(reverse("portal:password_reset"), {"email": "nobody@example.com"})

    assert response["Location"] == reverse("portal:password_reset_done")
    assert mail.outbox == []


def test_reset_emails_to_one_address_are_capped_per_hour(client, member, settings):
    for _ in range(settings.PASSWORD_RESET_EMAILS_PER_HOUR + 2):
        response = client.post(reverse("portal:password_reset"), {"email": "ADA@example.com"})
        assert response["Location"] == reverse("portal:password_reset_done")

    assert len(mail.outbox) == settings.PASSWORD_RESET_EMAILS_PER_HOUR
