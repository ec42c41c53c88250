"""Staff CSV exports of the admin's lists: what they hold, who may, the period form, streaming in a fixed
number of queries, the admin log."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from campaigns.models import Campaign, CampaignStatus, RuleKind
from loyalty.clock import program_date
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, EntryKind
from loyalty.reports import exports
from members.models import Member, MemberStatus
from members.services import member_status_change
from rewards.models import Voucher
from rewards.services import redemption_create
from tests.factories.campaigns import CampaignFactory, item, purchase_post
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import RewardFactory

pytestmark = pytest.mark.django_db

MEMBERS = reverse("admin:members_member_export")
ENTRIES = reverse("admin:ledger_entry_export")
VOUCHERS = reverse("admin:rewards_voucher_export")
CAMPAIGNS = reverse("admin:campaigns_campaign_export")


def lines(response) -> list[list[str]]:
    """The CSV rows of a streamed export (its byte-order mark checked and dropped)."""
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";" if ";" in text.splitlines()[0] else ","))


def moment(value) -> str:
    return timezone.localtime(value, timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def manager(staff_in):
    return staff_in("Program manager")


# Members


def test_members_export_the_list_as_filtered_with_contact_and_points(client, manager):
    ada = MemberFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    ledger.credit(ada.account, 120)
    bob = MemberFactory(email="bob@example.com", first_name="=HYPERLINK(1)", last_name="Babbage")
    member_status_change(member=bob, status=MemberStatus.SUSPENDED, reason="Fraud check", actor=manager)
    bob.refresh_from_db()
    client.force_login(manager)

    response = client.get(MEMBERS, {"status": "suspended"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="members-{program_date().isoformat()}.csv"'
    assert lines(response) == [
        [
            "Member number",
            "E-mail",
            "First name",
            "Last name",
            "Phone",
            "Language",
            "Status",
            "Joined",
            "E-mail verified",
            "Marketing consent",
            "Balance",
            "Pending",
            "Lifetime earned",
            "Lifetime spent",
            "Enrolled by",
        ],
        [
            bob.member_number,
            "bob@example.com",
            "'=HYPERLINK(1)",  # a spreadsheet would run it as a formula
            "Babbage",
            "",
            "en",
            "Suspended",
            moment(bob.joined_at),
            "no",
            "no",
            "0",
            "0",
            "0",
            "0",
            "",
        ],
    ]


def test_the_members_search_and_order_apply_to_the_export(client, manager):
    first = MemberFactory(email="zed@example.com")
    second = MemberFactory(email="amy@example.com")
    MemberFactory(email="other@elsewhere.org")
    client.force_login(manager)

    rows = lines(client.get(MEMBERS, {"q": "example.com", "o": "2"}))  # column 2: the e-mail, ascending

    assert [row[0] for row in rows[1:]] == [second.member_number, first.member_number]


def test_the_list_links_its_export_with_the_filters(client, manager):
    MemberFactory()
    client.force_login(manager)

    html = client.get(reverse("admin:members_member_changelist"), {"status": "active", "p": "1"}).content.decode()

    assert f'href="{MEMBERS}?status=active" data-testid="export-csv"' in html


# Who may export what


@pytest.mark.parametrize(
    ("group", "allowed"),
    [
        pytest.param("Program manager", {MEMBERS, ENTRIES, VOUCHERS, CAMPAIGNS}, id="program-manager"),
        pytest.param("Analyst", {ENTRIES, VOUCHERS, CAMPAIGNS}, id="analyst"),
        pytest.param("Support agent", {CAMPAIGNS}, id="support-agent"),
    ],
)
def test_each_group_exports_what_it_may_and_is_refused_the_rest(client, staff_in, group, allowed):
    client.force_login(staff_in(group))
    lists = {
        MEMBERS: "admin:members_member_changelist",
        ENTRIES: "admin:ledger_entry_changelist",
        VOUCHERS: "admin:rewards_voucher_changelist",
        CAMPAIGNS: "admin:campaigns_campaign_changelist",
    }

    for url, changelist in lists.items():
        response = client.get(url)
        assert response.status_code == (200 if url in allowed else 403), url
        page = client.get(reverse(changelist))
        if page.status_code == 200:
            assert ('data-testid="export-csv"' in page.content.decode()) == (url in allowed), url
    assert LogEntry.objects.count() == len(allowed - {ENTRIES})  # the entries' first page asks for the period


def test_a_staff_user_with_the_view_permission_only_cannot_export_members(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_member"))
    client.force_login(user)

    assert client.get(MEMBERS).status_code == 403
    assert LogEntry.objects.count() == 0


def test_anonymous_users_get_the_login_page(client):
    response = client.get(MEMBERS)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_an_export_is_not_a_post(client, manager):
    client.force_login(manager)

    assert client.post(MEMBERS).status_code == 403


# The admin log


def test_each_export_is_written_to_the_admin_log_with_its_filters(client, manager):
    MemberFactory()
    client.force_login(manager)

    response = client.get(MEMBERS, {"status": "active", "q": "example"})
    lines(response)

    log = LogEntry.objects.get()
    assert (log.user, log.content_type, log.object_id) == (manager, ContentType.objects.get_for_model(Member), None)
    assert log.object_repr == "CSV export of members"
    assert log.change_message == "Exported as CSV. Filters: status=active&q=example."


def test_the_exporters_recent_actions_name_the_export_without_a_link(client, manager):
    client.force_login(manager)
    lines(client.get(MEMBERS))

    html = client.get(reverse("admin:index")).content.decode()

    assert "CSV export of members" in html
    assert 'href="/admin/members/member/None/' not in html


def test_filters_that_cannot_apply_send_back_to_the_list_and_export_nothing(client, manager):
    client.force_login(manager)

    response = client.get(MEMBERS, {"joined_at__year": "99999"})

    assert response.status_code == 302
    assert response.url == reverse("admin:members_member_changelist")
    assert LogEntry.objects.count() == 0


# Entries, for a period


@pytest.fixture
def entries(manager):
    """Ada: 100 (staff adjustment), 7 (a partner) today, 999 forty days ago; Bob: 30 today."""
    now = timezone.now()
    ada = MemberFactory(email="ada@example.com")
    bob = MemberFactory()
    ledger.adjust(ada.account, 100, reason="Goodwill", actor=manager)
    ledger.credit(ada.account, 7, actor=PartnerFactory(name="Acme Stores"), now=now)
    ledger.credit(ada.account, 999, expires_on=None, now=now - timedelta(days=40))
    ledger.credit(bob.account, 30, now=now)
    return ada, bob


def test_the_entries_export_asks_for_the_period_first(client, manager, django_assert_num_queries):
    client.force_login(manager)

    with django_assert_num_queries(4):  # session, user, the user's permissions, of their groups
        response = client.get(ENTRIES, {"kind": "earn"})

    assert response.status_code == 200
    assert response.templates[0].name == "admin/export_period.html"
    html = response.content.decode()
    assert '<input type="hidden" name="kind" value="earn">' in html
    assert LogEntry.objects.count() == 0


def test_the_entries_of_the_default_period_are_the_last_30_days(client, manager, entries):
    ada, bob = entries
    client.force_login(manager)

    rows = lines(client.get(ENTRIES, {"_export": "csv"}))

    assert rows[0] == [
        "Entry",
        "Date",
        "Member number",
        "Kind",
        "Points",
        "Debt",
        "Held",
        "Balance after",
        "Reason",
        "Made by",
        "Cause",
        "Reverses",
    ]
    made = {(row[2], row[4]): (row[3], row[8], row[9]) for row in rows[1:]}
    assert made == {
        (ada.member_number, "100"): ("Adjustment", "Goodwill", "program-manager (staff)"),
        (ada.member_number, "7"): ("Earned", "", "Acme Stores"),
        (bob.member_number, "30"): ("Earned", "", "System"),
    }
    assert "ada@example.com" not in str(rows)  # member numbers, never e-mails


def test_the_entries_export_keeps_the_lists_filters_within_the_period(client, manager, entries):
    ada, _bob = entries
    client.force_login(manager)
    today = program_date()

    rows = lines(
        client.get(
            ENTRIES,
            {
                "q": ada.member_number,
                "_export": "csv",
                "period-start": (today - timedelta(days=60)).isoformat(),
                "period-end": today.isoformat(),
            },
        )
    )

    assert sorted(int(row[4]) for row in rows[1:]) == [7, 100, 999]
    log = LogEntry.objects.get()
    assert log.change_message == (
        f"Exported as CSV. Filters: q={ada.member_number}. Period: {today - timedelta(days=60)} to {today}."
    )


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        pytest.param("2026-02-30", "", "Enter a valid date.", id="no-such-day"),
        pytest.param("2026-12-10", "2026-12-01", "The period's start is after its end.", id="start-after-end"),
        pytest.param("0001-01-01", "0001-01-02", "The period must fall between 1970 and 9000.", id="year-one"),
        pytest.param("9999-12-30", "9999-12-31", "The period must fall between 1970 and 9000.", id="year-9999"),
        pytest.param("99999-01-01", "", "Enter a valid date.", id="five-digit-year"),
        pytest.param("2026-01-01\x00", "", "Enter a valid date.", id="nul-byte"),
    ],
)
def test_a_bad_period_is_a_form_error_and_exports_nothing(client, manager, start, end, error):
    client.force_login(manager)

    response = client.get(ENTRIES, {"_export": "csv", "period-start": start, "period-end": end})

    assert response.status_code == 200
    assert not response.streaming
    assert error in response.content.decode().replace("&#x27;", "'")
    assert LogEntry.objects.count() == 0


# Vouchers: codes masked


def test_vouchers_export_masked_codes_never_the_whole_code(client, manager):
    member = MemberFactory()
    ledger.credit(member.account, 2000)
    reward = RewardFactory(name="Coffee", points_cost=500, stock=5)
    result = redemption_create(member=member, reward=reward, quantity=2, idempotency_key="k")
    client.force_login(manager)

    rows = lines(client.get(VOUCHERS))

    vouchers = sorted(result.vouchers, key=lambda voucher: -voucher.pk)
    assert [row[:6] for row in rows[1:]] == [
        [str(voucher.pk), f"{voucher.code[:4]}…", "Coffee", member.member_number, "Issued", "500"]
        for voucher in vouchers
    ]
    text = str(rows)
    assert all(voucher.code not in text for voucher in vouchers)


# Campaign results


@pytest.fixture
def campaigns(db):
    """As tests/campaigns/test_reports.py: Shoes x2 (budget 1,000), a basket bonus of 5, an idle draft."""
    shoes = CampaignFactory(
        name="Shoes x2", budget=1000, rules=[{"kind": RuleKind.MULTIPLIER, "multiplier": 2, "categories": ["shoes"]}]
    )
    bonus = CampaignFactory(name="Bonus", rules=[{"kind": RuleKind.BASKET_BONUS, "points": 5}])
    idle = CampaignFactory(name="Idle", status=CampaignStatus.DRAFT, budget=300)
    ada, bob = MemberFactory(), MemberFactory()
    purchase_post(ada, item("S1", "2", "50.00", "shoes"), item("B1", "1", "20.00", "bags"))  # 120.00
    purchase_post(ada, item("B1", "1", "20.00", "bags"))  # 20.00
    purchase_post(bob, item("S2", "1", "30.00", "shoes"))  # 30.00
    return shoes, bonus, idle


def test_campaign_results_per_campaign_with_the_matched_sales(client, staff_in, campaigns):
    client.force_login(staff_in("Support agent"))

    rows = lines(client.get(CAMPAIGNS))  # the list's order: the latest first

    assert rows[0][5:] == [
        "Members reached",
        "Points awarded",
        "Budget",
        "Budget left",
        "Purchases matched",
        "Matched sales (EUR)",
    ]
    assert [[row[1], row[2], *row[5:]] for row in rows[1:]] == [
        ["Idle", "Draft", "0", "0", "300", "300", "0", "0.00"],
        ["Bonus", "Active", "2", "15", "", "", "3", "170.00"],
        ["Shoes x2", "Active", "2", "130", "1000", "870", "2", "150.00"],  # the shoes' purchases, whole
    ]


def test_campaign_filters_and_the_order_by_a_statistic_apply_to_the_export(client, manager, campaigns):
    client.force_login(manager)

    drafts = lines(client.get(CAMPAIGNS, {"status__exact": "draft"}))
    by_points = lines(client.get(CAMPAIGNS, {"o": "-7"}))  # column 7 (after the checkbox): points awarded

    assert [row[1] for row in drafts[1:]] == ["Idle"]
    assert [row[1] for row in by_points[1:]] == ["Shoes x2", "Bonus", "Idle"]


# The reader's language


def test_an_export_is_in_the_language_of_the_request_even_as_it_streams(client, manager, entries):
    client.force_login(manager)

    response = client.get(ENTRIES, {"_export": "csv"}, headers={"accept-language": "fr"})
    translation.activate("en")  # the request is over: the rows are written after it, in its language still
    rows = lines(response)

    with translation.override("fr"):
        balance_after, earned = gettext("Balance after"), str(EntryKind.EARN.label)
    assert balance_after != "Balance after"
    assert rows[0][7] == balance_after
    assert earned in {row[3] for row in rows[1:]}


# Streaming: one query for the rows, whatever their number, run as the response is read


def make_members(count):
    for _ in range(count):
        ledger.credit(MemberFactory(enrolled_by=PartnerFactory()).account, 5, actor=PartnerFactory())


def make_vouchers(count):
    member = MemberFactory()
    ledger.credit(member.account, 500 * count)
    reward = RewardFactory(points_cost=500, stock=count)
    redemption_create(member=member, reward=reward, quantity=count, idempotency_key=f"k{count}")


def make_campaigns(count):
    member = MemberFactory()
    for _ in range(count):
        CampaignFactory(budget=100, rules=[{"kind": RuleKind.BASKET_BONUS, "points": 1}])
    purchase_post(member, item())


# (url, parameters, rows made by each call, queries to answer: session, user, the user's permissions (2),
# the list's filter choices, its count, the admin log; then the rows: one)
STREAMED = [
    pytest.param(MEMBERS, {}, make_members, 6, id="members"),
    pytest.param(ENTRIES, {"_export": "csv"}, make_members, 6, id="entries"),
    pytest.param(VOUCHERS, {}, make_vouchers, 8, id="vouchers"),  # filters: rewards, partners
    pytest.param(CAMPAIGNS, {}, make_campaigns, 6, id="campaigns"),
]


@pytest.mark.parametrize(("url", "params", "make", "queries"), STREAMED)
def test_an_export_runs_one_query_for_its_rows_whatever_their_number(
    client, manager, django_assert_num_queries, url, params, make, queries
):
    client.force_login(manager)
    ContentType.objects.get_for_models(Member, Entry, Voucher, Campaign)  # cached, as on any running site
    for made, count in ((2, 2), (10, 12)):
        make(made)
        with django_assert_num_queries(queries):
            response = client.get(url, params)
        with django_assert_num_queries(3):  # the rows, in a transaction (here a savepoint and its release)
            rows = lines(response)
        assert len(rows) >= count + 1  # the header and a row each at least


def test_the_rows_are_read_a_chunk_at_a_time_as_the_response_streams(client, manager, monkeypatch):
    make_members(5)
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    client.force_login(manager)

    response = client.get(ENTRIES, {"_export": "csv"})
    stream = iter(response.streaming_content)

    assert next(stream) == b"\xef\xbb\xbf"  # the byte-order mark; nothing read from the entries yet
    header, first = next(stream), next(stream)
    assert header.startswith(b"Entry,")
    assert first.count(b",") == 11
    assert len([first, *stream]) == 5


@pytest.mark.postgres
def test_on_postgresql_the_rows_come_from_a_server_side_cursor(client, manager):
    make_members(3)
    client.force_login(manager)

    stream = iter(client.get(MEMBERS).streaming_content)
    next(stream), next(stream), next(stream)  # the mark, the header, a first row
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        open_while_streaming = cursor.fetchone()[0]
    rest = list(stream)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        open_after = cursor.fetchone()[0]

    assert (open_while_streaming, len(rest), open_after) == (1, 2, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_cursor_is_read_as_the_file_streams_not_computed_whole_first(client, django_user_model):
    """Outside a transaction Django declares the cursor WITH HOLD, which PostgreSQL fills with every row at once."""
    make_members(3)
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-staff-123"))

    stream = iter(client.get(MEMBERS).streaming_content)
    next(stream), next(stream), next(stream)
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        holdable = [row[0] for row in cursor.fetchall()]
    rest = list(stream)

    assert (holdable, len(rest)) == ([False], 2)
