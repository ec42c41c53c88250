"""The portal's pages: what the member reads on each, and what each form writes."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

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
    response = member_client.get(reverse("portal:history_csv"), {"kind": "bogus"})

    assert response.status_code == 302
    assert response["Location"] == "/history/?kind=bogus"


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


# Polish found by a new member (issue 7)


def test_a_pending_credit_says_on_its_row_until_when_it_is_pending(member_client, member):
    ledger.credit(member.account, 100, memo="available at once")
    available_at = timezone.now() + timedelta(days=14)
    ledger.credit(member.account, 40, available_at=available_at, memo="in its return window")

    for name in ("portal:dashboard", "portal:history"):
        html = member_client.get(reverse(name)).content.decode()
        row = html[html.index("<tr>", html.index("<tbody>")) : html.index("in its return window")]
        assert f"pending until {date_format(available_at.date(), 'DATE_FORMAT')}" in row
        assert html.count('data-testid="availability"') == 1


def test_a_released_credit_says_since_when_its_points_count(member_client, member):
    written = timezone.now() - timedelta(days=20)
    ledger.credit(member.account, 40, available_at=written + timedelta(days=14), now=written, memo="returned window")
    ledger.release_pending()

    html = member_client.get(reverse("portal:history")).content.decode()

    assert f"available since {date_format((written + timedelta(days=14)).date(), 'DATE_FORMAT')}" in html
    assert "pending until" not in html


@pytest.mark.parametrize(
    ("language", "balance", "count"),
    [("en", "1,945", "1,001 entries"), ("fr", "1\xa0945", "1\xa0001")],
    ids=["en", "fr"],
)
def test_numbers_carry_the_languages_thousands_separator(member_client, member, language, balance, count):
    ledger.credit(member.account, 945, memo="first")
    for _ in range(1000):
        ledger.credit(member.account, 1)
    member_client.post(reverse("portal:language"), {"language": language})

    dashboard = member_client.get(reverse("portal:dashboard")).content.decode()
    history = member_client.get(reverse("portal:history")).content.decode()

    assert f'data-testid="balance">{balance}</p>' in dashboard
    assert count in history


def test_times_are_written_one_way_in_the_programs_time_zone_whatever_zone_is_active(member_client, member, settings):
    settings.TIME_ZONE = "Europe/Paris"
    moment = datetime(2026, 3, 5, 22, 30, tzinfo=UTC)  # 23:30 in Paris, the next day in Tokyo
    ledger.credit(member.account, 10, now=moment, expires_on=None, memo="late purchase")

    with timezone.override(ZoneInfo("Asia/Tokyo")):
        html = member_client.get(reverse("portal:history")).content.decode()

    assert '<time datetime="2026-03-05T23:30:00+01:00">March 5, 2026, 11:30 p.m.</time>' in html


@pytest.mark.parametrize(
    ("credits", "message"),
    [
        ([], "You have no points yet, so nothing expires."),
        ([{"available_at": "later"}], "You have no points to spend yet. Your pending points will show here"),
        (
            [{"expires_on": None}],
            "None of your points has a coming expiry date: the points you hold now do not expire.",
        ),
    ],
    ids=["no-points", "only-pending", "points-that-never-expire"],
)
def test_an_empty_expiry_timeline_says_what_is_true(member_client, member, credits, message):
    for credit in credits:
        if credit.get("available_at") == "later":
            ledger.credit(member.account, 10, available_at=timezone.now() + timedelta(days=3))
        else:
            ledger.credit(member.account, 10, **credit)

    html = member_client.get(reverse("portal:dashboard")).content.decode()

    assert message in html
    assert "None of your points has an expiry date." not in html


def test_the_lockout_page_says_for_how_long(client, member, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("portal:login"), {"username": "ada@example.com", "password": "wrong"})

    response = client.post(reverse("portal:login"), {"username": "ada@example.com", "password": "wrong"})

    assert response.status_code == 429
    assert "paused for 15 minutes after the last attempt" in response.content.decode()


def test_logging_out_says_so(member_client):
    response = member_client.post(reverse("portal:logout"), follow=True)

    assert [str(message) for message in response.context["messages"]] == ["You are logged out."]


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("portal:login", {"username": "username", "password": "current-password"}),
        ("portal:signup", {"email": "email", "password1": "new-password", "password2": "new-password"}),
    ],
    ids=["login", "signup"],
)
def test_login_fields_tell_password_managers_what_they_hold(client, db, name, fields):
    html = client.get(reverse(name)).content.decode()

    for field, autocomplete in fields.items():
        tag = re.search(rf'<input[^>]*name="{field}"[^>]*>', html).group(0)
        assert f'autocomplete="{autocomplete}"' in tag


def test_the_footer_speaks_to_members(client, db, settings):
    settings.LOYALTY_SUPPORT_EMAIL = "help@shop.example"

    html = client.get(reverse("portal:login")).content.decode()

    footer = html[html.index('<footer class="site-footer">') :]
    assert 'Questions about your points? Write to us at <a href="mailto:help@shop.example">' in footer
    assert "whole numbers" not in footer


def test_the_history_filters_fold_behind_a_toggle_that_opens_when_filters_are_set(member_client, member):
    plain = member_client.get(reverse("portal:history")).content.decode()
    filtered = member_client.get(reverse("portal:history"), {"kind": "earn"}).content.decode()

    assert '<details class="filters-toggle">' in plain
    assert '<details class="filters-toggle" open>' in filtered


def test_the_french_csv_uses_semicolons_as_excel_in_french_expects(member_client, member, settings):
    settings.TIME_ZONE = "Europe/Paris"
    ledger.credit(member.account, 1500, memo="achat; gros", now=datetime(2026, 7, 1, 10, 0, tzinfo=UTC))
    member_client.post(reverse("portal:language"), {"language": "fr"})

    response = member_client.get(reverse("portal:history_csv"))

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["Date", "Type", "Points", "Solde après", "Motif"]
    assert rows[1] == ["2026-07-01 12:00:00", "Gagnés", "1500", "1500", "achat; gros"]


def test_the_english_csv_keeps_commas(member_client, member):
    ledger.credit(member.account, 15, memo="coffee")

    rows = csv_rows(member_client.get(reverse("portal:history_csv")))

    assert rows[1][1:] == ["Earned", "15", "15", "coffee"]


@pytest.mark.parametrize(
    "bounds",
    [{"until": "9999-12-31"}, {"since": "9999-12-31"}, {"since": "0001-01-01"}, {"since": "1899-12-31"}],
    ids=["until-last-day", "since-last-day", "since-year-one", "before-1900"],
)
def test_a_date_beyond_the_supported_range_is_a_form_error_not_a_500(member_client, member, bounds):
    ledger.credit(member.account, 10, memo="earned")

    page = member_client.get(reverse("portal:history"), bounds)
    csv_response = member_client.get(reverse("portal:history_csv"), bounds)

    assert page.status_code == 200
    field = next(iter(bounds))
    assert page.context["form"].errors[field] == ["Enter a date between 1900-01-01 and 9999-12-30."]
    assert "earned" not in page.content.decode()
    assert csv_response.status_code == 302
    assert csv_response["Location"].startswith(reverse("portal:history"))


def test_the_last_supported_day_is_a_valid_bound(member_client, member):
    ledger.credit(member.account, 10, memo="earned")

    page = member_client.get(reverse("portal:history"), {"until": "9999-12-30"})

    assert page.context["page"].paginator.count == 1


def test_the_csv_keeps_the_requests_language_while_it_streams(member_client, member):
    ledger.credit(member.account, 15, memo="café")
    member_client.post(reverse("portal:language"), {"language": "fr"})
    response = member_client.get(reverse("portal:history_csv"))

    with translation.override("en"):  # another request on this thread before the server reads the rows
        text = b"".join(response.streaming_content).decode("utf-8-sig")

    assert text.splitlines()[0] == "Date;Type;Points;Solde après;Motif"
