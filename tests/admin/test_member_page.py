"""The member page support staff use on a phone call, and its buttons."""

import uuid
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Adjustment, Entry, EntryKind
from members.models import MemberStatus, MemberStatusChange
from members.services import member_status_change
from members.tiers.models import QualifyingDay
from tests.factories.members import MemberFactory
from tests.helpers import ledger_state


@pytest.fixture
def member(db):
    member = MemberFactory(first_name="Ada", last_name="Lovelace", email="ada@example.com")
    ledger.credit(member.account, 100, memo="Welcome")
    return member


def page_url(member):
    return reverse("admin:members_member_change", args=[member.pk])


def adjust(client, member, points, reason="Goodwill", token=None):
    data = {"points": str(points), "reason": reason, "token": str(token or uuid.uuid4())}
    return client.post(reverse("admin:ledger_account_adjust", args=[member.account.pk]), data)


def lock_out(member, ip="203.0.113.7"):
    return AccessAttempt.objects.create(
        username=member.user.username,
        ip_address=ip,
        user_agent="test",
        http_accept="*/*",
        path_info="/login/",
        get_data="",
        post_data="",
        failures_since_start=5,
    )


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_the_member_page_answers_a_call_in_one_screen(client, member, staff_in):
    ledger.credit(member.account, 40, available_at=timezone.now() + timedelta(days=3))
    client.force_login(staff_in("Support agent"))

    response = client.get(page_url(member))

    assert response.status_code == 200
    html = response.content.decode()
    for text in ["Ada Lovelace", "ada@example.com", member.member_number, "Active", "English", "Welcome"]:
        assert text in html
    support = response.context["support"]
    assert (support.member.account.balance, support.member.account.pending) == (100, 40)
    assert [row["points"] for row in support.pending] == [40]
    assert [row["points"] for row in support.expiring] == [100]
    assert [lot.amount for lot in support.lots] == [100, 40]


def test_the_history_and_the_lots_come_a_page_at_a_time(client, member, staff_in):
    for n in range(24):
        ledger.credit(member.account, n + 1)
    client.force_login(staff_in("Support agent"))

    first = client.get(page_url(member))
    second = client.get(page_url(member), {"entries": 2, "lots": 3})

    assert len(first.context["entries"]) == 20
    assert first.context["entries"][0]["entry"].amount == 24
    assert len(second.context["entries"]) == 5
    assert second.context["support"].lots.number == 3
    assert "Page 2 of 2" in second.content.decode()


@pytest.mark.parametrize("page", ["0", "x", "\x00", "999"], ids=["zero", "letters", "NUL", "past the end"])
def test_a_page_number_that_does_not_exist_shows_a_page_that_does(client, member, staff_in, page):
    client.force_login(staff_in("Support agent"))

    assert client.get(page_url(member), {"entries": page, "lots": page}).status_code == 200


def member_page_queries(client, member, django_assert_num_queries, expected):
    client.get(page_url(member))  # warm the content-type cache
    with django_assert_num_queries(expected):
        assert client.get(page_url(member)).status_code == 200


def test_the_member_page_runs_a_fixed_number_of_queries_whatever_the_history(
    client, member, staff_in, django_assert_num_queries
):
    agent = staff_in("Support agent")
    client.force_login(agent)
    ledger.adjust(member.account, 5, reason="Staff", actor=agent)
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Fraud check", actor=agent)
    lock_out(member)
    # session, user, the user's and the groups' permissions, member, status changes, expiry, pending,
    # lots (count, page), entries (count, page), entries' actors (users), login locks, the tier progress
    # (policy, tiers, the member's tier, its qualifying days), the tier history (19), then the latest
    # purchases, vouchers, holds, referrals, notifications and badges (test_member_page_sections.py: with purchases
    # their breakdown is one more, and a program manager's page reads the webhook deliveries too)
    member_page_queries(client, member, django_assert_num_queries, 25)

    member_status_change(member=member, status=MemberStatus.ACTIVE, reason="Cleared", actor=agent)
    for n in range(60):
        ledger.credit(member.account, n + 1, expires_on=timezone.localdate() + timedelta(days=n))
        ledger.adjust(member.account, 1, reason="More", actor=agent)
    member_page_queries(client, member, django_assert_num_queries, 25)


