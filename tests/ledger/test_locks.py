"""lock_objects: the one place ledger rows are locked."""

import threading

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from loyalty.ledger import lock_objects
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Account
from tests.factories.members import MemberFactory
from tests.helpers import run_together


def test_locking_an_account_returns_it_as_stored(account):
    ledger.credit(account, 40)

    with transaction.atomic():
        locked = lock_objects.account_for_update(account.pk)

    account.refresh_from_db()
    assert (locked.pk, locked.member_id, locked.balance, locked.lifetime_earned) == (
        account.pk,
        account.member_id,
        40,
        40,
    )
    assert (locked.created_at, locked.updated_at) == (account.created_at, account.updated_at)
    assert locked.updated_at.tzinfo is not None


def test_an_account_can_only_be_locked_inside_a_transaction(transactional_db):
    account = MemberFactory().account

    with pytest.raises(TransactionManagementError):
        lock_objects.account_for_update(account.pk)


def test_locking_a_missing_account_raises_does_not_exist(db):
    with transaction.atomic(), pytest.raises(Account.DoesNotExist):
        lock_objects.account_for_update(123456789)


def test_run_together_fails_when_a_job_is_still_running():
    # A job that outlives the timeout would leave its outcome unknown: the helper says so.
    release = threading.Event()

    with pytest.raises(AssertionError, match=r"jobs \[1\] were still running after 0.5 s"):
        run_together(lambda: "quick", lambda: release.wait(10), timeout=0.5)
    release.set()
