import factory

from loyalty.partners.models import Partner
from loyalty.partners.services import partner_api_key_create


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n}")
    active = True


def partner_key(partner: Partner | None = None, *, scopes=("members:read", "members:write", "points:adjust")):
    """A new API key (model and clear text) through the real service."""
    return partner_api_key_create(partner=partner or PartnerFactory(), name="test key", scopes=list(scopes))
