"""The portal's *My tier* page and the dashboard's tier block, in English and French."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from loyalty.clock import add_months, program_date
from members.services import member_language_set
from members.templatetags.portal import points
from members.tiers.models import TierChangeReason
from tests.factories.tiers import MemberTierFactory, QualifyingDayFactory, TierChangeFactory, program_tiers


@pytest.fixture
def tiers(db):
    return program_tiers()


@pytest.fixture
def silver_member(member, tiers):
    silver, gold, _ = tiers
    today = program_date()
    oldest = today - timedelta(days=40)
    QualifyingDayFactory(member=member, day=oldest, points=300)
    QualifyingDayFactory(member=member, day=today - timedelta(days=3), points=450)
    MemberTierFactory(member=member, tier=silver, qualified_on=today)
    TierChangeFactory(member=member, from_tier=None, to_tier=silver, reason=TierChangeReason.QUALIFIED)
    last_day = add_months(oldest, 12) - timedelta(days=1)
    return member, last_day, add_months(last_day, 12) + timedelta(days=1)


def day_in(language: str, day) -> str:
    from django.utils.formats import date_format

    with translation.override(language):
        return date_format(day, "DATE_FORMAT")


def text_of(response) -> str:
    return re.sub(r"[ \t\r\n]+", " ", response.content.decode())  # keeps the no-break spaces of French numbers


def test_the_tier_page_says_which_tier_why_what_keeps_it_and_when_it_would_end(member_client, silver_member):
    _, by, downgrade = silver_member

    response = member_client.get(reverse("portal:tier"))

    assert response.status_code == 200
    html = text_of(response)
    assert '<circle cx="8" cy="8" r="8" fill="#9ca3af"/></svg> <strong>Silver</strong>' in html
    assert 'max="2000" value="750"' in html
    assert f"1,250 points to Gold by {day_in('en', by)}" in html
    assert "You earned 750 points in the last 12 months." in html
    assert "Free coffee on your birthday" in html
    assert "You hold Silver because you reached its threshold of 500 points." in html
    assert "To keep Silver, keep at least 500 points earned within the last 12 months." in html
    assert f"If nothing changes, you no longer hold Silver from {day_in('en', downgrade)}." in html
    assert "Reached the threshold" in html
    assert 'aria-current="page">My tier' in html


def test_the_tier_page_reads_in_french_with_french_separators_and_dates(member_client, member, silver_member):
    _, by, downgrade = silver_member
    member_language_set(member=member, language="fr")
    member_client.cookies["django_language"] = "fr"

    html = text_of(member_client.get(reverse("portal:tier")))

    with translation.override("fr"):
        missing = points(1250)
    assert missing in {"1\u202f250", "1\xa0250"}
    assert f"{missing} points pour Or d’ici le {day_in('fr', by)}" in html
    assert "<strong>Argent</strong>" in html
    assert "Un café offert pour votre anniversaire" in html
    assert "Vous avez le niveau Argent car vous avez atteint son seuil de 500 points." in html
    assert f"Si rien ne change, vous n’aurez plus le niveau Argent à partir du {day_in('fr', downgrade)}." in html
    assert "<td>aucun niveau</td> <td>Argent</td> <td>Seuil atteint</td>" in html


def test_the_dashboard_shows_the_tier_and_links_to_its_page(member_client, silver_member):
    _, by, _ = silver_member

    html = text_of(member_client.get(reverse("portal:dashboard")))

    assert "<strong>Silver</strong>" in html
    assert f"1,250 points to Gold by {day_in('en', by)}" in html
    assert f'<a href="{reverse("portal:tier")}">See my tier and what keeps it</a>' in html


def test_a_program_without_tiers_says_so_and_the_dashboard_shows_no_tier_block(member_client, member):
    assert "The program has no tiers yet." in text_of(member_client.get(reverse("portal:tier")))
    assert 'data-testid="dashboard-tier"' not in text_of(member_client.get(reverse("portal:dashboard")))


def test_a_tier_set_by_hand_says_until_when_and_why(member_client, member, tiers):
    _, _, platinum = tiers
    until = program_date() + timedelta(days=30)
    MemberTierFactory(member=member, tier=platinum, manual_until=until, manual_reason="Status match")

    html = text_of(member_client.get(reverse("portal:tier")))

    assert f"Our team gave you Platinum until {day_in('en', until)}: Status match" in html
    assert "This is the program's highest tier." in html
    assert f"If nothing changes, you no longer hold Platinum from {day_in('en', until + timedelta(days=1))}." in html


@pytest.mark.parametrize("page", ["portal:tier", "portal:dashboard"])
def test_the_tier_pages_run_a_fixed_number_of_queries_whatever_the_tier_history(
    member_client, silver_member, tiers, page
):
    member = silver_member[0]

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert member_client.get(reverse(page)).status_code == 200
        return len(captured)

    before = queries()
    for n in range(40):
        QualifyingDayFactory(member=member, day=program_date() - timedelta(days=50 + n), points=5)
        TierChangeFactory(member=member, from_tier=tiers[n % 3], to_tier=tiers[(n + 1) % 3])
    after = queries()

    assert (before, after) == ({"portal:tier": 8, "portal:dashboard": 11}[page],) * 2
