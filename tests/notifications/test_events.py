"""Outbox events become notifications by the member's preferences and the consent rule (members/notifications)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType
from members.models import MemberStatus
from members.notifications.kinds import notification_path, notification_texts
from members.notifications.models import Notification, NotificationKind
from members.notifications.services import notification_preferences_set, notifications_from_events
from members.services import member_status_change
from rewards.services import redemption_create
from tests.factories.members import MemberFactory
from tests.factories.rewards import RewardFactory
from tests.factories.tiers import TierChangeFactory, program_tiers

from .conftest import dispatch

pytestmark = pytest.mark.django_db


def tier_change(member, before, after) -> dict:
    """A tier change as the tier services write it, and its event's data as they write it."""
    change = TierChangeFactory(member=member, from_tier=before, to_tier=after)
    return {
        "member": member.member_number,
        "from_tier": before.name if before else None,
        "to_tier": after.name if after else None,
        "reason": change.reason,
        "change": change.pk,
    }


def only_notification(member) -> Notification:
    (notification,) = Notification.objects.filter(member=member)
    return notification


def test_an_enrolment_welcomes_the_member_and_mails_it(member, enqueued, django_capture_on_commit_callbacks):
    event = dispatch(django_capture_on_commit_callbacks, type=EventType.MEMBER_ENROLLED, member=member, data={})

    notification = only_notification(member)
    assert (notification.kind, notification.params, notification.event_id) == (
        NotificationKind.WELCOME,
        {"number": member.member_number},
        event.pk,
    )
    assert (notification.send_email, notification.email_sent_at, notification.read_at) == (True, None, None)
    assert enqueued == [notification.pk]
    assert notification_texts(notification)[0] == "Welcome to the loyalty program"


@pytest.mark.parametrize(
    ("before", "after", "kind", "title"),
    [
        (None, "Silver", NotificationKind.TIER_UP, "You reached the Silver tier"),
        ("Silver", "Gold", NotificationKind.TIER_UP, "You reached the Gold tier"),
        ("Platinum", "Gold", NotificationKind.TIER_DOWN, "Your tier is now Gold"),
        ("Silver", None, NotificationKind.TIER_DOWN, "You no longer hold a tier"),
    ],
    ids=["first-tier", "up", "down", "no-tier-any-more"],
)
def test_a_tier_change_says_up_or_down_by_rank(
    member, enqueued, django_capture_on_commit_callbacks, before, after, kind, title
):
    tiers = {tier.name: tier for tier in program_tiers()}
    data = tier_change(member, tiers.get(before), tiers.get(after))

    dispatch(django_capture_on_commit_callbacks, type=EventType.TIER_CHANGED, member=member, data=data)

    notification = only_notification(member)
    assert (notification.kind, notification_texts(notification)[0]) == (kind, title)
    expected = {"tier": after, "tier_fr": {"Silver": "Argent", "Gold": "Or"}[after]} if after else {}
    assert notification.params == expected
    assert enqueued == [notification.pk]


def test_a_voucher_issued_names_the_reward_and_links_to_the_voucher(
    member, enqueued, django_capture_on_commit_callbacks
):
    from loyalty.ledger import services as ledger

    ledger.credit(member.account, 1000)
    reward = RewardFactory(code="coffee", name="Free coffee", name_fr="Café offert", points_cost=500)
    (voucher,) = redemption_create(member=member, reward=reward, idempotency_key="k1").vouchers
    Notification.objects.all().delete()  # whatever the redemption's own events wrote once they land

    dispatch(
        django_capture_on_commit_callbacks,
        type=EventType.VOUCHER_ISSUED,
        member=member,
        data={"redemption": voucher.redemption_id, "reward": "coffee", "vouchers": [{"id": voucher.pk}]},
    )

    notification = only_notification(member)
    assert (notification.kind, notification.params) == (
        NotificationKind.VOUCHER_ISSUED,
        {"reward": "Free coffee", "reward_fr": "Café offert", "count": 1, "voucher_id": voucher.pk},
    )
    assert notification_texts(notification)[0] == "Your voucher for Free coffee is ready"
    assert notification_path(notification) == f"/vouchers/{voucher.pk}/"


