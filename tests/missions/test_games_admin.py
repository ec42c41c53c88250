"""Badges, the streak policy and leaderboards in the staff admin: program managers configure them through the
services (their history kept); analysts read; a nickname is reset by an action."""

from datetime import date

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from missions.badges.models import Badge
from missions.leaderboards.models import Leaderboard, LeaderboardEntry
from missions.leaderboards.services import leaderboard_join
from missions.streaks.models import StreakPolicy
from tests.factories.games import first_purchase_badge, leaderboard_make
from tests.factories.members import MemberFactory

pytestmark = pytest.mark.django_db


def staff(group: str) -> User:
    user = User.objects.create_user(group.lower().replace(" ", "-"), password="pw-staff-123", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def test_a_program_manager_adds_a_milestone_badge_with_its_history(client, django_capture_on_commit_callbacks):
    manager = staff("Program manager")
    client.force_login(manager)
    data = {
        "code": "ten",
        "name": "Ten purchases",
        "name_fr": "Dix achats",
        "description": "",
        "description_fr": "",
        "icon": "trophy",
        "active": "on",
        "milestone": "purchases",
        "milestone_count": "10",
        "milestone_tier": "",
    }

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("admin:badges_badge_add"), data)

    assert response.status_code == 302
    badge = Badge.objects.get(code="ten")
    assert (badge.icon, badge.milestone_count, badge.history.get().history_user) == ("trophy", 10, manager)
    assert len(callbacks) == 2  # the cached milestones forgotten; the catch-up task enqueued


def test_a_milestone_without_its_count_is_a_form_error(client):
    client.force_login(staff("Program manager"))
    data = {"code": "x", "name": "X", "icon": "star", "active": "on", "milestone": "purchases"}

    response = client.post(reverse("admin:badges_badge_add"), data)

    assert response.status_code == 200
    assert "Say how many purchases or years earn it." in response.content.decode()
    assert not Badge.objects.exists()


def test_an_analyst_reads_badges_and_leaderboards_and_changes_none(client):
    first_purchase_badge()
    board = leaderboard_make()
    client.force_login(staff("Analyst"))

    for name in ["badges_badge", "badges_memberbadge", "leaderboards_leaderboard", "leaderboards_leaderboardentry"]:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200
    assert client.get(reverse("admin:badges_badge_add")).status_code == 403
    assert (
        client.post(reverse("admin:leaderboards_leaderboard_change", args=[board.pk]), {"name": "Hacked"}).status_code
        == 403
    )
    assert Leaderboard.objects.get().name == "March"


def test_the_streak_policy_is_one_row_set_through_its_service(client):
    manager = staff("Program manager")
    client.force_login(manager)

    assert client.get(reverse("admin:streaks_streakpolicy_changelist")).status_code == 302
    response = client.post(reverse("admin:streaks_streakpolicy_change", args=[1]), {"unit": "week", "grace": "1"})

    assert response.status_code == 302
    policy = StreakPolicy.objects.get()
    assert (policy.unit, policy.grace, policy.history.first().history_user) == ("week", 1, manager)
    assert (
        client.post(reverse("admin:streaks_streakpolicy_change", args=[1]), {"unit": "day", "grace": "9"}).status_code
        == 200
    )
    assert StreakPolicy.objects.get().grace == 1


def test_a_leaderboard_s_period_is_the_program_s_days(client):
    client.force_login(staff("Program manager"))
    data = {
        "name": "Spring",
        "metric": "purchases",
        "starts_on": "2027-03-01",
        "ends_on": "2027-05-31",
        "active": "on",
    }

    assert client.post(reverse("admin:leaderboards_leaderboard_add"), data).status_code == 302
    board = Leaderboard.objects.get()
    assert (board.starts_on, board.ends_on) == (date(2027, 3, 1), date(2027, 5, 31))
    assert (board.starts_at.isoformat(), board.ends_at.isoformat()) == (
        "2027-03-01T00:00:00+00:00",
        "2027-06-01T00:00:00+00:00",
    )


def test_staff_see_nicknames_and_reset_an_abusive_one(client):
    manager = staff("Program manager")
    board = leaderboard_make()
    entry = leaderboard_join(member=MemberFactory(), leaderboard_id=board.pk, nickname="Rude Name")
    client.force_login(manager)
    listing = reverse("admin:leaderboards_leaderboardentry_changelist")

    assert "Rude Name" in client.get(listing).content.decode()
    response = client.post(listing, {"action": "reset_nickname", "_selected_action": [entry.pk]}, follow=True)

    assert "1 nickname reset." in response.content.decode()
    entry.refresh_from_db()
    assert (entry.nickname, entry.nickname_reset_by) == ("", manager)


def test_an_analyst_cannot_reset_a_nickname(client):
    board = leaderboard_make()
    entry = leaderboard_join(member=MemberFactory(), leaderboard_id=board.pk, nickname="Rude Name")
    client.force_login(staff("Analyst"))

    client.post(
        reverse("admin:leaderboards_leaderboardentry_changelist"),
        {"action": "reset_nickname", "_selected_action": [entry.pk]},
    )

    assert LeaderboardEntry.objects.get().nickname == "Rude Name"


def test_the_member_page_shows_the_member_s_badges_to_support(client):
    from tests.factories.campaigns import purchase_post

    first_purchase_badge()
    member = MemberFactory()
    purchase_post(member)
    client.force_login(staff("Support agent"))

    html = client.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()

    assert 'data-testid="staff-badges"' in html
    assert "First Purchase" in html
    assert "milestone:purchases" in html


def test_badges_and_leaderboards_keep_their_history(client):
    manager = staff("Program manager")
    badge, board = first_purchase_badge(), leaderboard_make()
    client.force_login(manager)

    for name, pk in [("badges_badge", badge.pk), ("leaderboards_leaderboard", board.pk), ("streaks_streakpolicy", 1)]:
        assert client.get(reverse(f"admin:{name}_history", args=[pk])).status_code == 200
    assert badge.history.count() == 1
    assert board.history.count() == 1
