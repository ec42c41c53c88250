"""The dashboard's totals reconcile with the ledger on a generated program.

A program of a few hundred members is played through the real services in time order:
purchases at two partners (one with a return window: its points are pending until released),
returns of some of them (reversals), events, staff adjustments up and down, redemptions, and
the daily tasks that release pending points and expire lots (points last 45 days here). What
each member does is random but seeded. The dashboard's figures for several periods are then
held to sums computed here, in Python, from the ledger's entries, accounts and members.
(The query count at two data sizes is pinned in test_dashboard.py.)
"""

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import override_settings
from django.urls import reverse

from campaigns.models import Event, Purchase
from loyalty.clock import program_day_start
from loyalty.exceptions import Conflict
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Account, Entry, EntryKind
from members.models import Member
from rewards.services import redemption_create
from tests.factories.campaigns import item, purchase_post, return_post
from tests.factories.events import EventTypeFactory
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import RewardFactory

URL = reverse("admin:reports_dashboard")
FIRST_DAY, LAST_DAY = date(2027, 1, 1), date(2027, 4, 10)  # the program's 100 days
ISSUED = (EntryKind.EARN, EntryKind.BONUS)
LOST = (EntryKind.EXPIRE, EntryKind.FORFEIT)
PROGRAM_SETTINGS = {
    "LOYALTY_POINTS_EXPIRY_POLICY": "days",
    "LOYALTY_POINTS_EXPIRY_PERIOD": 45,
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],  # as tests/conftest.py, for the module
}
PERIODS = {
    "everything": (date(2026, 1, 1), date(2027, 12, 31)),  # WHOLE
    "the last 30 days": (LAST_DAY - timedelta(days=29), LAST_DAY),
    "two weeks in the middle": (date(2027, 2, 8), date(2027, 2, 21)),
    "one day": (date(2027, 3, 1), date(2027, 3, 1)),
}
WHOLE = {"start": "2026-01-01", "end": "2027-12-31"}


@pytest.fixture
def analyst(db):
    user = User.objects.create_user("analyst", password="pw-staff-123", is_staff=True)
    user.groups.add(Group.objects.get(name="Analyst"))
    return user


class Program:
    """A seeded program: ``play(members)`` enrols members and runs their year through the services."""

    def __init__(self, seed: int):
        self.random = random.Random(seed)
        self.shop = PartnerFactory(name="Shop", return_window_days=0)
        self.online = PartnerFactory(name="Online", return_window_days=7)
        self.review = EventTypeFactory(code="recon-review", points=30)
        self.rewards = [RewardFactory(points_cost=cost) for cost in (40, 150, 400)]
        self.refused = 0

    def play(self, members: int) -> None:
        actions = []
        for _ in range(members):
            member = MemberFactory()
            actions += self._actions_of(member)
        days = (LAST_DAY - FIRST_DAY).days + 1
        for day in range(1, days + 1):  # the nightly tasks, at 01:00 of each day after the first
            moment = program_day_start(FIRST_DAY + timedelta(days=day)) + timedelta(hours=1)
            actions.append((moment, 0, self._nightly))
        actions.sort(key=lambda action: (action[0], action[1]))
        for moment, _order, action in actions:
            try:
                action(moment)
            except Conflict:  # not enough points for a redemption or a debit: refused, nothing written
                self.refused += 1

    def _actions_of(self, member: Member) -> list:
        rng, actions = self.random, []
        order = member.pk
        for _ in range(rng.randint(0, 6)):
            moment = self._moment()
            partner = rng.choice((self.shop, self.online))
            lines = [
                item(
                    sku=f"SKU-{rng.randint(1, 9)}",
                    quantity=str(rng.randint(1, 3)),
                    unit_price=f"{rng.randint(1, 60)}.00",
                )
                for _ in range(rng.randint(1, 3))
            ]
            bought = {}
            actions.append((moment, order, self._purchase(member, partner, lines, bought)))
            if rng.random() < 0.15:  # returned a few days later: the points are reversed
                actions.append((moment + timedelta(days=rng.randint(1, 10)), order, self._return(bought)))
        if rng.random() < 0.3:
            actions.append((self._moment(), order, self._event(member)))
        if rng.random() < 0.15:
            actions.append((self._moment(), order, self._adjust(member, rng.choice((25, 60, -20, -200)))))
        for _ in range(rng.randint(0, 2)):
            actions.append((self._moment(), order, self._redeem(member, rng.choice(self.rewards))))
        return actions

    def _moment(self) -> datetime:
        day = FIRST_DAY + timedelta(days=self.random.randrange((LAST_DAY - FIRST_DAY).days + 1))
        return datetime.combine(day, time(8), tzinfo=UTC) + timedelta(seconds=self.random.randrange(12 * 3600))

    def _purchase(self, member, partner, lines, bought):
        def run(moment):
            bought["purchase"] = purchase_post(member, *lines, partner=partner, now=moment)

        return run

    def _return(self, bought):
        def run(moment):
            purchase = bought["purchase"]
            return_post(purchase, items=[(1, purchase.lines.get(position=1).quantity)], now=moment)

        return run

    def _event(self, member):
        def run(moment):
            from campaigns.events import event_record

            event_record(
                member=member,
                event_type_code=self.review.code,
                external_id=f"review-{member.pk}",
                occurred_at=moment,
                attributes={},
                now=moment,
            )

        return run

    def _adjust(self, member, points):
        def run(moment):
            ledger.adjust(Account.objects.get(member=member), points, reason="Goodwill", now=moment)

        return run

    def _redeem(self, member, reward):
        def run(moment):
            redemption_create(member=member, reward=reward, idempotency_key=f"r-{moment.timestamp()}", now=moment)

        return run

    def _nightly(self, moment):
        ledger.release_pending(now=moment)
        ledger.expire_due(now=moment)


