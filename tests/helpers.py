"""Helpers shared by the test modules."""

import threading

from django.db import connection

from loyalty.ledger.models import Allocation, Lot


def run_together(*jobs) -> list:
    """Start every job at once, each in its own thread and connection; return what each returned or raised."""
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

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
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
