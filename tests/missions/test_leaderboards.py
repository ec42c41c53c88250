"""Leaderboards: opting in under a nickname, ranks set-based with ties, opt-out, tiers, the cache."""

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError

from loyalty.exceptions import (
    AlreadyJoined,
    LeaderboardClosed,
    LeaderboardNotEligible,
    MemberSuspended,
    NicknameTaken,
    NotFound,
    ValidationError,
)
from members.models import MemberStatus
from members.services import member_status_change
from missions.leaderboards.models import LeaderboardEntry, Metric
from missions.leaderboards.nicknames import nickname_clean
from missions.leaderboards.selectors import member_leaderboards_get, standings_compute, standings_get
from missions.leaderboards.services import (
    leaderboard_join,
    leaderboard_leave,
    leaderboard_nickname_reset,
    leaderboard_nickname_set,
)
from missions.models import CompletionLimit
from tests.factories.campaigns import NOW, item, purchase_post, return_post
from tests.factories.games import leaderboard_make
from tests.factories.members import MemberFactory
from tests.factories.missions import MissionFactory
from tests.factories.tiers import MemberTierFactory, program_tiers

pytestmark = pytest.mark.django_db


def member_with(points: int, **fields):
    member = MemberFactory(**fields)
    if points:
        purchase_post(member, item(unit_price=f"{points}.00"))
    return member


def ranks(board) -> list[tuple[str, int, int]]:
    return [(place.nickname, place.rank, place.score) for place in standings_compute([board.pk])[board.pk].top]


def test_ranks_by_points_earned_in_the_period_ties_share_a_rank():
    board = leaderboard_make()
    for nickname, points in [("Ada", 100), ("Bob", 100), ("Cyd", 50), ("Dee", 0)]:
        leaderboard_join(member=member_with(points), leaderboard_id=board.pk, nickname=nickname, now=NOW)

    assert ranks(board) == [("Ada", 1, 100), ("Bob", 1, 100), ("Cyd", 3, 50), ("Dee", 4, 0)]


def test_only_the_period_counts_and_a_return_takes_its_points_back():
    board = leaderboard_make(starts_on=date(2027, 3, 1), ends_on=date(2027, 3, 10))
    ada, bob = member_with(0), member_with(0)
    purchase_post(ada, item(unit_price="40.00"), now=NOW - timedelta(days=30))  # February: not counted
    kept = purchase_post(ada, item(unit_price="30.00"))
    purchase_post(ada, item(unit_price="99.00"), now=NOW + timedelta(days=1))  # 11 March: after the last day
    returned = purchase_post(bob, item("A", "2", "20.00"))
    return_post(returned, items=[("A", 1)])
    for member, nickname in [(ada, "Ada"), (bob, "Bob")]:
        leaderboard_join(member=member, leaderboard_id=board.pk, nickname=nickname, now=NOW)

    assert kept.points == 30
    assert ranks(board) == [("Ada", 1, 30), ("Bob", 2, 20)]


def test_ranks_by_purchases():
    board = leaderboard_make(metric=Metric.PURCHASES)
    ada, bob = member_with(10), member_with(500)
    purchase_post(ada)
    for member, nickname in [(ada, "Ada"), (bob, "Bob")]:
        leaderboard_join(member=member, leaderboard_id=board.pk, nickname=nickname, now=NOW)

    assert ranks(board) == [("Ada", 1, 2), ("Bob", 2, 1)]


def test_ranks_by_a_mission_s_completions_that_still_stand():
    mission = MissionFactory(completion_limit=CompletionLimit.DAY)  # one purchase a day completes it
    board = leaderboard_make(metric=Metric.MISSION_COMPLETIONS, mission=mission)
    ada, bob, cyd = member_with(0), member_with(0), member_with(0)
    for day in (0, 1):
        purchase_post(ada, now=NOW + timedelta(days=day))
    returned = purchase_post(bob)
    return_post(returned, items=[(1, 1)])  # undoes Bob's completion
    purchase_post(cyd)
    purchase_post(cyd, now=NOW + timedelta(days=30))  # April: after the last day
    for member, nickname in [(ada, "Ada"), (bob, "Bob"), (cyd, "Cyd")]:
        leaderboard_join(member=member, leaderboard_id=board.pk, nickname=nickname, now=NOW)

    assert ranks(board) == [("Ada", 1, 2), ("Cyd", 2, 1), ("Bob", 3, 0)]