def test_a_double_submitted_adjustment_credits_once_and_shows_the_first_result(client, member, staff_in):
    client.force_login(staff_in("Support agent"))
    token = uuid.uuid4()

    first = adjust(client, member, 25, token=token)
    second = adjust(client, member, 25, token=token)

    assert first.status_code == second.status_code == 302
    assert member.account.entries.filter(kind=EntryKind.ADJUST).count() == 1
    member.account.refresh_from_db()
    assert member.account.balance == 125
    page = client.get(second["Location"])
    assert messages_of(page) == ["Adjusted by +25 points: the balance is 125."] * 2  # the replay answers as the first


def test_the_member_page_reverses_a_credit_in_part_with_a_reason(client, member, staff_in):
    agent = staff_in("Support agent")
    client.force_login(agent)
    credit = member.account.entries.get()
    url = reverse("admin:ledger_entry_reverse", args=[credit.pk])
    token = str(uuid.uuid4())

    form = client.get(url)
    response = client.post(url, {"points": "30", "reason": "Returned item", "token": token})
    again = client.post(url, {"points": "30", "reason": "Returned item", "token": token})

    assert form.context["form"]["points"].value() == 100
    assert response.status_code == again.status_code == 302
    reversal = Entry.objects.get(kind=EntryKind.REVERSE)
    assert (reversal.amount, reversal.memo, reversal.actor, reversal.reverses) == (-30, "Returned item", agent, credit)
    member.account.refresh_from_db()
    assert member.account.balance == 70
    assert audit() == []


def test_a_whole_reversal_of_a_debit_gives_the_points_back(client, member, staff_in):
    client.force_login(staff_in("Support agent"))
    debit = ledger.debit(member.account, 60, memo="Gift card")
    url = reverse("admin:ledger_entry_reverse", args=[debit.pk])

    response = client.post(url, {"points": "60", "reason": "Order cancelled", "token": str(uuid.uuid4())})

    assert response.status_code == 302
    member.account.refresh_from_db()
    assert member.account.balance == 100


def test_a_reversal_beyond_what_is_left_is_refused_and_writes_nothing(client, member, staff_in):
    client.force_login(staff_in("Support agent"))
    credit = member.account.entries.get()
    before = ledger_state(member.account)

    response = client.post(
        reverse("admin:ledger_entry_reverse", args=[credit.pk]),
        {"points": "101", "reason": "Too much", "token": str(uuid.uuid4())},
    )

    assert response.status_code == 200
    assert "100 points of this entry can still be reversed." in response.content.decode()
    assert ledger_state(member.account) == before


def test_a_support_agent_suspends_and_reactivates_with_a_reason(client, member, staff_in):
    agent = staff_in("Support agent")
    client.force_login(agent)
    url = reverse("admin:members_member_status", args=[member.pk])

    suspended = client.post(url, {"status": "suspended", "reason": "Card reported stolen"})
    member.refresh_from_db()
    assert member.status == MemberStatus.SUSPENDED
    reactivated = client.post(url, {"status": "active", "reason": "Card found"})

    assert suspended.status_code == reactivated.status_code == 302
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    changes = list(MemberStatusChange.objects.order_by("pk").values_list("to_status", "reason", "actor"))
    assert changes == [("suspended", "Card reported stolen", agent.pk), ("active", "Card found", agent.pk)]


def test_a_status_change_without_a_reason_changes_nothing(client, member, staff_in):
    client.force_login(staff_in("Support agent"))

    response = client.post(reverse("admin:members_member_status", args=[member.pk]), {"status": "suspended"})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    assert not MemberStatusChange.objects.exists()


def test_a_support_agent_cannot_close_an_account(client, member, staff_in):
    client.force_login(staff_in("Support agent"))
    before = ledger_state(member.account)

    page = client.get(page_url(member)).content.decode()
    response = client.post(
        reverse("admin:members_member_status", args=[member.pk]),
        {"status": "closed", "reason": "Asked to", "confirm": "on"},
    )

    assert "Close the account" not in page
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    assert ledger_state(member.account) == before


def test_a_program_manager_closes_an_account_only_once_confirmed(client, member, staff_in):
    manager = staff_in("Program manager")
    client.force_login(manager)
    url = reverse("admin:members_member_status", args=[member.pk])

    unconfirmed = client.post(url, {"status": "closed", "reason": "Asked to"})
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    confirmed = client.post(url, {"status": "closed", "reason": "Asked to", "confirm": "on"})

    assert unconfirmed.status_code == confirmed.status_code == 302
    member.refresh_from_db()
    assert member.status == MemberStatus.CLOSED
    forfeit = member.account.entries.get(kind=EntryKind.FORFEIT)
    assert (forfeit.amount, forfeit.memo, forfeit.actor) == (-100, "Asked to", manager)


