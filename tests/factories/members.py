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
