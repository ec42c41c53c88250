import pytest
from django.core.management import call_command

from missions.badges.models import MemberBadge
from missions.leaderboards.models import LeaderboardEntry

pytestmark = pytest.mark.django_db


def test_the_demo_has_badges_and_a_leaderboard_and_runs_twice(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        call_command("demo_data", verbosity=0)
        call_command("demo_data", verbosity=0)

    assert sorted(MemberBadge.objects.values_list("member__user__email", "badge__code")) == [
        ("alice@example.com", "first-buy"),
        ("bob@example.com", "gold"),  # his tier set by hand
    ]
    assert list(LeaderboardEntry.objects.values_list("member__user__email", "nickname")) == [
        ("alice@example.com", "Alice M")
    ]
