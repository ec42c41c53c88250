from tests.members.conftest import member, member_client  # noqa: F401  (the portal's signed-in member)
