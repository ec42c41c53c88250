"""Ledger writes per second through ``loyalty.ledger.services`` from worker processes.

Each worker is a separate process (``spawn``: a fresh interpreter that runs
``django.setup()`` and opens its own connection). It alternates ``credit(10)`` and
``debit(5)``, each its own transaction, on random accounts, until the deadline.
"""

import multiprocessing
import random
import time


def _worker(account_ids: list[int], seed: int, ready, start, duration: float, results) -> None:
    from .setup import django_setup

    django_setup()
    from django.db import connection

    from loyalty.ledger import services as ledger
    from loyalty.ledger.models import Account

    rng = random.Random(seed)
    accounts = {account.pk: account for account in Account.objects.filter(pk__in=account_ids)}
    ids = list(accounts)
    ledger.credit(accounts[ids[0]], 1, expires_on=None)  # warm the connection and the code paths
    ledger.debit(accounts[ids[0]], 1)
    ready.set()
    start.wait()
    ops, errors, began = 0, 0, time.perf_counter()
    deadline = began + duration
    while time.perf_counter() < deadline:
        account = accounts[rng.choice(ids)]
        try:
            if ops % 2 == 0:
                ledger.credit(account, 10)
            else:
                ledger.debit(account, 5)
        except Exception:
            errors += 1
        ops += 1
    elapsed = time.perf_counter() - began
    connection.close()
    results.put({"ops": ops, "errors": errors, "seconds": elapsed})


def run(account_ids: list[int], *, workers: int, duration: float) -> dict:
    """Run ``workers`` processes for ``duration`` seconds; return the total and per-second figures."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    readies, processes = [], []
    for number in range(workers):
        ready = context.Event()
        process = context.Process(
            target=_worker, args=(account_ids, 1000 + number, ready, start, duration, results), daemon=True
        )
        process.start()
        readies.append(ready)
        processes.append(process)
    for ready in readies:
        if not ready.wait(timeout=120):
            raise RuntimeError("a benchmark worker did not start")
    start.set()
    outcomes = [results.get(timeout=duration + 120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    ops = sum(outcome["ops"] for outcome in outcomes)
    errors = sum(outcome["errors"] for outcome in outcomes)
    seconds = max(outcome["seconds"] for outcome in outcomes)
    return {
        "workers": workers,
        "accounts": len(account_ids),
        "ops": ops,
        "errors": errors,
        "seconds": round(seconds, 2),
        "ops_per_second": round(ops / seconds, 1),
    }
