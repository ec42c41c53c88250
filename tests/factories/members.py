import factory

from members.models import Member
from members.services import member_enroll


class MemberFactory(factory.django.DjangoModelFactory):
    """Members enrolled through the real service, so each has its points account."""

    class Meta:
        model = Member

    email = factory.Sequence(lambda n: f"member{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = "correct-horse-battery"

    @classmethod
    def _create(cls, model_class, **kwargs):
        return member_enroll(**kwargs)


def gift_policy_set(**values) -> None:
    """Set the gift policy's row (re-created if a transactional test's flush removed the migration's)."""
    from members.models import GiftPolicy

    GiftPolicy.objects.update_or_create(pk=1, defaults=values)
