"""Gifting points between members: the policy, its limits at their edges, statuses, dates, repeats."""

from datetime import UTC, date, datetime

import pytest
from rest_framework.test import APIClient

from loyalty.exceptions import (
    GiftingDisabled,
    GiftLimitReached,
    GiftRecipientUnavailable,
    GiftToSelf,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidMemberNumber,
    MemberClosed,
    MemberSuspended,
    TooManyAttempts,
    ValidationError,
)
from loyalty.ledger import memos
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Entry, EntryKind, Lot
from members.gifting import RECIPIENT_MISSES_PER_HOUR, gift_allowance_get, gift_policy_get, gift_send
from members.models import Gift, GiftPolicy, Member, MemberStatus
from members.numbers import luhn_check_digit
from tests.factories.members import MemberFactory, gift_policy_set
from tests.factories.partners import PartnerFactory, partner_key
from tests.helpers import ledger_state, run_together

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 10, 12, tzinfo=UTC)
EARLIER = datetime(2027, 2, 1, 12, tzinfo=UTC)


@pytest.fixture
def policy():
    gift_policy_set(enabled=True, per_gift_limit=300, daily_limit=500, monthly_limit=1200)
    return gift_policy_get()


@pytest.fixture
def sender(policy):
    member = MemberFactory()
    ledger.credit(member.account, 5000, expires_on=date(2027, 12, 31), now=EARLIER)
    return member


@pytest.fixture
def recipient(db):
    return MemberFactory()


def send(sender, recipient, points, *, key=None, now=NOW, message="", number=None):
    send.count = getattr(send, "count", 0) + 1
    return gift_send(
        sender=sender,
        recipient_number=number or recipient.member_number,
        points=points,
        message=message,
        idempotency_key=key or f"key-{send.count}",
        now=now,
    )


def state(*members):
    return [ledger_state(member.account) for member in members], Gift.objects.count()


def test_a_gift_moves_points_as_two_entries_with_memos_in_both_histories(sender, recipient):
    gift = send(sender, recipient, 120, message="Happy  birthday\n!")

    assert (gift.sender, gift.recipient, gift.points, gift.message) == (sender, recipient, 120, "Happy birthday !")
    debit, credit = Entry.objects.filter(kind=EntryKind.GIFT).order_by("pk")
    assert (debit.account_id, debit.amount, credit.account_id, credit.amount) == (
        sender.account.pk,
        -120,
        recipient.account.pk,
        120,
    )
    assert debit.cause == gift == credit.cause
    assert (debit.memo_code, debit.memo_params) == (
        memos.GIFT_TO,
        {"number": recipient.member_number, "message": "Happy birthday !"},
    )
    assert credit.memo_display == f"Gift from member {sender.member_number}: \u201cHappy birthday !\u201d"
    assert debit.memo_display == f"Gift to member {recipient.member_number}: \u201cHappy birthday !\u201d"
    assert debit.actor == sender.user
    assert audit(now=NOW) == []


def test_a_gift_keeps_the_senders_expiry_dates(policy, recipient):
    sender = MemberFactory()
    ledger.credit(sender.account, 100, expires_on=date(2027, 5, 31), now=EARLIER)
    ledger.credit(sender.account, 100, expires_on=date(2027, 9, 30), now=EARLIER)

    send(sender, recipient, 150)

    assert list(Lot.objects.filter(account=recipient.account).order_by("pk").values_list("amount", "expires_on")) == [
        (100, date(2027, 5, 31)),
        (50, date(2027, 9, 30)),
    ]


def test_gifting_is_off_by_default(db, recipient):
    sender = MemberFactory()
    ledger.credit(sender.account, 100, now=EARLIER)
    assert GiftPolicy.objects.get(pk=1).enabled is False
    before = state(sender, recipient)

    with pytest.raises(GiftingDisabled):
        send(sender, recipient, 10)

    assert state(sender, recipient) == before


def test_exactly_the_daily_limit_passes_and_one_more_point_is_refused(sender, recipient):
    send(sender, recipient, 300)
    send(sender, recipient, 200)  # 500: exactly the daily limit
    before = state(sender, recipient)

    with pytest.raises(GiftLimitReached) as refused:
        send(sender, recipient, 1)

    assert refused.value.details == {"limit": "day", "remaining": 0}
    assert state(sender, recipient) == before
    assert gift_allowance_get(sender=sender, policy=gift_policy_get(), now=NOW).now == 0