def test_support_sends_the_portals_password_reset_e_mail_within_the_cap(client, member, staff_in, settings):
    settings.PASSWORD_RESET_EMAILS_PER_HOUR = 2
    agent = staff_in("Support agent")
    client.force_login(agent)
    url = reverse("admin:members_member_password_reset", args=[member.pk])

    responses = [client.post(url, follow=True) for _ in range(3)]

    assert len(mail.outbox) == 2
    assert mail.outbox[0].to == ["ada@example.com"]
    assert "/password-reset/" in mail.outbox[0].body
    assert messages_of(responses[0]) == ["A password-reset e-mail is on its way to ada@example.com."]
    assert "already received 2 reset e-mails" in messages_of(responses[2])[0]
    assert LogEntry.objects.filter(user=agent, change_message="Sent a password-reset e-mail.").count() == 2


def test_support_sees_a_login_lock_and_lifts_it(client, member, staff_in):
    agent = staff_in("Support agent")
    client.force_login(agent)
    lock_out(member)

    page = client.get(page_url(member)).content.decode()
    response = client.post(reverse("admin:members_member_unlock", args=[member.pk]))

    assert "Locked out after too many wrong passwords" in page
    assert "203.0.113.7" in page
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert "Not locked out." in client.get(page_url(member)).content.decode()
    assert LogEntry.objects.filter(user=agent, change_message="Lifted the login lock.").count() == 1


BUTTONS = ["Adjust points", "Reverse", "Suspend", "Close the account", "Send a password-reset e-mail", "Lift the"]


@pytest.mark.parametrize(
    ("group", "shown"),
    [
        ("Program manager", BUTTONS),
        ("Support agent", ["Adjust points", "Reverse", "Suspend", "Send a password-reset e-mail", "Lift the"]),
        ("Analyst", []),
    ],
)
def test_each_role_sees_only_the_buttons_it_may_use(client, member, staff_in, group, shown):
    lock_out(member)
    client.force_login(staff_in(group))

    html = client.get(page_url(member)).content.decode()

    assert [button for button in BUTTONS if button in html] == shown


@pytest.mark.parametrize("name", ["members_member_status", "members_member_password_reset", "members_member_unlock"])
def test_an_analyst_may_press_no_button(client, member, staff_in, name):
    lock_out(member)
    client.force_login(staff_in("Analyst"))

    response = client.post(reverse(f"admin:{name}", args=[member.pk]), {"status": "suspended", "reason": "x"})

    assert response.status_code == 403
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE
    assert AccessAttempt.objects.count() == 1
    assert mail.outbox == []


def test_an_analyst_may_not_reverse(client, member, staff_in):
    client.force_login(staff_in("Analyst"))
    credit = member.account.entries.get()

    response = client.post(
        reverse("admin:ledger_entry_reverse", args=[credit.pk]),
        {"points": "10", "reason": "x", "token": str(uuid.uuid4())},
    )

    assert response.status_code == 403
    assert member.account.entries.count() == 1


def test_the_member_page_cannot_edit_the_member(client, member, staff_in):
    client.force_login(staff_in("Program manager"))

    response = client.post(page_url(member), {"status": "closed"})

    assert response.status_code == 403
    member.refresh_from_db()
    assert member.status == MemberStatus.ACTIVE


def test_an_adjustment_marked_qualifying_counts_towards_tiers_and_a_plain_one_does_not(client, member, staff_in):
    client.force_login(staff_in("Support agent"))
    before = qualifying_points(member)

    plain = adjust(client, member, 30)
    marked = client.post(
        reverse("admin:ledger_account_adjust", args=[member.account.pk]),
        {"points": "40", "reason": "Lost receipt", "qualifying": "on", "token": str(uuid.uuid4())},
    )
    refused = client.post(
        reverse("admin:ledger_account_adjust", args=[member.account.pk]),
        {"points": "-5", "reason": "Oops", "qualifying": "on", "token": str(uuid.uuid4())},
    )

    assert (plain.status_code, marked.status_code) == (302, 302)
    assert "qualifying" in refused.context["form"].errors
    assert qualifying_points(member) == before + 40
    assert list(Adjustment.objects.order_by("pk").values_list("points", "qualifying")) == [(30, False), (40, True)]


def qualifying_points(member) -> int:
    return sum(QualifyingDay.objects.filter(member=member).values_list("points", flat=True))
