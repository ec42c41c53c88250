"""Entries and allocations are immutable; the database refuses UPDATE and DELETE of them.

On PostgreSQL a trigger (migration 0002) refuses every row change, and ``manage.py
flush`` empties tables with TRUNCATE, which row triggers do not see. On SQLite the
triggers of migration 0007 ask ``ledger_rows_may_change()``, a function registered on
each of our connections: it answers 1 only inside ``rows_may_change()``, which only the
ledger's ``flush`` command enters (SQLite's flush is a DELETE per table).
"""

import threading
from contextlib import contextmanager

_state = threading.local()


@contextmanager
def rows_may_change():
    _state.active = True
    try:
        yield
    finally:
        _state.active = False


def _rows_may_change() -> int:
    return int(getattr(_state, "active", False))


def register_sqlite_function(sender, connection, **kwargs) -> None:
    """``connection_created`` receiver: give SQLite connections the function the triggers ask."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("ledger_rows_may_change", 0, _rows_may_change)
