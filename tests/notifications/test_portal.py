"""The portal's notifications: the list, the nav's badge, marking read, the preferences; pinned queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.notifications.models import Notification, NotificationKind, NotificationPreference
from tests.factories.members import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(client, member):
    client.force_login(member.user)
    return client


def notify(member, count: int = 1, **fields) -> list[Notification]:
    return [
        Notification.objects.create(
            member=member, kind=NotificationKind.REFERRAL_CREDITED, params={"points": 10 + number}, **fields
        )
        for number in range(count)
    ]


def get(client, name: str, *args, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(name, args=args), params)
    return response, len(captured)


def test_the_list_shows_the_notifications_newest_first_and_the_unread_count(member_client, member):
    first, second = notify(member, 2)
    Notification.objects.filter(pk=first.pk).update(read_at=timezone.now())
    notify(MemberFactory(), 3)  # someone else's

    response, _ = get(member_client, "portal:notifications")

    page = response.context["page"]
    assert [n.pk for n in page.object_list] == [second.pk, first.pk]
    assert [n.title for n in page.object_list] == [
        "A friend you invited earned you 11 points",
        "A friend you invited earned you 10 points",
    ]
    html = response.content.decode()
    assert html.count('data-testid="notification"') == 2
    assert '<span aria-hidden="true">1</span><span class="visually-hidden">1 unread</span>' in html
    assert 'href="/referrals/"' in html
    assert html.count("Mark as read") == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # session, user, member (its unread count annotated), then the count and the page
        ("portal:notifications", 5),
        ("portal:notification_badge", 3),
        # session, user, member, the member's preference
        ("portal:notification_settings", 4),
    ],
)
def test_a_page_runs_a_fixed_number_of_queries(member_client, member, name, expected):
    notify(member, 1)
    with_one = get(member_client, name)[1]
    notify(member, 40)

    assert (with_one, get(member_client, name)[1]) == (expected, expected)


def test_the_badge_counts_the_unread_ones_and_is_empty_without(member_client, member):
    response, _ = get(member_client, "portal:notification_badge")
    assert 'data-testid="notification-badge">' + "</span>" in response.content.decode()

    notify(member, 3)
    response, _ = get(member_client, "portal:notification_badge")
    assert '<span aria-hidden="true">3</span>' in response.content.decode()
    assert 'hx-trigger="notificationsChanged from:body, every 60s"' in response.content.decode()


def test_every_portal_page_shows_the_badge(member_client, member):
    notify(member, 2)

    response = member_client.get(reverse("portal:dashboard"))

    assert '<span aria-hidden="true">2</span>' in response.content.decode()


def test_marking_one_read_with_htmx_answers_the_item_and_refreshes_the_badge(member_client, member):
    notification, other = notify(member, 2)

    response = member_client.post(
        reverse("portal:notification_mark_read", args=[notification.pk]), headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "notificationsChanged"
    assert 'data-testid="notification-read"' in response.content.decode()
    notification.refresh_from_db()
    other.refresh_from_db()
    assert (notification.read_at is not None, other.read_at) == (True, None)


def test_marking_read_without_htmx_goes_back_to_the_list_and_keeps_the_first_time(member_client, member):
    (notification,) = notify(member)
    url = reverse("portal:notification_mark_read", args=[notification.pk])

    assert member_client.post(url).url == reverse("portal:notifications")
    notification.refresh_from_db()
    first = notification.read_at
    member_client.post(url)

    notification.refresh_from_db()
    assert notification.read_at == first


def test_another_members_notification_is_a_404_and_stays_unread(member_client):
    (theirs,) = notify(MemberFactory())

    response = member_client.post(reverse("portal:notification_mark_read", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_read_is_a_post(member_client, member):
    (notification,) = notify(member)

    response = member_client.get(reverse("portal:notification_mark_read", args=[notification.pk]))

    assert response.status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read_marks_only_the_members_own(member_client, member):
    notify(member, 3)
    (theirs,) = notify(MemberFactory())

    response = member_client.post(reverse("portal:notifications_mark_all_read"))

    assert response.url == reverse("portal:notifications")
    assert Notification.objects.filter(member=member, read_at=None).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_preferences_show_the_defaults_and_save_the_choices(member_client, member):
    response, _ = get(member_client, "portal:notification_settings")
    form = response.context["form"]
    assert {name: form[name].value() for name in form.fields} == {
        "points_earned": False,
        "expiry_reminder": True,
        "tier_up": True,
        "tier_down": True,
        "voucher_issued": True,
        "referral_credited": True,
        "badge_earned": True,
    }

    response = member_client.post(
        reverse("portal:notification_settings"), {"points_earned": "on", "tier_up": "on", "voucher_issued": "on"}
    )

    assert response.url == reverse("portal:notification_settings")
    saved = NotificationPreference.objects.get(member=member)
    assert (
        saved.points_earned,
        saved.expiry_reminder,
        saved.tier_up,
        saved.tier_down,
        saved.voucher_issued,
        saved.referral_credited,
        saved.badge_earned,
    ) == (True, False, True, False, True, False, False)


@pytest.mark.parametrize("name", ["portal:notifications", "portal:notification_badge", "portal:notification_settings"])
def test_visitors_are_sent_to_log_in(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("portal:login"))


def test_the_list_is_written_in_the_readers_language(member_client, member):
    Notification.objects.create(member=member, kind=NotificationKind.TIER_UP, params={"tier": "Gold", "tier_fr": "Or"})
    Notification.objects.create(
        member=member, kind=NotificationKind.EXPIRY_REMINDER, params={"points": 1945, "expires_on": "2026-12-31"}
    )
    member_client.post(reverse("portal:language"), {"language": "fr"})

    html = member_client.get(reverse("portal:notifications")).content.decode()

    assert '<html lang="fr">' in html
    assert "Or" in html
    assert "Gold" not in html
    assert "31 décembre 2026" in html
