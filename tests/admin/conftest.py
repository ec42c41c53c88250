import pytest
from django.contrib.auth.models import Group, User


@pytest.fixture
def staff_in(db):
    """A staff user in one of the three staff groups."""

    def make(group_name: str, **names) -> User:
        username = group_name.lower().replace(" ", "-")
        user = User.objects.create_user(username, password="pw-staff-123", is_staff=True, **names)
        user.groups.add(Group.objects.get(name=group_name))
        return user

    return make
