"""The weekly expiry reminder: one per member and expiry date, ever; opt-outs, statuses and languages respected."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from loyalty.clock import program_date
from loyalty.ledger import services as ledger
from members.models import MemberStatus
from members.notifications import tasks
from members.notifications.models import ExpiryReminder, Notification, NotificationKind
from members.notifications.services import expiry_reminders_create, notification_preferences_set
from members.services import member_email_verify, member_status_change
from tests.factories.members import MemberFactory

pytestmark = pytest.mark.django_db


def in_days(days: int):
    return program_date() + timedelta(days=days)


def reminders() -> list[tuple]:
    return sorted(ExpiryReminder.objects.values_list("member__user__email", "expires_on", "points"))


def send_all(ids: list[int]) -> None:
    for pk in ids:
        tasks.send_email(pk)


def test_points_expiring_within_30_days_get_one_reminder_per_date_summed_over_lots(
    member, enqueued, django_capture_on_commit_callbacks
):
    ledger.credit(member.account, 100, expires_on=in_days(10))
    ledger.credit(member.account, 50, expires_on=in_days(10))
    ledger.credit(member.account, 70, expires_on=in_days(30))
    ledger.credit(member.account, 900, expires_on=in_days(31))  # too far
    ledger.credit(member.account, 40, expires_on=None)  # never expires
    ledger.credit(member.account, 60, expires_on=in_days(5), available_at=timezone.now() + timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert expiry_reminders_create() == 2

    assert reminders() == [("ada@example.com", in_days(10), 150), ("ada@example.com", in_days(30), 70)]
    notifications = Notification.objects.filter(member=member).order_by("params__expires_on")
    assert [(n.kind, n.params, n.send_email) for n in notifications] == [
        (NotificationKind.EXPIRY_REMINDER, {"points": 150, "expires_on": str(in_days(10))}, True),
        (NotificationKind.EXPIRY_REMINDER, {"points": 70, "expires_on": str(in_days(30))}, True),
    ]
    assert sorted(enqueued) == sorted(n.pk for n in notifications)


def test_repeated_runs_remind_once_per_member_and_date(member, enqueued, django_capture_on_commit_callbacks):
    ledger.credit(member.account, 100, expires_on=in_days(10))
    with django_capture_on_commit_callbacks(execute=True):
        assert expiry_reminders_create() == 1
    send_all(enqueued)
    ledger.credit(member.account, 25, expires_on=in_days(10))  # more points on the same day: no second e-mail

    with django_capture_on_commit_callbacks(execute=True):
        runs = [expiry_reminders_create(now=timezone.now() + timedelta(days=days)) for days in (0, 7)]
    send_all(enqueued)

    assert runs == [0, 0]
    assert reminders() == [("ada@example.com", in_days(10), 100)]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == f"100 points expire on {date_format(in_days(10), 'DATE_FORMAT')}"


def test_a_new_expiry_date_coming_into_the_window_gets_its_own_reminder(member, enqueued):
    ledger.credit(member.account, 100, expires_on=in_days(10))
    ledger.credit(member.account, 30, expires_on=in_days(40))
    expiry_reminders_create()

    assert expiry_reminders_create(now=timezone.now() + timedelta(days=14)) == 1

    assert reminders() == [("ada@example.com", in_days(10), 100), ("ada@example.com", in_days(40), 30)]


@pytest.mark.parametrize("status", [MemberStatus.SUSPENDED, MemberStatus.CLOSED])
def test_suspended_and_closed_members_are_skipped(member, enqueued, status):
    ledger.credit(member.account, 100, expires_on=in_days(10))
    member_status_change(member=member, status=status, reason="Check", actor=None)

    assert expiry_reminders_create() == 0

    assert (reminders(), enqueued) == ([], [])


def test_a_member_who_opted_out_is_skipped_and_the_others_are_not(member, enqueued):
    other = member_email_verify(member=MemberFactory(email="bob@example.com"))
    for someone in (member, other):
        ledger.credit(someone.account, 100, expires_on=in_days(3))
    notification_preferences_set(member=member, expiry_reminder=False)

    assert expiry_reminders_create() == 1

    assert reminders() == [("bob@example.com", in_days(3), 100)]


def test_points_already_spent_or_expired_are_not_counted(member, enqueued):
    ledger.credit(member.account, 100, expires_on=in_days(3))
    ledger.debit(member.account, 100)

    assert expiry_reminders_create() == 0


def test_the_reminder_is_mailed_in_the_members_language(enqueued, django_capture_on_commit_callbacks):
    member = member_email_verify(member=MemberFactory(email="zoe@example.com", language="fr"))
    day = program_date() + timedelta(days=3)
    ledger.credit(member.account, 1945, expires_on=day)
    with django_capture_on_commit_callbacks(execute=True):
        expiry_reminders_create()

    send_all(enqueued)

    (message,) = mail.outbox
    months = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ]
    assert f"{day.day} {months[day.month - 1]} {day.year}" in message.subject
    assert '<html lang="fr">' in message.alternatives[0][0]
    assert "https://loyalty.example.com/rewards/" in message.body


def test_small_batches_write_the_same_reminders(enqueued):
    members = MemberFactory.create_batch(5)
    for number, someone in enumerate(members):
        ledger.credit(someone.account, 10 * (number + 1), expires_on=in_days(number + 1))

    assert expiry_reminders_create(batch_size=2) == 5

    assert sorted(ExpiryReminder.objects.values_list("member_id", "points")) == [
        (someone.pk, 10 * (number + 1)) for number, someone in enumerate(members)
    ]


def test_a_batch_runs_a_fixed_number_of_queries(enqueued):
    def queries_for(count: int) -> int:
        for someone in MemberFactory.create_batch(count):
            ledger.credit(someone.account, 10, expires_on=in_days(count))
        with CaptureQueriesContext(connection) as captured:
            expiry_reminders_create(batch_size=10_000)
        return len(captured)

    # the last member id, then per batch: its savepoint, the INSERT … SELECT … RETURNING, the notifications' insert,
    # the savepoint's release
    assert (queries_for(1), queries_for(30)) == (5, 5)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_remind_once(enqueued):
    from threading import Barrier, Thread

    member = MemberFactory()
    ledger.credit(member.account, 100, expires_on=in_days(10))
    barrier, written = Barrier(2), []

    def run():
        barrier.wait()
        try:
            written.append(expiry_reminders_create())
        finally:
            connection.close()

    threads = [Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(written) == [0, 1]
    assert ExpiryReminder.objects.count() == Notification.objects.count() == 1
    assert enqueued == [Notification.objects.get().pk]
