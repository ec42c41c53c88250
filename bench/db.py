"""Raw SQL helpers: run statements, reset the ledger, vacuum, checkpoint."""

import contextlib
import time

from django.db import connection


def execute(sql: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def reset_data() -> None:
    """Empty the members, users and every ledger table (TRUNCATE is allowed by the ledger's triggers)."""
    execute(
        "TRUNCATE ledger_allocation, ledger_lot, ledger_entry, ledger_account, members_member, auth_user "
        "RESTART IDENTITY CASCADE"
    )


def vacuum_analyze() -> None:
    """VACUUM cannot run in a transaction: Django's connection is in autocommit outside atomic()."""
    for table in ("auth_user", "members_member", "ledger_account", "ledger_entry", "ledger_lot", "ledger_allocation"):
        execute(f"VACUUM (ANALYZE) {table}")


def checkpoint() -> None:
    """Start each timed phase with no dirty buffers from the phase before."""
    with contextlib.suppress(Exception):  # needs superuser or pg_checkpoint; without, only more noise
        execute("CHECKPOINT")


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
