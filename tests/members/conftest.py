import pytest

from tests.factories.members import MemberFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture
def member(db):
    return MemberFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace", password=PASSWORD)


@pytest.fixture
def member_client(client, member):
    client.force_login(member.user)
    return client