@pytest.mark.parametrize(("metric", "with_mission"), [(Metric.MISSION_COMPLETIONS, False), (Metric.PURCHASES, True)])
def test_a_mission_is_named_for_its_metric_and_only_then(metric, with_mission):
    with pytest.raises(DjangoValidationError, match="Name the mission for a mission's completions"):
        leaderboard_make(metric=metric, mission=MissionFactory() if with_mission else None)


def test_a_member_who_leaves_is_ranked_no_more_and_others_move_up():
    board = leaderboard_make()
    ada, bob, cy = member_with(300), member_with(200), member_with(100)
    for member, nickname in [(ada, "Ada"), (bob, "Bob"), (cy, "Cyd")]:
        leaderboard_join(member=member, leaderboard_id=board.pk, nickname=nickname, now=NOW)

    assert leaderboard_leave(member=ada, leaderboard_id=board.pk) is True
    assert leaderboard_leave(member=ada, leaderboard_id=board.pk) is False

    assert ranks(board) == [("Bob", 1, 200), ("Cyd", 2, 100)]
    assert ada.pk not in standings_compute([board.pk])[board.pk].ranks


def test_members_who_did_not_opt_in_are_not_ranked():
    board = leaderboard_make()
    member_with(1000)
    leaderboard_join(member=member_with(5), leaderboard_id=board.pk, nickname="Only", now=NOW)

    assert ranks(board) == [("Only", 1, 5)]


def test_the_member_sees_the_top_ten_and_their_own_rank_outside_it(django_capture_on_commit_callbacks):
    board = leaderboard_make()
    members = [member_with(100 - n) for n in range(12)]
    with django_capture_on_commit_callbacks(execute=True):
        for n, member in enumerate(members):
            leaderboard_join(member=member, leaderboard_id=board.pk, nickname=f"Runner {chr(65 + n)}", now=NOW)

    [shown] = member_leaderboards_get(member=members[-1], today=date(2027, 3, 10))

    assert [place.rank for place in shown.standings.top] == list(range(1, 11))
    assert (shown.place.rank, shown.place.score, shown.standings.count) == (12, 89, 12)


def test_a_tier_leaderboard_takes_only_that_tier_s_members():
    silver, gold, _ = program_tiers()
    board = leaderboard_make(tier=gold)
    golden, silvery = MemberFactory(), MemberFactory()
    MemberTierFactory(member=golden, tier=gold)
    MemberTierFactory(member=silvery, tier=silver)

    leaderboard_join(member=golden, leaderboard_id=board.pk, nickname="Golden", now=NOW)
    with pytest.raises(LeaderboardNotEligible):
        leaderboard_join(member=silvery, leaderboard_id=board.pk, nickname="Silvery", now=NOW)

    assert ranks(board) == [("Golden", 1, 0)]
    golden.tier_state.tier = silver
    golden.tier_state.save()
    assert ranks(board) == []  # no longer Gold: not ranked (the entry stays)


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("ended", LeaderboardClosed),
        ("inactive", NotFound),
        ("suspended", MemberSuspended),
        ("joined", AlreadyJoined),
        ("taken", NicknameTaken),
    ],
    ids=["ended", "inactive", "suspended", "joined-twice", "nickname-taken"],
)
def test_joining_is_refused_and_writes_nothing(setup, error):
    board = leaderboard_make(
        ends_on=date(2027, 3, 9) if setup == "ended" else date(2027, 3, 31), active=setup != "inactive"
    )
    member = MemberFactory()
    if setup == "suspended":
        member_status_change(member=member, status=MemberStatus.SUSPENDED, reason="check", actor=None)
    if setup == "joined":
        leaderboard_join(member=member, leaderboard_id=board.pk, nickname="First", now=NOW)
    if setup == "taken":
        leaderboard_join(member=MemberFactory(), leaderboard_id=board.pk, nickname="Same Name", now=NOW)
    before = list(LeaderboardEntry.objects.values_list("pk", "nickname"))

    with pytest.raises(error):
        leaderboard_join(member=member, leaderboard_id=board.pk, nickname="same name", now=NOW)

    assert list(LeaderboardEntry.objects.values_list("pk", "nickname")) == before


def test_a_nickname_is_unique_per_leaderboard_only():
    march, april = leaderboard_make(), leaderboard_make("April", ends_on=date(2027, 4, 30))
    ada, bob = MemberFactory(), MemberFactory()
    leaderboard_join(member=ada, leaderboard_id=march.pk, nickname="Star", now=NOW)

    leaderboard_join(member=bob, leaderboard_id=april.pk, nickname="star", now=NOW)
    leaderboard_join(member=bob, leaderboard_id=march.pk, nickname="Comet", now=NOW)
    with pytest.raises(NicknameTaken):
        leaderboard_nickname_set(member=bob, leaderboard_id=march.pk, nickname="STAR")

    assert LeaderboardEntry.objects.get(member=bob, leaderboard=march).nickname == "Comet"