def test_the_daily_limit_starts_again_the_next_program_day(sender, recipient, settings):
    # 22:30 UTC on 10 March is 23:30 in Paris; 23:30 UTC is already 11 March there
    settings.TIME_ZONE = "Europe/Paris"
    send(sender, recipient, 300, now=datetime(2027, 3, 10, 22, 30, tzinfo=UTC))
    send(sender, recipient, 200, now=datetime(2027, 3, 10, 22, 40, tzinfo=UTC))
    with pytest.raises(GiftLimitReached):
        send(sender, recipient, 1, now=datetime(2027, 3, 10, 22, 50, tzinfo=UTC))

    gift = send(sender, recipient, 300, now=datetime(2027, 3, 10, 23, 30, tzinfo=UTC))

    assert gift.program_day == date(2027, 3, 11)


def test_the_monthly_limit_counts_the_program_month_and_resets_across_its_boundary(sender, recipient, settings):
    settings.TIME_ZONE = "Europe/Paris"
    for day in (1, 2, 3, 4):
        send(sender, recipient, 300, now=datetime(2027, 3, day, 12, tzinfo=UTC))  # 1,200: the monthly limit
    last_evening = datetime(2027, 3, 31, 21, 30, tzinfo=UTC)  # 23:30 on 31 March in Paris
    before = state(sender, recipient)
    with pytest.raises(GiftLimitReached) as refused:
        send(sender, recipient, 1, now=last_evening)
    assert refused.value.details == {"limit": "month", "remaining": 0}
    assert state(sender, recipient) == before

    gift = send(sender, recipient, 300, now=datetime(2027, 3, 31, 22, 30, tzinfo=UTC))  # 00:30 on 1 April

    assert gift.program_day == date(2027, 4, 1)


def test_one_gift_over_the_per_gift_limit_is_refused(sender, recipient):
    before = state(sender, recipient)
    with pytest.raises(GiftLimitReached) as refused:
        send(sender, recipient, 301)
    assert refused.value.details == {"limit": "per_gift", "remaining": 300}
    assert state(sender, recipient) == before
    assert send(sender, recipient, 300).points == 300


def test_insufficient_points_writes_nothing(policy, recipient):
    sender = MemberFactory()
    ledger.credit(sender.account, 40, now=EARLIER)
    ledger.credit(sender.account, 200, available_at=datetime(2027, 4, 1, tzinfo=UTC), now=EARLIER)  # pending
    before = state(sender, recipient)

    with pytest.raises(InsufficientPoints):
        send(sender, recipient, 41)

    assert state(sender, recipient) == before
    assert gift_allowance_get(sender=sender, policy=policy, now=NOW).day == 500  # a refused gift counts nothing


@pytest.mark.parametrize(("status", "error"), [("suspended", MemberSuspended), ("closed", MemberClosed)])
def test_a_suspended_or_closed_sender_cannot_send(sender, recipient, status, error):
    Member.objects.filter(pk=sender.pk).update(status=status)
    before = state(sender, recipient)
    with pytest.raises(error):
        send(sender, recipient, 10)
    assert state(sender, recipient) == before


@pytest.mark.parametrize("status", ["suspended", "closed"])
def test_a_suspended_or_closed_recipient_cannot_receive_and_the_sender_is_not_told_which(sender, recipient, status):
    Member.objects.filter(pk=recipient.pk).update(status=status)
    before = state(sender, recipient)

    with pytest.raises(GiftRecipientUnavailable) as refused:
        send(sender, recipient, 10)

    assert refused.value.message == f"Member {recipient.member_number} cannot receive points."
    assert refused.value.details == {"field": "recipient_number", "number": recipient.member_number}
    assert state(sender, recipient) == before


def test_unknown_and_merged_numbers_get_the_same_answer(sender, recipient):
    survivor = MemberFactory()
    Member.objects.filter(pk=recipient.pk).update(merged_into=survivor)
    unknown = "12345678" + "0"
    unknown += luhn_check_digit(unknown)
    assert not Member.objects.filter(member_number=unknown).exists()

    answers = []
    for number in (recipient.member_number, unknown):
        with pytest.raises(GiftRecipientUnavailable) as refused:
            send(sender, recipient, 10, number=number)
        answers.append(refused.value.message.replace(number, "N"))

    assert answers == ["Member N cannot receive points."] * 2
    assert Gift.objects.count() == 0


