"""The audit and its management command find a ledger whose caches no longer match its entries."""

from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from loyalty.exceptions import InsufficientPoints
from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit, audit_causes
from loyalty.ledger.models import Adjustment, Entry, EntryKind, ExpiryRun
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory

NOW = datetime(2027, 1, 10, 12, tzinfo=UTC)


def run_sql(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def sound_ledger(db):
    """Two members with credits, a debit, a reversal, pending points and an expiry: all through the services.

    Each credit and debit names a cause (a partner stands for its transaction here).
    """
    first, second = MemberFactory().account, MemberFactory().account
    shop = PartnerFactory()
    ledger.credit(first, 100, expires_on=None, cause=shop, now=NOW)
    debit = ledger.debit(first, 30, cause=shop, now=NOW)
    ledger.reverse(debit, points=10, now=NOW)
    ledger.credit(second, 50, expires_on=date(2027, 1, 31), cause=shop, now=NOW)
    ledger.credit(second, 20, available_at=datetime(2099, 1, 1, tzinfo=UTC), expires_on=None, cause=shop, now=NOW)
    third = MemberFactory().account
    ledger.adjust(third, 5, reason="Goodwill", now=NOW)
    ledger.adjust(third, -5, reason="Goodwill given twice", now=NOW)
    ledger.expire_due(now=datetime(2027, 2, 1, tzinfo=UTC))
    return first, second


def test_a_sound_ledger_has_no_problem(sound_ledger, capsys):
    assert audit() == []
    assert audit_causes() == []

    call_command("ledger_audit")

    assert "The ledger audit found no problem." in capsys.readouterr().out


def test_the_audit_reports_an_account_whose_balance_was_changed_by_hand(sound_ledger, capsys):
    # given an account balance changed behind the ledger's back
    first, second = sound_ledger
    run_sql("UPDATE ledger_account SET balance = balance + 5 WHERE id = %s", [second.pk])

    # when the ledger is audited
    problems = audit()

    # then exactly that account is reported, with its numbers
    assert problems == [
        f"account {second.pk}: balance 5 + pending 20 + held 0; entries sum to 20; available lots hold 0, "
        "pending lots 20; earned 70 - spent 0 - expired 50; debt 0, entries change it by 0; entries hold 0, "
        "open holds 0"
    ]
    with pytest.raises(CommandError, match=r"found 1 problem\(s\)"):
        call_command("ledger_audit")
    assert problems[0] in capsys.readouterr().err


def test_the_audit_reports_a_lot_whose_remainder_was_changed_by_hand(sound_ledger):
    # given a lot holding one point more than its history allows (and the balance kept in step)
    first, _ = sound_ledger
    run_sql("UPDATE ledger_lot SET remaining = remaining - 1 WHERE account_id = %s", [first.pk])
    run_sql("UPDATE ledger_account SET balance = balance - 1 WHERE id = %s", [first.pk])

    problems = audit()

    assert len(problems) == 2
    assert problems[0].startswith(f"account {first.pk}: balance 79 + pending 0 + held 0; entries sum to 80;")
    assert problems[1].endswith(f"of account {first.pk}: remaining 79 of 100, allocations -20, expired 0")


def test_the_audit_reports_points_left_past_their_last_day_once_the_grace_is_over(account):
    # given 100 points whose last day was 31 January and no expiry run
    ledger.credit(account, 100, expires_on=date(2027, 1, 31), now=NOW)

    # then they are not a problem on 1 February (the daily run may not have come yet), but are on 2 February
    assert audit(now=datetime(2027, 2, 1, 23, tzinfo=UTC)) == []
    problems = audit(now=datetime(2027, 2, 2, 1, tzinfo=UTC))
    assert len(problems) == 1
    assert problems[0].endswith("100 points past their last day 2027-01-31 were not expired")
    assert audit(now=datetime(2027, 2, 1, 1, tzinfo=UTC), expiry_grace_days=0) == problems


def test_every_entry_the_ledger_writes_names_its_cause(sound_ledger):
    # expiries name their run, adjustments their Adjustment, a reversal the cause of what it undoes
    expiry = Entry.objects.get(kind=EntryKind.EXPIRE)
    assert (expiry.cause, expiry.amount) == (ExpiryRun.objects.get(), -50)
    assert (expiry.cause.program_day, expiry.cause.source) == (date(2027, 2, 1), ExpiryRun.Source.SCHEDULE)
    adjustments = Entry.objects.filter(kind=EntryKind.ADJUST).order_by("pk")
    assert [(e.cause.points, e.cause.reason, e.cause.account_id == e.account_id) for e in adjustments] == [
        (5, "Goodwill", True),
        (-5, "Goodwill given twice", True),
    ]
    reversal = Entry.objects.get(kind=EntryKind.REVERSE)
    assert (reversal.cause_type, reversal.cause_id) == (reversal.reverses.cause_type, reversal.reverses.cause_id)


def test_the_audit_reports_an_entry_without_a_cause(sound_ledger, capsys):
    # given a credit made without a cause
    first, _ = sound_ledger
    uncaused = ledger.credit(first, 7, expires_on=None, now=NOW)

    # then the cause audit and the command report it, and only it
    problems = audit_causes()
    assert problems == [f"entry {uncaused.pk} of account {first.pk}: a earn of 7 names no cause"]
    with pytest.raises(CommandError, match=r"found 1 problem\(s\)"):
        call_command("ledger_audit")
    assert problems[0] in capsys.readouterr().err


def test_a_repeated_adjustment_writes_no_second_adjustment(account):
    first = ledger.adjust(account, 30, reason="Goodwill", idempotency_key="k", now=NOW)

    again = ledger.adjust(account, 30, reason="Goodwill", idempotency_key="k", now=NOW)

    assert again.pk == first.pk
    assert Adjustment.objects.count() == 1


def test_a_refused_adjustment_leaves_no_adjustment(account):
    with pytest.raises(InsufficientPoints):
        ledger.adjust(account, -30, reason="Correction", now=NOW)

    assert Adjustment.objects.count() == 0


def test_expiry_while_settling_a_debit_names_its_own_run(account):
    # given 40 points past their last day and 10 that never expire
    ledger.credit(account, 40, expires_on=date(2027, 1, 31), cause=account.member, now=NOW)
    ledger.credit(account, 10, expires_on=None, cause=account.member, now=NOW)

    # when a debit on 3 February settles the account first
    ledger.debit(account, 5, cause=account.member, now=datetime(2027, 2, 3, 9, tzinfo=UTC))

    # then the expiry names a run of that debit's settling
    expiry = Entry.objects.get(kind=EntryKind.EXPIRE)
    assert (expiry.amount, expiry.cause.source, expiry.cause.program_day) == (-40, "settle", date(2027, 2, 3))
    assert audit_causes() == []


def test_one_run_causes_every_expiry_of_a_batched_expire_due(db):
    accounts = [MemberFactory().account for _ in range(3)]
    for account in accounts:
        ledger.credit(account, 10, expires_on=date(2027, 1, 31), cause=account.member, now=NOW)

    ledger.expire_due(now=datetime(2027, 2, 1, 1, tzinfo=UTC), batch_size=1)

    assert ExpiryRun.objects.count() == 1
    assert set(Entry.objects.filter(kind=EntryKind.EXPIRE).values_list("cause_id", flat=True)) == {
        str(ExpiryRun.objects.get().pk)
    }


def test_a_release_without_expiry_writes_no_run(account):
    ledger.credit(account, 10, available_at=datetime(2027, 1, 12, tzinfo=UTC), cause=account.member, now=NOW)

    ledger.release_pending(now=datetime(2027, 1, 13, tzinfo=UTC))

    account.refresh_from_db()
    assert (account.balance, account.pending, ExpiryRun.objects.count()) == (10, 0, 0)
