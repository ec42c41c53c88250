"""The audit and its management command find a ledger whose caches no longer match its entries."""

from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from tests.factories.members import MemberFactory

NOW = datetime(2027, 1, 10, 12, tzinfo=UTC)


def run_sql(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def sound_ledger(db):
    """Two members with credits, a debit, a reversal, pending points and an expiry: all through the services."""
    first, second = MemberFactory().account, MemberFactory().account
    ledger.credit(first, 100, expires_on=None, now=NOW)
    debit = ledger.debit(first, 30, now=NOW)
    ledger.reverse(debit, points=10, now=NOW)
    ledger.credit(second, 50, expires_on=date(2027, 1, 31), now=NOW)
    ledger.credit(second, 20, available_at=datetime(2099, 1, 1, tzinfo=UTC), expires_on=None, now=NOW)
    ledger.expire_due(now=datetime(2027, 2, 1, tzinfo=UTC))
    return first, second


def test_a_sound_ledger_has_no_problem(sound_ledger, capsys):
    assert audit() == []

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
        f"account {second.pk}: balance 5 + pending 20; entries sum to 20; available lots hold 0, pending lots 20; "
        "earned 70 - spent 0 - expired 50"
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
    assert problems[0].startswith(f"account {first.pk}: balance 79 + pending 0; entries sum to 80;")
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
