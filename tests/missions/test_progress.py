"""Missions' progress from purchases and events, each step kind at its edges, completions and their prizes."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from campaigns.events import event_approve, event_record
from campaigns.models import Outcome
from loyalty.ledger.models import Entry, EntryKind
from loyalty.outbox.models import EventType as OutboxEventType
from loyalty.outbox.models import OutboxEvent
from members.notifications.kinds import notification_texts
from members.notifications.models import Notification, NotificationKind
from members.notifications.services import notifications_from_events
from missions.badges.models import Badge, MemberBadge
from missions.models import CompletionLimit, MissionCompletion, MissionProgress, StepKind, StreakUnit
from rewards.models import VoucherStatus
from tests.factories.campaigns import NOW, item, purchase_post
from tests.factories.events import EventTypeFactory
from tests.factories.members import MemberFactory
from tests.factories.missions import MissionFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import RewardFactory
from tests.factories.tiers import MemberTierFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MemberFactory()


@pytest.fixture
def program_in_paris(settings):
    settings.TIME_ZONE = "Europe/Paris"


def completions(mission, member=None):
    rows = MissionCompletion.objects.filter(mission=mission, reversed_at__isnull=True)
    return rows.filter(member=member).count() if member is not None else rows.count()


def balance(member):
    member.account.refresh_from_db()
    return member.account.balance


def test_n_purchases_complete_at_the_nth_and_pay_the_points_once(member):
    mission = MissionFactory(steps=[{"kind": StepKind.PURCHASES, "count": 3}], prize_points=50)

    purchase_post(member)
    purchase_post(member)
    assert completions(mission) == 0
    purchase_post(member)
    purchase_post(member)

    assert completions(mission, member) == 1
    assert balance(member) == 4 * 10 + 50
    prize = MissionCompletion.objects.get().entry
    assert (prize.kind, prize.amount, prize.memo_code) == (EntryKind.BONUS, 50, "mission_prize")
    mission.refresh_from_db()
    assert (mission.points_paid, mission.completions) == (0, 0)  # no budget: no row counts (nor is locked)


def test_spend_completes_at_the_amount_exactly_summed_over_purchases(member):
    mission = MissionFactory(steps=[{"kind": StepKind.SPEND, "amount": Decimal("50.00")}])

    purchase_post(member, item(unit_price="30.00"))
    purchase_post(member, item(unit_price="19.99"))
    assert completions(mission) == 0
    purchase_post(member, item(unit_price="0.01"))

    assert completions(mission) == 1
    assert MissionProgress.objects.get().values == {str(mission.steps.get().pk): "50.00"}


def test_a_category_step_counts_only_a_paid_line_of_its_category(member):
    mission = MissionFactory(steps=[{"kind": StepKind.CATEGORY, "category": "coffee"}])

    purchase_post(member, item(category="tea"))
    purchase_post(member, item(category="coffee", discount="10.00"), item(category="tea"))  # given away: not paid
    assert completions(mission) == 0
    assert not MissionProgress.objects.exists()  # nothing written for what does not match
    purchase_post(member, item(category="coffee"))

    assert completions(mission) == 1


def test_a_partner_step_counts_only_that_partner_s_purchases(member):
    partner = PartnerFactory()
    mission = MissionFactory(steps=[{"kind": StepKind.PARTNER, "partner": partner, "count": 2}])

    purchase_post(member, partner=PartnerFactory())
    purchase_post(member, partner=partner)
    assert completions(mission) == 0
    purchase_post(member, partner=partner)

    assert completions(mission) == 1


def test_events_of_a_type_count_once_accepted_and_an_approval_counts_then(member):
    review, survey = EventTypeFactory(), EventTypeFactory(requires_approval=True)
    mission = MissionFactory(
        steps=[
            {"kind": StepKind.EVENTS, "event_type": review, "count": 2},
            {"kind": StepKind.EVENTS, "event_type": survey},
        ]
    )
    partner = PartnerFactory()

    def post(event_type, external_id):
        return event_record(
            member=member,
            event_type_code=event_type.code,
            external_id=external_id,
            occurred_at=NOW,
            attributes={},
            partner=partner,
            now=NOW,
        )

    post(review, "r1")
    post(review, "r2")
    waiting = post(survey, "s1")
    assert waiting.outcome == Outcome.AWAITING_APPROVAL
    assert completions(mission) == 0

    event_approve(event=waiting, actor=partner, now=NOW)

    assert completions(mission) == 1


def test_a_streak_of_days_counts_the_program_s_local_days(member, program_in_paris):
    mission = MissionFactory(steps=[{"kind": StepKind.STREAK, "count": 3, "streak_unit": StreakUnit.DAY}])
    day_one_late = datetime(2027, 3, 1, 22, 30, tzinfo=UTC)  # 23:30 in Paris, 1 March

    purchase_post(member, occurred_at=day_one_late, now=day_one_late)
    purchase_post(member, occurred_at=day_one_late + timedelta(hours=1), now=day_one_late + timedelta(hours=1))
    assert completions(mission) == 0  # 00:30 in Paris, 2 March: the second day (23:30 UTC on 1 March)
    third = day_one_late + timedelta(days=1, hours=2)  # 3 March, 01:30 in Paris
    purchase_post(member, occurred_at=third, now=third)

    assert completions(mission) == 1


def test_a_gap_breaks_a_streak_of_weeks(member):
    mission = MissionFactory(steps=[{"kind": StepKind.STREAK, "count": 2, "streak_unit": StreakUnit.WEEK}])
    monday = datetime(2027, 3, 1, 12, tzinfo=UTC)

    purchase_post(member, occurred_at=monday, now=monday)
    purchase_post(member, occurred_at=monday + timedelta(days=6), now=monday + timedelta(days=6))  # same week
    purchase_post(member, occurred_at=monday + timedelta(days=14), now=monday + timedelta(days=14))
    assert completions(mission) == 0
    purchase_post(member, occurred_at=monday + timedelta(days=21), now=monday + timedelta(days=21))

    assert completions(mission) == 1


def test_the_window_includes_its_start_and_excludes_its_end(member):
    starts, ends = NOW, NOW + timedelta(days=1)
    mission = MissionFactory(steps=[{"count": 2}], starts_at=starts, ends_at=ends)

    purchase_post(member, occurred_at=starts - timedelta(seconds=1))
    purchase_post(member, occurred_at=ends, now=ends)
    assert not MissionProgress.objects.exists()
    purchase_post(member, occurred_at=starts)
    purchase_post(member, occurred_at=ends - timedelta(seconds=1), now=ends)

    assert completions(mission) == 1


def test_once_a_day_completes_again_on_the_next_program_day(member, program_in_paris):
    mission = MissionFactory(completion_limit=CompletionLimit.DAY, prize_points=5)
    late = datetime(2027, 3, 1, 22, 59, tzinfo=UTC)  # 23:59 in Paris

    purchase_post(member, occurred_at=late, now=late)
    purchase_post(member, occurred_at=late, now=late)  # the same day: done already
    midnight = late + timedelta(minutes=1)  # 00:00 in Paris, 2 March
    purchase_post(member, occurred_at=midnight, now=midnight)

    assert completions(mission) == 2
    assert sorted(MissionProgress.objects.values_list("period_start", flat=True)) == [
        date(2027, 3, 1),
        date(2027, 3, 2),
    ]


def test_an_ordered_journey_counts_a_step_only_after_the_steps_before_it(member):
    journey = MissionFactory(
        ordered=True,
        steps=[{"kind": StepKind.CATEGORY, "category": "a"}, {"kind": StepKind.CATEGORY, "category": "b"}],
    )
    any_order = MissionFactory(
        steps=[{"kind": StepKind.CATEGORY, "category": "a"}, {"kind": StepKind.CATEGORY, "category": "b"}]
    )

    purchase_post(member, item(category="b"))
    purchase_post(member, item(category="a"), item(sku="X", category="b"))  # one basket does not walk two steps

    assert (completions(journey), completions(any_order)) == (0, 1)
    purchase_post(member, item(category="b"))
    assert completions(journey) == 1


def test_the_audience_is_the_campaigns_one_tiers_and_join_dates(member):
    gold = TierFactory()
    for_gold = MissionFactory(tiers=[gold])
    newcomers = MissionFactory(joined_after=(NOW + timedelta(days=400)).date())

    purchase_post(member)
    assert completions(for_gold) == completions(newcomers) == 0

    MemberTierFactory(member=member, tier=gold)
    purchase_post(member)
    assert completions(for_gold) == 1


def test_a_voucher_and_a_badge_prize_the_outbox_event_and_the_notification(member):
    reward = RewardFactory(stock=5)
    badge = Badge.objects.create(code="first", name="First", name_fr="Premier")
    mission = MissionFactory(prize_points=0, prize_reward=reward, prize_badge=badge, name="Hello", name_fr="Bonjour")

    purchase_post(member)

    completion = MissionCompletion.objects.get()
    assert completion.voucher.status == VoucherStatus.ISSUED
    assert (completion.voucher.points, completion.voucher.redemption.points) == (0, 0)
    assert completion.voucher.redemption.entry is None
    reward.refresh_from_db()
    assert reward.stock == 4
    assert MemberBadge.objects.get(member=member).source == f"mission:{mission.pk}"
    event = OutboxEvent.objects.get(type=OutboxEventType.MISSION_COMPLETED)
    assert event.data["mission"] == mission.pk
    assert event.data["badge"] == "first"

    notifications_from_events(list(OutboxEvent.objects.all()))
    notification = Notification.objects.get(kind=NotificationKind.MISSION_COMPLETED)
    from django.utils import translation

    with translation.override("fr"):
        assert "Bonjour" in notification_texts(notification)[0]


def test_a_sold_out_voucher_still_records_the_purchase_and_the_completion(member):
    mission = MissionFactory(prize_points=10, prize_reward=RewardFactory(stock=0))

    purchase_post(member)

    completion = MissionCompletion.objects.get(mission=mission)
    assert completion.voucher is None
    assert completion.entry.amount == 10


def test_a_completions_budget_stops_the_mission(member):
    mission = MissionFactory(budget_completions=1)
    other = MemberFactory()

    purchase_post(member)
    purchase_post(other)

    assert completions(mission) == 1
    mission.refresh_from_db()
    assert mission.completions == 1
    assert not MissionProgress.objects.filter(member=other).exists()  # not evaluated any more


def test_a_points_budget_pays_only_full_prizes(member):
    mission = MissionFactory(prize_points=40, budget_points=100)
    others = [MemberFactory() for _ in range(3)]

    for buyer in [member, *others]:
        purchase_post(buyer)

    mission.refresh_from_db()
    assert (mission.points_paid, mission.completions) == (80, 2)
    assert Entry.objects.filter(memo_code="mission_prize").count() == 2


def test_a_streak_of_days_runs_across_a_dst_change(member, program_in_paris):
    mission = MissionFactory(steps=[{"kind": StepKind.STREAK, "count": 3}])
    # Paris moves to summer time on Sunday 28 March 2027 at 02:00: that day has 23 hours
    saturday_late = datetime(2027, 3, 27, 22, 30, tzinfo=UTC)  # 23:30 on Saturday in Paris (UTC+1)
    sunday_late = datetime(2027, 3, 28, 21, 30, tzinfo=UTC)  # 23:30 on Sunday in Paris (UTC+2)
    monday_early = datetime(2027, 3, 28, 22, 30, tzinfo=UTC)  # 00:30 on Monday in Paris

    for moment in (saturday_late, sunday_late):
        purchase_post(member, occurred_at=moment, now=moment)
    assert completions(mission) == 0
    purchase_post(member, occurred_at=monday_early, now=monday_early)

    assert completions(mission) == 1
    assert list(MissionProgress.objects.get().values.values())[0]["longest"] == 3


def test_an_event_declined_counts_nothing(member):
    from campaigns.events import event_decline

    survey = EventTypeFactory(requires_approval=True)
    mission = MissionFactory(steps=[{"kind": StepKind.EVENTS, "event_type": survey}])
    partner = PartnerFactory()
    waiting = event_record(
        member=member,
        event_type_code=survey.code,
        external_id="s1",
        occurred_at=NOW,
        attributes={},
        partner=partner,
        now=NOW,
    )

    event_decline(event=waiting, actor=partner, reason="Not a real survey", now=NOW)

    assert completions(mission) == 0
    assert not MissionProgress.objects.exists()


def test_a_voucher_won_does_not_use_up_the_reward_s_redemption_limit(member):
    from rewards.services import redemption_create

    reward = RewardFactory(limit_per_member=1, points_cost=10)
    MissionFactory(prize_points=0, prize_reward=reward)
    purchase_post(member, item(unit_price="30.00"))
    assert MissionCompletion.objects.get().voucher is not None

    redeemed = redemption_create(member=member, reward=reward, idempotency_key="k1", now=NOW)

    assert len(redeemed.vouchers) == 1
