"""Notification e-mails: in the member's language, text and HTML, links to the portal, sent once however often the
task runs (members/notifications/services.py)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from loyalty.outbox.models import EventType
from members.notifications import services, tasks
from members.notifications.kinds import notification_texts
from members.notifications.models import Notification
from members.notifications.services import notification_preferences_set
from members.services import member_email_verify
from tests.factories.members import MemberFactory
from tests.factories.tiers import TierChangeFactory, program_tiers

from .conftest import dispatch

pytestmark = pytest.mark.django_db


def tier_up(capture, member) -> Notification:
    tiers = program_tiers()
    change = TierChangeFactory(member=member, from_tier=tiers[0], to_tier=tiers[1])
    dispatch(capture, type=EventType.TIER_CHANGED, member=member, data={"change": change.pk, "to_tier": "Gold"})
    return Notification.objects.get(member=member)


def test_the_email_has_a_subject_a_text_and_an_html_part_with_absolute_links(
    member, enqueued, django_capture_on_commit_callbacks
):
    notification = tier_up(django_capture_on_commit_callbacks, member)

    assert tasks.send_email(notification.pk) is True

    (message,) = mail.outbox
    assert (message.subject, message.to) == ("You reached the Gold tier", ["ada@example.com"])
    assert message.body.startswith("Hello Ada,\n\nYou reached the Gold tier\n\nThank you for your loyalty!")
    assert "https://loyalty.example.com/tier/\n" in message.body
    assert "https://loyalty.example.com/notifications/settings/" in message.body
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert '<html lang="en">' in html
    assert '<h1 style="font-size:20px;margin:0 0 12px;">You reached the Gold tier</h1>' in html
    assert 'href="https://loyalty.example.com/tier/"' in html
    notification.refresh_from_db()
    assert notification.email_sent_at is not None


def test_a_french_member_gets_the_email_in_french(enqueued, django_capture_on_commit_callbacks):
    member = member_email_verify(member=MemberFactory(email="zoe@example.com", first_name="", language="fr"))
    notification = tier_up(django_capture_on_commit_callbacks, member)

    tasks.send_email(notification.pk)

    (message,) = mail.outbox
    with translation.override("fr"):
        title, text = notification_texts(notification)
    assert "Or" in title  # the tier's French name, whatever the catalog holds for the sentence
    assert message.subject == title
    assert message.body.startswith(f"Bonjour,\n\n{title}\n\n{text}\n")
    ((html, _),) = message.alternatives
    assert '<html lang="fr">' in html
    assert "<p>Bonjour,</p>" in html


def test_a_french_expiry_date_is_written_the_french_way(enqueued):
    member = member_email_verify(member=MemberFactory(email="zoe@example.com", language="fr"))
    notification = Notification.objects.create(
        member=member, kind="expiry_reminder", params={"points": 1945, "expires_on": "2026-12-31"}, send_email=True
    )

    tasks.send_email(notification.pk)

    (message,) = mail.outbox
    assert "1\u202f945" in message.subject or "1\xa0945" in message.subject
    assert "31 décembre 2026" in message.subject


def test_the_task_run_twice_sends_once(member, enqueued, django_capture_on_commit_callbacks):
    notification = tier_up(django_capture_on_commit_callbacks, member)

    assert (tasks.send_email(notification.pk), tasks.send_email(notification.pk)) == (True, False)

    assert len(mail.outbox) == 1


def test_an_opt_out_before_the_send_wins(member, enqueued, django_capture_on_commit_callbacks):
    notification = tier_up(django_capture_on_commit_callbacks, member)
    notification_preferences_set(member=member, tier_up=False)

    assert tasks.send_email(notification.pk) is False

    notification.refresh_from_db()
    assert (mail.outbox, notification.send_email, notification.email_sent_at) == ([], False, None)


def test_a_failed_send_is_left_due_and_sent_by_the_next_run(
    member, enqueued, django_capture_on_commit_callbacks, monkeypatch
):
    notification = tier_up(django_capture_on_commit_callbacks, member)

    def refuse(*args, **kwargs):
        raise OSError("the mail server is down")

    with monkeypatch.context() as patched:
        patched.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
        with pytest.raises(OSError, match="down"):
            tasks.send_email(notification.pk)
    notification.refresh_from_db()
    assert notification.email_sent_at is None

    assert tasks.send_email(notification.pk) is True
    assert len(mail.outbox) == 1


def test_the_sweep_enqueues_what_is_still_due_after_five_minutes_and_for_two_days(member, enqueued):
    now = timezone.now()

    def due(age: timedelta, **fields) -> Notification:
        return Notification.objects.create(
            member=member, kind="welcome", created_at=now - age, send_email=True, **fields
        )

    late = due(timedelta(minutes=6))
    due(timedelta(minutes=1))  # its own enqueue may still be on the way
    due(timedelta(days=3))  # too late to be useful
    due(timedelta(minutes=6), email_sent_at=now)
    Notification.objects.create(member=member, kind="welcome", created_at=now - timedelta(hours=1))

    assert services.notification_emails_send_pending(now=now) == 1
    assert enqueued == [late.pk]


EVERY_KIND = [
    ("welcome", {"number": "1234567897"}, "Welcome to the loyalty program", "/"),
    ("points_earned", {"points": 12, "balance": 40}, "You earned 12 points", "/history/"),
    ("expiry_reminder", {"points": 5, "expires_on": "2026-12-31"}, "5 points expire on Dec. 31, 2026", "/rewards/"),
    ("tier_up", {"tier": "Gold"}, "You reached the Gold tier", "/tier/"),
    ("tier_down", {}, "You no longer hold a tier", "/tier/"),
    ("voucher_issued", {"reward": "Tea", "voucher_id": 7}, "Your voucher for Tea is ready", "/vouchers/7/"),
    ("referral_credited", {"points": 1}, "A friend you invited earned you 1 point", "/referrals/"),
]


@pytest.mark.parametrize(("kind", "params", "subject", "path"), EVERY_KIND, ids=[row[0] for row in EVERY_KIND])
def test_every_kind_has_its_subject_and_its_link(member, kind, params, subject, path):
    member.marketing_consent = True
    member.save(update_fields=["marketing_consent"])
    notification_preferences_set(member=member, points_earned=True)
    notification = Notification.objects.create(member=member, kind=kind, params=params, send_email=True)

    assert tasks.send_email(notification.pk) is True

    (message,) = mail.outbox
    assert message.subject == subject
    assert f"\nhttps://loyalty.example.com{path}\n" in message.body
    assert f'href="https://loyalty.example.com{path}"' in message.alternatives[0][0]
