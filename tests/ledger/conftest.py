import pytest

from tests.factories.members import MemberFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Members are enrolled with a password; the production hasher would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def account(db):
    return MemberFactory().account
