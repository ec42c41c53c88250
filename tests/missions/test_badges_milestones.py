"""Milestone badges: each at its edge, awarded once, in the transaction of what reaches it; the daily task."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from loyalty.clock import program_date
from loyalty.outbox.models import EventType, OutboxEvent
from loyalty.outbox.services import events_dispatch
from members.models import MemberStatus
from members.notifications.kinds import notification_texts
from members.notifications.models import Notification, NotificationKind
from members.services import member_status_change
from missions.badges import milestones
from missions.badges.icons import ICONS
from missions.badges.models import Badge, MemberBadge
from missions.streaks.models import MemberActivity
from tests.factories.campaigns import NOW, item, purchase_post
from tests.factories.games import badge_make, first_purchase_badge
from tests.factories.members import MemberFactory
from tests.factories.tiers import program_tiers

pytestmark = pytest.mark.django_db


def held(member) -> list[str]:
    return sorted(MemberBadge.objects.filter(member=member).values_list("badge__code", flat=True))


def test_the_first_purchase_earns_the_first_purchase_badge_once():
    badge = first_purchase_badge()
    member = MemberFactory()
    assert held(member) == []

    purchase_post(member)
    purchase_post(member, now=NOW + timedelta(hours=1))

    award = MemberBadge.objects.get(member=member)
    assert (award.badge, award.source, award.earned_at) == (badge, "milestone:purchases", NOW)
    events = OutboxEvent.objects.filter(type=EventType.BADGE_EARNED, member=member)
    assert [event.data for event in events] == [
        {
            "member": member.member_number,
            "badge": "first-purchase",
            "name": "First Purchase",
            "source": "milestone:purchases",
        }
    ]


@pytest.mark.parametrize(("purchases", "earned"), [(9, False), (10, True), (11, True)], ids=["9", "10", "11"])
def test_ten_purchases_at_the_edge(purchases, earned):
    badge_make("ten", milestone="purchases", milestone_count=10)
    member = MemberFactory()

    for n in range(purchases):
        purchase_post(member, now=NOW + timedelta(minutes=n))

    assert held(member) == (["ten"] if earned else [])
    assert MemberActivity.objects.get(pk=member.pk).purchases == purchases


def test_a_suspended_member_s_purchase_counts_for_nothing():
    first_purchase_badge()
    member = MemberFactory()
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="fraud check", actor=None)

    purchase_post(member)

    assert held(member) == []
    assert not MemberActivity.objects.filter(pk=member.pk).exists()


def test_a_purchase_that_reaches_no_milestone_costs_no_query_for_badges():
    member = MemberFactory()
    purchase_post(member)  # the member's activity row exists
    with CaptureQueriesContext(connection) as without:
        purchase_post(member)
    badge_make("ten", milestone="purchases", milestone_count=10)
    badge_make("one-year", milestone="years", milestone_count=1)
    milestones.milestones_get()  # loaded once, then from the cache

    with CaptureQueriesContext(connection) as with_badges:
        purchase_post(member)

    assert len(with_badges) == len(without)
    assert held(member) == []


def test_reaching_a_tier_earns_its_badge_and_those_of_the_tiers_below():
    silver, gold, platinum = program_tiers()
    badge_make("silver", milestone="tier", milestone_tier=silver)
    badge_make("gold", milestone="tier", milestone_tier=gold)
    badge_make("platinum", milestone="tier", milestone_tier=platinum)
    member = MemberFactory()

    purchase_post(member, item(unit_price="499.00"))
    assert held(member) == []
    purchase_post(member, item(unit_price="2000.00"))  # 2,499 points: straight to Gold

    assert held(member) == ["gold", "silver"]
    assert set(MemberBadge.objects.filter(member=member).values_list("source", flat=True)) == {"milestone:tier"}
    assert OutboxEvent.objects.filter(type=EventType.BADGE_EARNED, member=member).count() == 2


def test_a_tier_set_by_hand_earns_the_tier_badge(django_user_model):
    from django.contrib.auth.models import Permission

    from members.tiers.services import member_tier_set

    silver, _, _ = program_tiers()
    badge_make("silver", milestone="tier", milestone_tier=silver)
    staff = django_user_model.objects.create_user("boss", password="pw-staff-123", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="set_tier"))
    member = MemberFactory()

    member_tier_set(member=member, tier=silver, until=program_date() + timedelta(days=30), reason="Match", actor=staff)

    assert held(member) == ["silver"]


def test_the_badge_earned_event_becomes_a_notification_in_the_member_s_language(settings):
    settings.LOYALTY_OUTBOX_CONSUMERS = ["members.notifications.services.notifications_from_events"]
    from loyalty.outbox import services as outbox

    outbox._consumers.cache_clear()
    try:
        first_purchase_badge(name_fr="Premier achat")
        member = MemberFactory()
        purchase_post(member)
        events_dispatch(
            event_ids=list(OutboxEvent.objects.filter(type=EventType.BADGE_EARNED).values_list("pk", flat=True))
        )
    finally:
        outbox._consumers.cache_clear()

    notification = Notification.objects.get(member=member, kind=NotificationKind.BADGE_EARNED)
    assert notification.params == {"badge": "First Purchase", "badge_fr": "Premier achat"}
    assert notification_texts(notification)[0] == "You earned the First Purchase badge"
    with translation.override("fr"):
        assert "Premier achat" in notification_texts(notification)[0]


# The daily task: years as a member, and milestones reached before their badge existed.

JOINED = datetime(2026, 3, 10, 9, tzinfo=UTC)


def joined(at: datetime):
    member = MemberFactory()
    type(member).objects.filter(pk=member.pk).update(joined_at=at)
    return member


def test_a_year_as_a_member_is_awarded_on_the_anniversary_by_the_daily_task_once():
    badge_make("one-year", milestone="years", milestone_count=1, icon="calendar")
    member = joined(JOINED)
    newer = joined(JOINED + timedelta(days=1))

    assert milestones.milestones_award_all(now=datetime(2027, 3, 9, 23, 59, tzinfo=UTC)) == 0
    assert milestones.milestones_award_all(now=datetime(2027, 3, 10, 6, 30, tzinfo=UTC)) == 1
    assert milestones.milestones_award_all(now=datetime(2027, 3, 10, 7, 30, tzinfo=UTC)) == 0

    assert (held(member), held(newer)) == (["one-year"], [])
    assert OutboxEvent.objects.filter(type=EventType.BADGE_EARNED).count() == 1


@pytest.mark.parametrize(
    ("today", "years", "joined_by"),
    [
        (date(2027, 3, 10), 1, date(2026, 3, 10)),
        (date(2025, 2, 28), 1, date(2024, 2, 29)),  # joined on 29 February: the anniversary is on the 28th
        (date(2028, 2, 29), 1, date(2027, 2, 28)),
        (date(2028, 2, 28), 4, date(2024, 2, 28)),  # both leap years: the 29th waits for its day
        (date(2030, 1, 1), 5, date(2025, 1, 1)),
    ],
    ids=["plain", "29-feb-on-28", "leap-day-today", "leap-to-leap", "five-years"],
)
def test_the_last_joining_day_for_an_anniversary(today, years, joined_by):
    assert milestones.joined_by_day(today, years) == joined_by


def test_the_daily_task_awards_a_new_badge_to_members_who_already_reached_it():
    member, fewer = MemberFactory(), MemberFactory()
    for n in range(3):
        purchase_post(member, now=NOW + timedelta(minutes=n))
    purchase_post(fewer)
    badge_make("three", milestone="purchases", milestone_count=3)

    assert milestones.milestones_award_all(now=NOW + timedelta(days=1), batch_size=1) == 1
    assert (held(member), held(fewer)) == (["three"], [])


def test_the_daily_task_awards_nothing_to_closed_or_suspended_members():
    badge_make("one-year", milestone="years", milestone_count=1)
    member = joined(JOINED)
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="check", actor=None)

    assert milestones.milestones_award_all(now=datetime(2027, 6, 1, tzinfo=UTC)) == 0


def test_an_inactive_badge_is_not_awarded():
    first_purchase_badge(active=False)
    member = MemberFactory()

    purchase_post(member)

    assert held(member) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"milestone": "purchases"},
        {"milestone": "years", "milestone_count": 0},
        {"milestone": "tier"},
    ],
    ids=["purchases-without-count", "zero-years", "tier-without-tier"],
)
def test_a_milestone_badge_says_what_reaches_it(fields):
    with pytest.raises(ValidationError):
        badge_make("incomplete", **fields)
    assert not Badge.objects.exists()


def test_every_icon_is_a_vendored_svg():
    folder = Path(settings.BASE_DIR) / "static" / "badges"
    assert {path.stem for path in folder.glob("*.svg")} == set(ICONS)
    for path in folder.glob("*.svg"):
        text = path.read_text()
        assert text.startswith("<svg")
        assert "<script" not in text
        assert "href" not in text


def test_a_merge_gives_the_survivor_the_source_s_badges_and_purchases(django_user_model):
    from django.contrib.auth.models import Group

    from members.services import member_merge

    first_purchase_badge()
    badge_make("three", milestone="purchases", milestone_count=3)
    source, survivor = MemberFactory(), MemberFactory()
    purchase_post(source, now=NOW)
    purchase_post(source, now=NOW + timedelta(days=1))
    purchase_post(survivor, now=NOW)
    manager = django_user_model.objects.create_user("boss", password="pw-staff-123", is_staff=True)
    manager.groups.add(Group.objects.get(name="Program manager"))

    member_merge(source=source, survivor=survivor, reason="Duplicate card", actor=manager, now=NOW + timedelta(days=2))

    assert held(survivor) == ["first-purchase", "three"]
    row = MemberActivity.objects.get(pk=survivor.pk)
    assert (row.purchases, row.streak_current, row.streak_longest) == (3, 2, 2)
