"""The Challenges page's badges, streak and leaderboards: fixed queries, forms, htmx."""

from datetime import date

import pytest
from django.db import connection
from django.templatetags.static import static
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from loyalty.clock import program_date
from missions.leaderboards.models import LeaderboardEntry
from missions.leaderboards.services import leaderboard_join
from tests.factories.campaigns import item, purchase_post
from tests.factories.games import badge_make, first_purchase_badge, leaderboard_make
from tests.factories.members import MemberFactory
from tests.factories.tiers import MemberTierFactory, program_tiers

pytestmark = pytest.mark.django_db


def open_board(name="This month", **fields):
    today = program_date()
    return leaderboard_make(name, starts_on=today.replace(day=1), ends_on=date(today.year + 1, 1, 1), **fields)


def page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("portal:challenges"))
    assert response.status_code == 200
    return len(queries)


def fill(member, boards: int, others: int) -> None:
    silver, _, _ = program_tiers()
    MemberTierFactory(member=member, tier=silver)
    for n in range(boards):
        board = open_board(f"Board {n}", tier=silver if n == 2 else None)
        leaderboard_join(member=member, leaderboard_id=board.pk, nickname=f"Me {n}")
        for other in range(others):
            someone = MemberFactory()
            MemberTierFactory(member=someone, tier=silver)
            leaderboard_join(member=someone, leaderboard_id=board.pk, nickname=f"Other {n} {other}")
    for n in range(boards):
        badge_make(f"badge-{n}", milestone="purchases", milestone_count=n + 2)
    first_purchase_badge()
    purchase_post(member, item(unit_price="50.00"), now=timezone.now())


# session, user, member with account (and the header's counts); the missions' part of the Challenges page (the
# member's facts, progress and completions: 3; the live missions are kept by the process); the badges; the streak
# policy (then cached) and the member's streak; the leaderboards with the member's entries; the standings missing
# from the cache.
COLD, WARM = 11, 9


@pytest.mark.parametrize(("boards", "others"), [(1, 0), (3, 12)], ids=["little", "more"])
def test_the_page_runs_a_fixed_number_of_queries(member_client, member, boards, others):
    fill(member, boards, others)
    from django.core.cache import cache

    cache.clear()

    assert (page_queries(member_client), page_queries(member_client)) == (COLD, WARM)


def test_the_page_shows_badges_streak_and_the_member_s_rank(member_client, member, django_capture_on_commit_callbacks):
    board = open_board()
    badge_make("ten", name="Ten purchases", milestone="purchases", milestone_count=10)
    first_purchase_badge()
    with django_capture_on_commit_callbacks(execute=True):
        leaderboard_join(member=MemberFactory(), leaderboard_id=board.pk, nickname="Rival")
        leaderboard_join(member=member, leaderboard_id=board.pk, nickname="Ada Star")
    purchase_post(member, item(unit_price="50.00"), now=timezone.now())

    html = member_client.get(reverse("portal:challenges")).content.decode()

    assert "First Purchase" in html
    assert "Make 10 purchases." in html
    assert static("badges/cart.svg") in html  # hashed under the production settings' manifest storage
    assert "1 day" in html
    assert "Ada Star" in html
    assert "Rival" in html
    assert "You are number 1 of 2, with 50." in html


def test_a_member_joins_with_a_nickname(member_client, member):
    board = open_board()

    response = member_client.post(reverse("portal:leaderboard_join", args=[board.pk]), {"nickname": " Ada   Star "})

    assert response.status_code == 302
    assert LeaderboardEntry.objects.get(member=member, leaderboard=board).nickname == "Ada Star"


@pytest.mark.parametrize(
    ("nickname", "message"),
    [
        ("ada@example.com", "Use letters, digits, spaces, - and _ only"),
        ("Taken", "Another member already uses this nickname"),
        ("x", "A nickname has 3 to 20 characters."),
    ],
    ids=["e-mail", "taken", "short"],
)
def test_a_refused_nickname_is_a_form_error(member_client, member, nickname, message):
    board = open_board()
    leaderboard_join(member=MemberFactory(), leaderboard_id=board.pk, nickname="Taken")

    response = member_client.post(reverse("portal:leaderboard_join", args=[board.pk]), {"nickname": nickname})

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not LeaderboardEntry.objects.filter(member=member).exists()


def test_with_htmx_the_answer_is_the_leaderboard_s_card(member_client, member):
    board = open_board()

    response = member_client.post(
        reverse("portal:leaderboard_join", args=[board.pk]), {"nickname": "Ada"}, headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith(f'<section id="leaderboard-{board.pk}"')
    assert "You are number 1 of 1" in html


def test_a_member_changes_nickname_then_leaves(member_client, member):
    board = open_board()
    leaderboard_join(member=member, leaderboard_id=board.pk, nickname="Ada")

    member_client.post(reverse("portal:leaderboard_nickname", args=[board.pk]), {"nickname": "Countess"})
    assert LeaderboardEntry.objects.get(member=member).nickname == "Countess"
    response = member_client.post(reverse("portal:leaderboard_leave", args=[board.pk]))

    assert response.status_code == 302
    assert not LeaderboardEntry.objects.filter(member=member).exists()


def test_changing_the_nickname_of_a_leaderboard_not_joined_is_a_404(member_client, member):
    board = open_board()

    response = member_client.post(reverse("portal:leaderboard_nickname", args=[board.pk]), {"nickname": "Ada"})

    assert response.status_code == 404


def test_the_forms_need_the_csrf_token(client, member):
    from django.test import Client

    board = open_board()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member.user)

    response = strict.post(reverse("portal:leaderboard_join", args=[board.pk]), {"nickname": "Ada"})

    assert response.status_code == 403
    assert not LeaderboardEntry.objects.exists()


def test_a_tier_leaderboard_says_who_it_is_for(member_client, member):
    _, gold, _ = program_tiers()
    open_board("Gold only", tier=gold)

    html = member_client.get(reverse("portal:challenges")).content.decode()

    assert "For Gold members." in html
    assert 'data-testid="leaderboard-join-form"' not in html


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("portal:challenges"))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_data_download_holds_the_member_s_badges_and_nicknames(member_client, member):
    import json

    first_purchase_badge()
    purchase_post(member, now=timezone.now())
    board = open_board("Spring race")
    leaderboard_join(member=member, leaderboard_id=board.pk, nickname="Ada Star")

    response = member_client.get(reverse("portal:profile_data"))
    data = json.loads(b"".join(response.streaming_content))

    assert [(row["badge"], row["name"]) for row in data["badges"]] == [("first-purchase", "First Purchase")]
    assert [(row["leaderboard"], row["nickname"]) for row in data["leaderboards"]] == [("Spring race", "Ada Star")]
