"""The portal's Challenges page and its polled missions' section."""

import pytest
from django.utils import timezone, translation

from missions.badges.models import Badge
from missions.models import StepKind
from tests.factories.campaigns import item, purchase_post
from tests.factories.missions import MissionFactory
from tests.factories.rewards import RewardFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(db):
    from tests.factories.members import MemberFactory

    return MemberFactory()


@pytest.fixture
def member_client(client, member):
    client.force_login(member.user)
    return client


def test_the_page_lists_open_missions_with_their_steps_and_the_completed_ones(member_client, member):
    open_ = MissionFactory(name="Coffee week", steps=[{"count": 3}, {"kind": StepKind.CATEGORY, "category": "tea"}])
    done = MissionFactory(name="Welcome", prize_points=20, prize_badge=Badge.objects.create(code="w", name="Hi"))
    purchase_post(member, item(category="tea"), now=timezone.now())

    page = member_client.get("/challenges/").content.decode()

    assert "Coffee week" in page
    assert "Make 3 purchases" in page
    assert "1 of 3" in page
    assert 'value="66"' in page  # the category done, a third of the purchases
    assert "Welcome: 20 points, the badge Hi" in page
    assert open_.pk
    assert done.pk


def test_the_section_alone_answers_the_poll(member_client, member):
    MissionFactory(name="Welcome", prize_points=0, prize_reward=RewardFactory(name="Free coffee"))

    before = member_client.get("/challenges/missions/", HTTP_HX_REQUEST="true").content.decode()
    purchase_post(member, now=timezone.now())
    after = member_client.get("/challenges/missions/", HTTP_HX_REQUEST="true").content.decode()

    assert "<html" not in after
    assert "No challenge completed yet." in before
    assert "Welcome: a voucher: Free coffee" in after
    assert "See the voucher" in after


def test_the_page_speaks_french(member_client, member):
    MissionFactory(name="Coffee", name_fr="Café", steps=[{"count": 2}])
    translation.activate("fr")
    member_client.cookies["django_language"] = "fr"

    page = member_client.get("/challenges/").content.decode()

    assert "Café" in page


@pytest.mark.parametrize("count", [1, 6])
def test_the_page_runs_a_fixed_number_of_queries(member_client, member, count, django_assert_num_queries):
    for _ in range(count):
        MissionFactory(steps=[{"count": 2}, {"kind": StepKind.SPEND, "amount": "50"}], prize_reward=RewardFactory())
    purchase_post(member, now=timezone.now())
    MissionFactory(steps=[{"count": 1}])
    purchase_post(member, now=timezone.now())

    # session, user, member; its facts; missions, steps, tiers; progress; completions; the badges, the streak and
    # the leaderboards (3: tests/missions/test_leaderboards_portal.py)
    with django_assert_num_queries(3 + 1 + 3 + 1 + 1 + 3):
        assert member_client.get("/challenges/").status_code == 200
