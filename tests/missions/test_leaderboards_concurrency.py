"""Two members choosing the same nickname at once, on PostgreSQL: one gets it, the other a clear refusal."""

from collections import Counter
from datetime import date

import pytest

from missions.leaderboards.models import LeaderboardEntry
from missions.leaderboards.services import leaderboard_join
from tests.factories.games import leaderboard_make
from tests.factories.members import MemberFactory
from tests.helpers import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_nickname_chosen_at_once_is_given_once():
    board = leaderboard_make(ends_on=date(2099, 12, 31))
    members = [MemberFactory() for _ in range(4)]

    outcomes = run_together(
        *[
            lambda member=member: leaderboard_join(member=member, leaderboard_id=board.pk, nickname="Star")
            for member in members
        ]
    )

    assert Counter(type(outcome).__name__ for outcome in outcomes) == {"LeaderboardEntry": 1, "NicknameTaken": 3}
    assert list(LeaderboardEntry.objects.values_list("nickname", flat=True)) == ["Star"]
