"""Helpers shared by the test modules."""

import threading
import time

from django.db import connection

from loyalty.ledger.models import Allocation, Lot


def run_together(*jobs, timeout: float = 60) -> list:
    """Start every job at once, each in its own thread and connection; return what each returned or raised.

    Fails when a job is still running after ``timeout`` seconds: its outcome would be unknown.
    """
    barrier = threading.Barrier(len(jobs))
    outcomes = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            outcomes[index] = job()
        except Exception as error:  # noqa: BLE001  (the outcome is what the test checks)
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0))
    stuck = [index for index, thread in enumerate(threads) if thread.is_alive()]
    if stuck:
        raise AssertionError(f"jobs {stuck} were still running after {timeout} s (a deadlock or a lost lock?)")
    return outcomes


def ledger_state(account) -> tuple:
    """Everything about an account that a refused call must leave as it was."""
    account.refresh_from_db()
    return (
        account.balance,
        account.pending,
        account.lifetime_earned,
        account.lifetime_spent,
        account.lifetime_expired,
        list(account.entries.order_by("pk").values_list("pk", "kind", "amount")),
        list(Lot.objects.filter(account=account).order_by("pk").values_list("remaining", "expired", "pending")),
        Allocation.objects.filter(entry__account=account).count(),
    )
