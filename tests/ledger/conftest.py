import pytest

from tests.factories.members import MemberFactory


@pytest.fixture
def account(db):
    return MemberFactory().account
