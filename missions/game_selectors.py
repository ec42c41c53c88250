"""The context of the portal's game partials (templates/portal/challenges/_badges.html, _streak.html,
_leaderboards.html), for any page that includes them."""

from datetime import date

from missions.badges.selectors import member_badges_get
from missions.leaderboards.selectors import member_leaderboards_get
from missions.streaks.selectors import member_streak_get


def games_context_get(*, member, today: date) -> dict:
    """``badges``, ``streak`` and ``leaderboards`` of ``member`` on ``today`` (a program date). Five queries at
    most whatever the number of badges, leaderboards and participants (three when the cache holds the streak
    policy and every standings needed): the badges, the streak policy, the member's streak, the leaderboards, the
    standings missing from the cache."""
    return {
        "badges": member_badges_get(member=member),
        "streak": member_streak_get(member=member, today=today),
        "leaderboards": member_leaderboards_get(member=member, today=today),
    }
