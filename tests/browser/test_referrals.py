"""Invite friends in Chromium, in English and in French: the copy button, a friend joining through the link."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from members.models import Member
from members.referrals.models import Referral, ReferralCode
from members.referrals.services import referral_purchase_record
from members.services import member_email_verify
from tests.factories.members import MemberFactory

PASSWORD = "a-long-enough-secret"

WORDS = {
    "en": {
        "nav": "Invite friends",
        "heading": "Invite friends",
        "copy": "Copy the link",
        "copied": "Copied!",
        "first_name": "First name",
        "last_name": "Last name",
        "password": "Password",
        "password2": "Password again",
        "code": "A friend's referral code (optional)",
        "create": "Create my account",
        "sent": "Check your e-mail",
        "log_out": "Log out",
        "points": "1,500",
    },
    "fr": {
        "nav": "Inviter des amis",
        "heading": "Inviter des amis",
        "copy": "Copier le lien",
        "copied": "Copié !",
        "first_name": "Prénom",
        "last_name": "Nom",
        "password": "Mot de passe",
        "password2": "Confirmez le mot de passe",
        "code": "Code de parrainage d’un ami (facultatif)",
        "create": "Créer mon compte",
        "sent": "Consultez vos e-mails",
        "log_out": "Se déconnecter",
        "points": "1\u202f500",
    },
}


def log_in(page, email: str) -> None:
    """From a browser without cookies (so in English); the portal then speaks the member's language."""
    page.goto("/login/")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_member_copies_the_link_and_a_friend_joins_through_it(page, live_server, language):
    words = WORDS[language]
    referrer = member_email_verify(member=MemberFactory(email="ada@example.com", password=PASSWORD, language=language))
    ReferralCode.objects.filter(member=referrer).update(code="K7QM4XTB")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    # The referrer opens Invite friends from the header and copies the link.
    log_in(page, "ada@example.com")
    page.get_by_role("navigation").get_by_role("link", name=words["nav"]).click()
    expect(page.get_by_role("heading", name=words["heading"], level=1)).to_be_visible()
    link = f"{live_server.url}/join/K7QM4XTB/"
    expect(page.get_by_test_id("referral-link")).to_have_value(link)
    page.get_by_role("button", name=words["copy"]).click()
    expect(page.get_by_test_id("copy-status")).to_have_text(words["copied"])
    assert page.evaluate("navigator.clipboard.readText()") == link
    page.screenshot_step(f"invite-{language}")
    page.get_by_role("button", name=words["log_out"]).click()

    # A friend, in another browser (no cookies of the referrer's), follows the link and joins.
    page.context.clear_cookies()
    page.goto(link)
    if language == "fr":
        page.locator("#language-select").select_option("fr")
        page.get_by_role("button", name="Switch").click()
    expect(page.get_by_label(words["code"])).to_have_value("K7QM4XTB")
    page.get_by_label("E-mail", exact=True).fill("grace@example.com")
    page.get_by_label(words["first_name"]).fill("Grace")
    page.get_by_label(words["last_name"], exact=True).fill("Hopper")
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    page.get_by_label(words["password2"]).fill(PASSWORD)
    page.screenshot_step(f"signup-with-code-{language}")
    page.get_by_role("button", name=words["create"]).click()
    expect(page.get_by_role("heading", name=words["sent"])).to_be_visible()

    friend = Member.objects.get(user__email="grace@example.com")
    referral = Referral.objects.get()
    assert (referral.referrer, referral.referee, referral.status) == (referrer, friend, "joined")

    # Three friends in all buy; the referrer's page counts them and their points.
    referral_purchase_record(member=friend, amount=Decimal("40.00"), currency="EUR", purchase_ref="T-1")
    for number in range(2):
        other = MemberFactory(email=f"friend{number}@example.com", referral_code="K7QM4XTB")
        referral_purchase_record(member=other, amount=Decimal("40.00"), currency="EUR", purchase_ref=f"T-{number}")
    page.context.clear_cookies()
    log_in(page, "ada@example.com")
    page.goto("/referrals/")
    expect(page.get_by_test_id("referrals-joined")).to_have_text("3")
    expect(page.get_by_test_id("referrals-qualified")).to_have_text("3")
    expect(page.get_by_test_id("referrals-points")).to_have_text(words["points"])
    page.screenshot_step(f"invite-after-{language}")