def test_vouchers_of_one_redemption_are_one_notification_linking_to_the_list(
    member, enqueued, django_capture_on_commit_callbacks
):
    from loyalty.ledger import services as ledger

    ledger.credit(member.account, 1000)
    reward = RewardFactory(code="coffee", name="Free coffee", points_cost=100)
    vouchers = redemption_create(member=member, reward=reward, quantity=3, idempotency_key="k1").vouchers
    Notification.objects.all().delete()

    dispatch(
        django_capture_on_commit_callbacks,
        type=EventType.VOUCHER_ISSUED,
        member=member,
        data={"vouchers": [{"id": voucher.pk} for voucher in vouchers]},
    )

    notification = only_notification(member)
    assert notification.params == {"reward": "Free coffee", "reward_fr": "", "count": 3}
    assert notification_texts(notification)[0] == "Your 3 vouchers for Free coffee are ready"
    assert notification_path(notification) == "/vouchers/"


def test_another_members_voucher_is_not_announced(member, enqueued, django_capture_on_commit_callbacks):
    from loyalty.ledger import services as ledger

    other = MemberFactory()
    ledger.credit(other.account, 1000)
    (voucher,) = redemption_create(member=other, reward=RewardFactory(points_cost=500), idempotency_key="k").vouchers
    Notification.objects.all().delete()

    dispatch(
        django_capture_on_commit_callbacks,
        type=EventType.VOUCHER_ISSUED,
        member=member,
        data={"voucher_id": voucher.pk},
    )

    assert (Notification.objects.count(), enqueued) == (0, [])


@pytest.mark.parametrize(
    ("role", "title"),
    [
        ("referrer", "A friend you invited earned you 250 points"),
        ("referee", "Your friend's invitation earned you 250 points"),
    ],
)
def test_a_referral_credited_thanks_the_referrer_or_welcomes_the_referee(
    member, enqueued, django_capture_on_commit_callbacks, role, title
):
    dispatch(
        django_capture_on_commit_callbacks,
        type=EventType.REFERRAL_CREDITED,
        member=member,
        data={"points": 250, "role": role},
    )

    notification = only_notification(member)
    assert (notification.kind, notification.params) == (
        NotificationKind.REFERRAL_CREDITED,
        {"points": 250, "role": role},
    )
    assert notification_texts(notification)[0] == title
    assert enqueued == [notification.pk]


def test_points_earned_are_off_by_default(member, enqueued, django_capture_on_commit_callbacks):
    dispatch(
        django_capture_on_commit_callbacks,
        type=EventType.POINTS_EARNED,
        member=member,
        data={"points": 120, "balance": 1945},
    )

    assert (Notification.objects.count(), enqueued) == (0, [])


def test_points_earned_switched_on_stay_in_the_portal_without_marketing_consent(
    member, enqueued, django_capture_on_commit_callbacks
):
    notification_preferences_set(member=member, points_earned=True)

    dispatch(
        django_capture_on_commit_callbacks,
        type=EventType.POINTS_EARNED,
        member=member,
        data={"points": 120, "balance": 1945},
    )

    notification = only_notification(member)
    assert (notification.kind, notification.params, notification.send_email) == (
        NotificationKind.POINTS_EARNED,
        {"points": 120, "balance": 1945},
        False,
    )
    assert notification_texts(notification) == ("You earned 120 points", "Your balance is now 1,945 points.")
    assert enqueued == []


def test_points_earned_are_mailed_with_marketing_consent(member, enqueued, django_capture_on_commit_callbacks):
    notification_preferences_set(member=member, points_earned=True)
    member.marketing_consent = True
    member.save(update_fields=["marketing_consent"])

    dispatch(django_capture_on_commit_callbacks, type=EventType.POINTS_EARNED, member=member, data={"points": 1})

    notification = only_notification(member)
    assert (notification.send_email, enqueued) == (True, [notification.pk])
    assert notification_texts(notification) == ("You earned 1 point", "")


