"""The consent rule (members/notifications/kinds.py) says the same in Python and in SQL, for every combination."""

import itertools

import pytest

from members.models import Member, MemberStatus
from members.notifications.kinds import KINDS, email_wanted, members_wanting, notification_wanted
from members.notifications.models import NotificationKind
from members.notifications.services import notification_preferences_set
from tests.factories.members import MemberFactory

pytestmark = pytest.mark.django_db


def test_the_python_and_the_sql_rule_agree():
    combinations = list(itertools.product(MemberStatus.values, [None, True, False], [False, True]))
    members = []
    for status, choice, consent in combinations:
        member = MemberFactory(marketing_consent=consent)
        Member.objects.filter(pk=member.pk).update(status=status)
        if choice is not None:
            notification_preferences_set(
                member=member, **{rule.preference: choice for rule in KINDS.values() if rule.preference}
            )
        members.append(member.pk)

    for kind in KINDS:
        rows = Member.objects.select_related("user", "notification_preference").filter(pk__in=members)
        python = {m.pk: (notification_wanted(m, kind), email_wanted(m, kind)) for m in rows}
        sql = {
            pk: (
                Member.objects.filter(members_wanting(kind, email=False), pk=pk).exists(),
                Member.objects.filter(members_wanting(kind, email=True), pk=pk).exists(),
            )
            for pk in members
        }
        assert python == sql, kind


@pytest.mark.parametrize(
    ("kind", "marketing"),
    [(kind, kind == NotificationKind.POINTS_EARNED) for kind in NotificationKind.values],
)
def test_only_points_earned_is_marketing(kind, marketing):
    assert KINDS[kind].marketing is marketing


def test_every_kind_but_points_earned_is_on_by_default():
    assert {kind: rule.default for kind, rule in KINDS.items()} == {
        "welcome": True,
        "points_earned": False,
        "expiry_reminder": True,
        "tier_up": True,
        "tier_down": True,
        "voucher_issued": True,
        "referral_credited": True,
        "mission_completed": True,
        "badge_earned": True,
    }
