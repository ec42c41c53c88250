import pytest

from members.services import member_email_verify
from tests.factories.members import MemberFactory

PASSWORD = "correct-horse-battery"


@pytest.fixture
def member(db):
    """A portal member who proved the e-mail, so they can log in."""
    return member_email_verify(
        member=MemberFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace", password=PASSWORD)
    )


@pytest.fixture
def member_client(client, member):
    client.force_login(member.user)
    return client