def test_a_kind_switched_off_writes_nothing(member, enqueued, django_capture_on_commit_callbacks):
    tiers = program_tiers()
    notification_preferences_set(member=member, tier_up=False)

    dispatch(
        django_capture_on_commit_callbacks,
        type=EventType.TIER_CHANGED,
        member=member,
        data=tier_change(member, None, tiers[0]),
    )

    assert (Notification.objects.count(), enqueued) == (0, [])


def test_a_suspended_member_sees_it_in_the_portal_but_gets_no_email(
    member, enqueued, django_capture_on_commit_callbacks
):
    member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="Check", actor=None)

    dispatch(django_capture_on_commit_callbacks, type=EventType.REFERRAL_CREDITED, member=member, data={"points": 5})

    assert (only_notification(member).send_email, enqueued) == (False, [])


def test_a_closed_member_gets_nothing(member, enqueued, django_capture_on_commit_callbacks):
    member_status_change(member=member, status=MemberStatus.CLOSED, reason="Asked", actor=None)

    dispatch(django_capture_on_commit_callbacks, type=EventType.REFERRAL_CREDITED, member=member, data={"points": 5})

    assert (Notification.objects.count(), enqueued) == (0, [])


@pytest.mark.parametrize("type", [EventType.POINTS_REDEEMED, EventType.POINTS_EXPIRED, EventType.VOUCHER_USED])
def test_events_members_are_not_told_of_write_nothing(member, enqueued, django_capture_on_commit_callbacks, type):
    dispatch(django_capture_on_commit_callbacks, type=type, member=member, data={"points": 10})

    assert (Notification.objects.count(), enqueued) == (0, [])


def test_an_event_handed_over_twice_writes_one_notification(member, enqueued, django_capture_on_commit_callbacks):
    event = dispatch(django_capture_on_commit_callbacks, type=EventType.MEMBER_ENROLLED, member=member, data={})

    notifications_from_events([event])

    assert Notification.objects.filter(event=event).count() == 1


def test_the_consumer_runs_a_fixed_number_of_queries(enqueued, django_capture_on_commit_callbacks):
    tiers = program_tiers()

    def queries_for(count: int) -> int:
        from django.db import transaction

        members = MemberFactory.create_batch(count)
        with transaction.atomic():
            events = [
                outbox.event_record(type=type, member=member, data=data)
                for member in members
                for type, data in [
                    (EventType.MEMBER_ENROLLED, {}),
                    (EventType.TIER_CHANGED, tier_change(member, tiers[0], tiers[1])),
                    (EventType.REFERRAL_CREDITED, {"points": 5}),
                ]
            ]
        with CaptureQueriesContext(connection) as captured:
            notifications_from_events(events)
        return len(captured)

    # the members with their preferences, the tier changes, the insert, the ids to e-mail
    assert (queries_for(1), queries_for(20)) == (4, 4)


@pytest.mark.parametrize(
    ("type", "data"),
    [
        (EventType.POINTS_EARNED, {"points": "many"}),
        (EventType.POINTS_EARNED, {"points": -5}),
        (EventType.TIER_CHANGED, {"change": 999_999}),
        (EventType.VOUCHER_ISSUED, {"vouchers": "all"}),
        (EventType.REFERRAL_CREDITED, ["not", "an", "object"]),
    ],
    ids=["points-not-a-number", "points-negative", "unknown-change", "vouchers-not-a-list", "data-not-an-object"],
)
def test_data_that_does_not_fit_writes_nothing_and_fails_no_dispatch(
    member, enqueued, django_capture_on_commit_callbacks, type, data
):
    notification_preferences_set(member=member, points_earned=True)

    event = dispatch(django_capture_on_commit_callbacks, type=type, member=member, data=data)

    event.refresh_from_db()
    assert (Notification.objects.count(), enqueued, event.dispatched_at is not None) == (0, [], True)
