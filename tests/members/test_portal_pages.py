"""The portal's pages: what the member reads on each, and what each form writes."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from loyalty.ledger import services as ledger
from loyalty.ledger.models import EntryKind
from members.exports import spreadsheet_safe
from members.views import HISTORY_PAGE_SIZE


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_dashboard_shows_balance_pending_and_the_expiry_timeline_soonest_first(member_client, member):
    today = timezone.localdate()
    ledger.credit(member.account, 100, expires_on=today + timedelta(days=40), memo="later lot")
    ledger.credit(member.account, 30, expires_on=today + timedelta(days=5), memo="sooner lot")
    ledger.credit(member.account, 70, available_at=timezone.now() + timedelta(days=14), memo="in return window")

    response = member_client.get(reverse("portal:dashboard"))

    dashboard = response.context["dashboard"]
    assert (dashboard.account.balance, dashboard.account.pending) == (130, 70)
    assert dashboard.pending == [{"available_on": today + timedelta(days=14), "points": 70}]
    assert dashboard.expiring == [
        {"expires_on": today + timedelta(days=5), "points": 30},
        {"expires_on": today + timedelta(days=40), "points": 100},
    ]
    html = response.content.decode()
    soonest = html.index("timeline-soonest")
    assert html.index(f'datetime="{today + timedelta(days=5):%Y-%m-%d}"') > soonest
    assert html.index(f'datetime="{today + timedelta(days=40):%Y-%m-%d}"') > html.index("Expires soonest")
    assert '<p class="figure" data-testid="balance">130</p>' in html


def test_the_timeline_sums_dates_past_the_first_twelve_and_skips_dates_already_past(member_client, member):
    today = timezone.localdate()
    for month in range(14):
        ledger.credit(member.account, 10 + month, expires_on=today + timedelta(days=31 * (month + 1)))
    # Past its last day, not yet expired by the daily task: not a coming date.
    ledger.credit(member.account, 99, expires_on=today - timedelta(days=1), now=timezone.now() - timedelta(days=9))

    dashboard = member_client.get(reverse("portal:dashboard")).context["dashboard"]

    assert [row["points"] for row in dashboard.expiring] == list(range(10, 22))
    assert dashboard.expiring_later == {"points": 22 + 23, "dates": 2}


def test_the_dashboard_lists_the_five_latest_entries(member_client, member):
    for number in range(7):
        ledger.credit(member.account, number + 1, memo=f"purchase {number}")

    entries = member_client.get(reverse("portal:dashboard")).context["dashboard"].entries

    assert [entry.memo for entry in entries] == [f"purchase {number}" for number in (6, 5, 4, 3, 2)]


def test_history_pages_through_every_entry_newest_first(member_client, member):
    for number in range(HISTORY_PAGE_SIZE + 5):
        ledger.credit(member.account, 1, memo=f"purchase {number}")

    first = member_client.get(reverse("portal:history")).context["page"]
    second = member_client.get(reverse("portal:history"), {"page": 2}).context["page"]

    assert first.paginator.count == HISTORY_PAGE_SIZE + 5
    assert first.object_list[0].memo == f"purchase {HISTORY_PAGE_SIZE + 4}"
    assert [entry.memo for entry in second.object_list] == [f"purchase {number}" for number in (4, 3, 2, 1, 0)]


def test_history_filters_by_kind_and_by_day(member_client, member):
    ledger.credit(member.account, 50, memo="earned")
    ledger.credit(member.account, 5, EntryKind.BONUS, memo="bonus")
    ledger.debit(member.account, 20, memo="coffee")
    today = timezone.localdate()

    by_kind = member_client.get(reverse("portal:history"), {"kind": "redeem"}).context["page"]
    today_only = member_client.get(reverse("portal:history"), {"since": today, "until": today}).context["page"]
    tomorrow = member_client.get(reverse("portal:history"), {"since": today + timedelta(days=1)}).context["page"]

    assert [entry.memo for entry in by_kind.object_list] == ["coffee"]
    assert today_only.paginator.count == 3
    assert tomorrow.paginator.count == 0


def test_a_reversed_date_range_is_a_form_error_and_lists_nothing(member_client, member):
    ledger.credit(member.account, 50)
    today = timezone.localdate()

    response = member_client.get(reverse("portal:history"), {"since": today, "until": today - timedelta(days=1)})

    assert response.context["form"].errors["until"] == ["The end date comes before the start date."]
    assert response.context["page"].paginator.count == 0
    assert "Fix the filters to see your entries" in response.content.decode()


def test_an_htmx_request_with_bad_filters_gets_the_errors_in_the_results(member_client, member):
    ledger.credit(member.account, 50, memo="earned")

    response = member_client.get(
        reverse("portal:history"), {"since": "2026-13-45"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="history-results"
    )

    html = response.content.decode()
    assert "Enter a valid date." in html
    assert "earned" not in html
    assert "history.csv" not in html


def test_the_csv_with_bad_filters_goes_back_to_the_history_that_explains_them(member_client, member):
    response = member_client.get(reverse("portal:history_csv"), {"kind": "gift"})

    assert response.status_code == 302
    assert response["Location"] == "/history/?kind=gift"


def test_the_history_varies_on_htmx_headers_so_caches_keep_page_and_fragment_apart(member_client):
    response = member_client.get(reverse("portal:history"))

    assert {"HX-Request", "HX-Target"} <= {value.strip() for value in response["Vary"].split(",")}


def test_an_htmx_filter_request_gets_only_the_results(member_client, member):
    ledger.credit(member.account, 50, memo="earned")

    response = member_client.get(
        reverse("portal:history"), {"kind": "earn"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="history-results"
    )

    html = response.content.decode()
    assert "earned" in html
    assert "<html" not in html
    assert 'href="/history.csv?kind=earn"' in html


def test_the_csv_holds_every_filtered_entry_and_defuses_formulas(member_client, member):
    ledger.credit(member.account, 50, memo='=HYPERLINK("http://evil")')
    ledger.debit(member.account, 20, memo="coffee")

    everything = csv_rows(member_client.get(reverse("portal:history_csv")))
    debits = csv_rows(member_client.get(reverse("portal:history_csv"), {"kind": "redeem"}))

    assert everything[0] == ["Date", "Kind", "Points", "Balance after", "Reason"]
    assert [row[1:] for row in everything[1:]] == [
        ["Redeemed", "-20", "30", "coffee"],
        ["Earned", "50", "50", '\'=HYPERLINK("http://evil")'],
    ]
    assert [row[1:] for row in debits[1:]] == [["Redeemed", "-20", "30", "coffee"]]


def test_the_csv_is_an_attachment_named_after_the_member(member_client, member):
    response = member_client.get(reverse("portal:history_csv"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="points-history-{member.member_number}-')


def test_the_profile_saves_names_language_and_consent(member_client, member):
    response = member_client.post(
        reverse("portal:profile"),
        {"first_name": "Augusta", "last_name": "King", "language": "fr", "marketing_consent": "on"},
    )

    assert response["Location"] == reverse("portal:profile")
    assert response.cookies["django_language"].value == "fr"
    member.refresh_from_db()
    member.user.refresh_from_db()
    assert (member.user.first_name, member.user.last_name, member.user.email) == ("Augusta", "King", "ada@example.com")
    assert (member.language, member.marketing_consent) == ("fr", True)


def test_the_profile_refuses_an_unknown_language_and_changes_nothing(member_client, member):
    response = member_client.post(
        reverse("portal:profile"), {"first_name": "Augusta", "last_name": "King", "language": "xx"}
    )

    assert response.status_code == 200
    assert "language" in response.context["form"].errors
    member.user.refresh_from_db()
    assert member.user.first_name == "Ada"


def test_switching_language_is_remembered_for_a_member(member_client, member):
    response = member_client.post(reverse("portal:language"), {"language": "fr", "next": "/history/"})

    assert response["Location"] == "/history/"
    member.refresh_from_db()
    assert member.language == "fr"
    assert "Historique" in member_client.get(reverse("portal:history")).content.decode()


@pytest.mark.parametrize("next_url", ["https://evil.example.com/", "//evil.example.com/", ""])
def test_switching_language_never_redirects_off_site(client, db, next_url):
    response = client.post(reverse("portal:language"), {"language": "fr", "next": next_url})

    assert response["Location"] == reverse("portal:dashboard")
    assert response.cookies["django_language"].value == "fr"


def test_switching_to_an_unknown_language_changes_nothing(member_client, member):
    response = member_client.post(reverse("portal:language"), {"language": "xx", "next": "/profile/"})

    assert response["Location"] == "/profile/"
    assert "django_language" not in response.cookies
    member.refresh_from_db()
    assert member.language == "en"


@pytest.mark.parametrize(
    ("memo", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("  =1+1", "'  =1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\n=cmd", "'\n=cmd"),
        ("Free coffee", "Free coffee"),
        ("Coffee = 5 points", "Coffee = 5 points"),
    ],
    ids=["equals", "spaces-then-equals", "at", "newline", "plain", "equals-inside"],
)
def test_a_reason_a_spreadsheet_could_run_is_defused(memo, cell):
    assert spreadsheet_safe(memo) == cell
