from datetime import UTC, datetime, timedelta

import pytest

from loyalty.ledger import services as ledger
from tests.admin.conftest import staff_in  # noqa: F401  (the staff groups' users, shared with the admin's tests)
from tests.factories.members import MemberFactory

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def rich_member(db):
    """A member holding 2,000 points (earned the day before ``NOW``)."""

    def make(points: int = 2000, **fields):
        member = MemberFactory(**fields)
        ledger.credit(member.account, points, now=NOW - timedelta(days=1))
        return member

    return make


@pytest.fixture
def member(rich_member):
    return rich_member()