def ledger_figures(start: date, end: date) -> dict:
    """The period's figures as the ledger's rows give them, summed here rather than by the dashboard's queries."""
    since, until = program_day_start(start), program_day_start(end + timedelta(days=1))
    entries = [entry for entry in Entry.objects.select_related("account") if since <= entry.created_at < until]
    issued = sum(entry.amount for entry in entries if entry.kind in ISSUED)
    purchase, event = ContentType.objects.get_for_model(Purchase), ContentType.objects.get_for_model(Event)
    awarded = {(EntryKind.EARN, purchase.pk), (EntryKind.BONUS, event.pk)}  # what Award rows break down
    by_kind = {}
    for entry in entries:
        if entry.amount > 0:
            by_kind[entry.kind] = by_kind.get(entry.kind, 0) + entry.amount
    return {
        "issued": issued,
        "redeemed": -sum(entry.amount for entry in entries if entry.kind == EntryKind.REDEEM),
        "expired": -sum(entry.amount for entry in entries if entry.kind in LOST),
        "active": len({entry.account.member_id for entry in entries}),
        "members": sum(1 for joined in Member.objects.values_list("joined_at", flat=True) if joined < until),
        "new": sum(1 for joined in Member.objects.values_list("joined_at", flat=True) if since <= joined < until),
        "by_kind": by_kind,
        "from_purchases_and_events": sum(
            entry.amount for entry in entries if (entry.kind, entry.cause_type_id) in awarded
        ),
    }


@pytest.fixture(scope="module")
def program(django_db_setup, django_db_blocker):
    """Played once for the module (200 members), in a transaction rolled back at its end."""
    with django_db_blocker.unblock(), override_settings(**PROGRAM_SETTINGS), transaction.atomic():
        program = Program(seed=2027)
        program.play(members=200)
        yield program
        transaction.set_rollback(True)


def test_the_generated_program_did_everything_the_dashboard_counts(program):
    kinds = set(Entry.objects.values_list("kind", flat=True))
    assert {
        EntryKind.EARN,
        EntryKind.BONUS,
        EntryKind.REDEEM,
        EntryKind.ADJUST,
        EntryKind.REVERSE,
        EntryKind.EXPIRE,
    } <= kinds
    assert program.refused > 0  # some redemptions found too few points: they wrote nothing


@pytest.mark.parametrize("period", PERIODS.values(), ids=PERIODS.keys())
def test_the_dashboards_totals_are_the_sums_of_the_ledgers_entries(client, analyst, program, period):
    start, end = period
    client.force_login(analyst)

    response = client.get(URL, {"start": start.isoformat(), "end": end.isoformat()})

    report = response.context["report"]
    current, expected = report["figures"]["current"], ledger_figures(start, end)
    shown = {name: current[name] for name in ("issued", "redeemed", "expired", "active", "members", "new")}
    assert shown == {name: expected[name] for name in shown}
    assert {row["kind"]: row["points"] for row in report["by_kind"]} == expected["by_kind"]
    series = report["series"]["points"]
    assert [sum(point[name] for point in series) for name in ("issued", "redeemed", "expired")] == [
        expected["issued"],
        expected["redeemed"],
        expected["expired"],
    ]
    assert sum(row["points"] for row in report["by_source"]) == expected["from_purchases_and_events"]
    assert sum(row["points"] for row in report["top_rewards"]["points"]) == expected["redeemed"]  # 3 rewards: all
    previous_start, previous_end = report["previous"].start, report["previous"].end
    assert previous_end == start - timedelta(days=1)
    previous = ledger_figures(previous_start, previous_end)
    assert report["figures"]["previous"]["issued"] == previous["issued"]
    assert report["figures"]["previous"]["redeemed"] == previous["redeemed"]


def test_outstanding_points_are_the_balances_and_the_entries_less_what_is_pending(client, analyst, program):
    client.force_login(analyst)

    outstanding = client.get(URL).context["report"]["outstanding"]

    accounts = list(Account.objects.all())
    entries_by_account = {}
    for account_id, amount in Entry.objects.values_list("account_id", "amount"):
        entries_by_account[account_id] = entries_by_account.get(account_id, 0) + amount
    assert all(account.balance + account.pending == entries_by_account.get(account.pk, 0) for account in accounts)
    balances = sum(account.balance for account in accounts)
    pending = sum(account.pending for account in accounts)
    assert outstanding["points"] == balances == sum(entries_by_account.values()) - pending
    assert outstanding["liability"] == (Decimal(balances) * settings.LOYALTY_POINT_VALUE).quantize(Decimal("0.01"))


def test_every_point_of_the_program_is_in_a_kind_of_the_whole_periods_credits(client, analyst, program):
    client.force_login(analyst)

    by_kind = client.get(URL, WHOLE).context["report"]["by_kind"]

    credits = sum(amount for amount in Entry.objects.values_list("amount", flat=True) if amount > 0)
    assert sum(row["points"] for row in by_kind) == credits
