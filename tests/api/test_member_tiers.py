"""The member's tier in the partner API: the same answer in both shapes, from the portal's own read."""

from datetime import timedelta

import pytest

from loyalty.clock import add_months, program_date
from tests.factories.members import MemberFactory
from tests.factories.tiers import MemberTierFactory, QualifyingDayFactory, program_tiers


@pytest.fixture
def silver_member(partner):
    silver, gold, _ = program_tiers()
    member = MemberFactory(enrolled_by=partner)
    today = program_date()
    oldest = today - timedelta(days=40)
    QualifyingDayFactory(member=member, day=oldest, points=300)
    QualifyingDayFactory(member=member, day=today - timedelta(days=3), points=450)
    MemberTierFactory(member=member, tier=silver, qualified_on=today)
    # The 300 points leave the window after their last day; Silver then holds 12 months of grace.
    last_day = add_months(oldest, 12) - timedelta(days=1)
    return member, last_day


def expected_tier_fields(last_day) -> dict:
    return {
        "tier": {"name": "Silver", "rank": 1},
        "progress": {
            "basis": "rolling_points",
            "value": "750",
            "target": "2000",
            "missing": "1250",
            "by": last_day.isoformat(),
        },
        "next_tier": {"name": "Gold", "rank": 2},
        "requalification_date": (add_months(last_day, 12) + timedelta(days=1)).isoformat(),
    }


@pytest.mark.parametrize("shape", ["profile", "till"])
def test_both_shapes_carry_the_tier_its_progress_and_the_requalification_date(api, other_api, silver_member, shape):
    member, last_day = silver_member
    client = api if shape == "profile" else other_api

    body = client.get(f"/api/v1/members/{member.member_number}/").json()

    assert body["view"] == shape
    assert {field: body[field] for field in ("tier", "progress", "next_tier", "requalification_date")} == (
        expected_tier_fields(last_day)
    )


def test_at_the_top_tier_nothing_is_missing_and_there_is_no_next_tier(api, partner):
    *_, platinum = program_tiers()
    member = MemberFactory(enrolled_by=partner)
    QualifyingDayFactory(member=member, day=program_date(), points=5000)
    MemberTierFactory(member=member, tier=platinum, qualified_on=program_date())

    body = api.get(f"/api/v1/members/{member.member_number}/").json()

    assert (body["tier"], body["next_tier"]) == ({"name": "Platinum", "rank": 3}, None)
    assert body["progress"] == {
        "basis": "rolling_points",
        "value": "5000",
        "target": None,
        "missing": None,
        "by": None,
    }
