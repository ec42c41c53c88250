import pytest

from campaigns.selectors import _kept
from tests.members.conftest import member, member_client  # noqa: F401  (the portal's signed-in member)


@pytest.fixture(autouse=True)
def fresh_rules():
    """What this process keeps of the earning rules (and the live missions) outlives a test's rollback."""
    _kept.clear()
    yield
    _kept.clear()