def test_a_mistyped_number_is_its_own_error(sender, recipient):
    number = recipient.member_number
    typo = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(InvalidMemberNumber) as refused:
        send(sender, recipient, 10, number=typo)
    assert refused.value.code == "invalid_member_number"


def test_not_to_oneself(sender):
    with pytest.raises(GiftToSelf):
        send(sender, sender, 10)
    assert Gift.objects.count() == 0


def test_too_many_numbers_that_cannot_receive_stop_every_gift_for_an_hour(sender, recipient):
    for n in range(RECIPIENT_MISSES_PER_HOUR):
        body = f"{n + 100000000}"
        with pytest.raises(GiftRecipientUnavailable):
            send(sender, recipient, 10, number=body + luhn_check_digit(body))

    with pytest.raises(TooManyAttempts):
        send(sender, recipient, 10)  # a real member now: still refused, so probing learns nothing more
    assert Gift.objects.count() == 0


def test_a_repeat_with_the_same_key_sends_once(sender, recipient):
    first = send(sender, recipient, 100, key="once")
    again = send(sender, recipient, 100, key="once")

    assert again.pk == first.pk
    assert Entry.objects.filter(kind=EntryKind.GIFT).count() == 2
    recipient.account.refresh_from_db()
    assert recipient.account.balance == 100
    with pytest.raises(IdempotencyConflict):
        send(sender, recipient, 101, key="once")


def test_a_message_over_its_length_is_refused(sender, recipient):
    with pytest.raises(ValidationError) as refused:
        send(sender, recipient, 10, message="x" * 141)
    assert refused.value.details == {"field": "message"}
    assert Gift.objects.count() == 0


def test_gifted_points_are_not_earned_points(sender, recipient):
    """Tiers count earn, bonus and qualifying adjustments: a gift is none of them."""
    send(sender, recipient, 100)
    assert set(recipient.account.entries.values_list("kind", flat=True)) == {EntryKind.GIFT}


def test_a_recipient_suspended_after_a_gift_is_refused_the_next(sender, recipient):
    send(sender, recipient, 10)
    Member.objects.filter(pk=recipient.pk).update(status=MemberStatus.SUSPENDED)
    with pytest.raises(GiftRecipientUnavailable):
        send(sender, recipient, 10)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_gifts_both_ways_neither_deadlock_nor_pass_the_limit_twice():
    # given two members who each hold 1,000 points, a daily limit of 500 and gifts of 300
    gift_policy_set(enabled=True, per_gift_limit=300, daily_limit=500, monthly_limit=5000)
    first, second = MemberFactory(), MemberFactory()
    for member in (first, second):
        ledger.credit(member.account, 1000, expires_on=date(2027, 12, 31), now=EARLIER)

    def gift(sender, recipient, key):
        return lambda: send(sender, recipient, 300, key=key)

    # when each sends two gifts of 300 to the other, all four at once
    outcomes = run_together(
        gift(first, second, "a"), gift(first, second, "b"), gift(second, first, "c"), gift(second, first, "d")
    )

    # then each sender's second gift met the limit its first had used, whichever came first
    names = sorted(type(outcome).__name__ for outcome in outcomes)
    assert names == ["Gift", "Gift", "GiftLimitReached", "GiftLimitReached"], outcomes
    for member in (first, second):
        member.account.refresh_from_db()
        assert member.account.balance == 1000
    assert Gift.objects.count() == 2
    assert audit(now=NOW) == []


def test_without_the_policy_row_gifting_is_off(sender, recipient):
    GiftPolicy.objects.all().delete()
    with pytest.raises(GiftingDisabled):
        send(sender, recipient, 10)
    assert Gift.objects.count() == 0


def test_the_enrolling_partner_reads_a_gift_without_the_other_member_or_the_message(policy, db):
    shop = PartnerFactory()
    sender, recipient = MemberFactory(enrolled_by=shop), MemberFactory()
    ledger.credit(sender.account, 100, now=EARLIER)
    send(sender, recipient, 40, message="For Alice, 12 Rue X, call 0612345678")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {partner_key(shop)[1]}")

    body = api.get(f"/api/v1/members/{sender.member_number}/entries/?kind=gift").json()

    assert [(entry["amount"], entry["memo"]) for entry in body["results"]] == [(-40, "Gift to another member")]
    assert recipient.member_number not in str(body)
    assert "Alice" not in str(body)
