import pytest
from rest_framework.test import APIClient

from tests.factories.partners import PartnerFactory, partner_key


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Acme")


@pytest.fixture
def api_key(partner):
    return partner_key(partner)


@pytest.fixture
def client_for():
    """A client authenticated by a clear-text key."""

    def make(key: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


@pytest.fixture
def api(api_key, client_for):
    return client_for(api_key[1])


@pytest.fixture
def other_partner(db):
    return PartnerFactory(name="Globex")


@pytest.fixture
def other_api(other_partner, client_for):
    return client_for(partner_key(other_partner)[1])
