"""The welcome e-mail of a portal sign-up waits until the member confirms the address, then goes once.

The tasks run in this process (Celery's eager mode) so the whole chain is the real one: the
sign-up's outbox event, its dispatch, the notification, its e-mail task, Django's mail.
"""

import re

import pytest
from django.core import mail
from django.urls import reverse

from loyalty.celery import app
from loyalty.outbox.models import OutboxEvent
from loyalty.outbox.services import events_dispatch
from members.models import Member
from members.notifications.models import Notification, NotificationKind
from members.services import member_email_verify
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory

SIGN_UP = {
    "email": "grace@example.com",
    "first_name": "Grace",
    "last_name": "Hopper",
    "password1": "a-long-enough-secret",
    "password2": "a-long-enough-secret",
    "language": "fr",
}
WELCOME_FR = "Bienvenue dans le programme de fidélité"


@pytest.fixture
def tasks_here(django_capture_on_commit_callbacks):
    """Run what the request enqueues after its commit, in this process; yields a context that does so."""
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield lambda: django_capture_on_commit_callbacks(execute=True)
    app.conf.task_always_eager = before


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def sign_up_then_confirm_link(client, tasks_here) -> str:
    with tasks_here():
        client.post(reverse("portal:signup"), SIGN_UP)
    (confirmation,) = mail.outbox
    return re.search(r"http://testserver(/confirm/\S+/)", confirmation.body).group(1)


def test_a_sign_up_gets_only_the_confirmation_until_it_confirms_then_the_welcome_once(client, db, tasks_here):
    link = sign_up_then_confirm_link(client, tasks_here)
    welcome = Notification.objects.get(kind=NotificationKind.WELCOME)
    assert (welcome.send_email, welcome.email_sent_at) == (False, None)  # in the portal's list, not mailed

    with tasks_here():
        response = client.post(link)
    with tasks_here():
        client.post(link)  # a double click, or the link opened again

    assert response.status_code == 302
    assert subjects()[1:] == [WELCOME_FR]
    assert mail.outbox[1].to == ["grace@example.com"]
    welcome.refresh_from_db()
    assert welcome.send_email is True
    assert welcome.email_sent_at is not None


def test_confirming_again_later_sends_no_second_welcome(client, db, tasks_here):
    link = sign_up_then_confirm_link(client, tasks_here)
    with tasks_here():
        client.post(link)
    member = Member.objects.get()

    with tasks_here():
        member_email_verify(member=member)
        member.email_verified_at = None  # as if a second confirmation raced the first
        member_email_verify(member=member)

    assert subjects()[1:] == [WELCOME_FR]


def test_a_member_who_confirms_before_the_welcome_is_written_is_welcomed_when_it_is(db, tasks_here):
    member = MemberFactory(email="ada@example.com", password="a-long-enough-secret")  # its event not dispatched
    member_email_verify(member=member)
    assert not Notification.objects.exists()

    with tasks_here():
        events_dispatch(event_ids=list(OutboxEvent.objects.filter(member=member).values_list("pk", flat=True)))

    assert subjects() == ["Welcome to the loyalty program"]


def test_a_partners_enrolment_is_welcomed_at_once(db, tasks_here):
    with tasks_here():
        MemberFactory(email="bob@example.com", password=None, enrolled_by=PartnerFactory())

    assert subjects() == ["Welcome to the loyalty program"]
    assert mail.outbox[0].to == ["bob@example.com"]