def test_staff_reset_an_abusive_nickname_and_the_member_chooses_another(django_user_model):
    board = leaderboard_make()
    member = MemberFactory()
    entry = leaderboard_join(member=member, leaderboard_id=board.pk, nickname="Rude One", now=NOW)
    other = leaderboard_join(member=MemberFactory(), leaderboard_id=board.pk, nickname="Fine", now=NOW)
    staff = django_user_model.objects.create_user("mod", password="pw-staff-123", is_staff=True)

    leaderboard_nickname_reset(entry=entry, actor=staff, now=NOW)
    leaderboard_nickname_reset(entry=other, actor=staff, now=NOW)  # two reset ones do not collide

    entry.refresh_from_db()
    assert (entry.nickname, entry.nickname_reset_by, entry.nickname_reset_at) == ("", staff, NOW)
    leaderboard_nickname_set(member=member, leaderboard_id=board.pk, nickname="Kind One")
    assert LeaderboardEntry.objects.get(pk=entry.pk).nickname == "Kind One"


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [
        ("Ada", "Ada"),
        ("  Zoé   la  Rapide ", "Zoé la Rapide"),
        ("Team_42", "Team_42"),
        ("jean-luc", "jean-luc"),
        ("Computer Class", "Computer Class"),
    ],
    ids=["short", "accents-and-spaces", "underscore-digits", "hyphen", "innocent-word-holding-a-short-refused-one"],
)
def test_nicknames_allowed(value, cleaned):
    assert nickname_clean(value) == cleaned


@pytest.mark.parametrize(
    "value",
    [
        "Al",
        "A" * 21,
        "ada@example.com",
        "ada.lovelace",
        "_ada",
        "ada-",
        "0612345678",
        "Ada 19900312",
        "<script>",
        "F U C K",
        "sh1thead",
        "Le Connard",
        "pute",
        "Admin Team",
        "SupportDesk",
        "",
    ],
    ids=[
        "too-short",
        "too-long",
        "e-mail",
        "dotted",
        "leading-underscore",
        "trailing-hyphen",
        "phone-number",
        "many-digits",
        "markup",
        "spaced-out",
        "look-alike-digit",
        "french",
        "french-word",
        "staff-role",
        "support",
        "empty",
    ],
)
def test_nicknames_refused(value):
    with pytest.raises(ValidationError) as refused:
        nickname_clean(value)
    assert refused.value.details == {"field": "nickname"}


def test_standings_are_cached_until_someone_joins(django_capture_on_commit_callbacks, django_assert_num_queries):
    board = leaderboard_make()
    ada = member_with(10)
    with django_capture_on_commit_callbacks(execute=True):
        leaderboard_join(member=ada, leaderboard_id=board.pk, nickname="Ada", now=NOW)
    assert standings_get([board.pk])[board.pk].ranks[ada.pk].score == 10

    purchase_post(ada, item(unit_price="90.00"))
    with django_assert_num_queries(0):
        assert standings_get([board.pk])[board.pk].ranks[ada.pk].score == 10  # cached: the TTL brings it

    with django_capture_on_commit_callbacks(execute=True):
        leaderboard_join(member=member_with(5), leaderboard_id=board.pk, nickname="Bob", now=NOW)
    assert standings_get([board.pk])[board.pk].ranks[ada.pk].score == 100
    cache.clear()


def test_standings_of_many_leaderboards_are_one_query(django_assert_num_queries):
    boards = [leaderboard_make(f"Board {n}", metric=[Metric.POINTS_EARNED, Metric.PURCHASES][n % 2]) for n in range(4)]
    for n in range(3):
        member = member_with(10 * (n + 1))
        for board in boards:
            leaderboard_join(member=member, leaderboard_id=board.pk, nickname=f"Mem{n}", now=NOW)

    with django_assert_num_queries(1):
        found = standings_get([board.pk for board in boards])

    assert [found[board.pk].count for board in boards] == [3, 3, 3, 3]
    assert [place.score for place in found[boards[0].pk].top] == [30, 20, 10]
    assert [place.rank for place in found[boards[1].pk].top] == [1, 1, 1]
