import pytest

from tests.factories.members import MemberFactory
from tests.factories.tiers import TierFactory


@pytest.fixture
def tiers(db):
    """Silver at 100 points, Gold at 500 (the default policy: rolling 12 months, 12 months' grace)."""
    return TierFactory(name="Silver", rank=1, threshold=100), TierFactory(name="Gold", rank=2, threshold=500)


@pytest.fixture
def member(db):
    return MemberFactory()
