"""Set-based seeding: users, members, accounts, earn entries and their lots in a few INSERT ... SELECT.

The rows satisfy the ledger's invariants (``loyalty.ledger.audit``): every lot is opened
by its own ``earn`` entry with the running balance after it, an account's balance is the
sum of its lots and of its entries, and ``lifetime_earned`` equals the balance.
"""

import contextlib
from datetime import date, datetime

from django.db import connection

from . import db

TABLES = ("auth_user", "members_member", "ledger_account", "ledger_entry", "ledger_lot")


def seed(
    *,
    accounts: int,
    lots_per_account: int,
    now: datetime,
    first_created: datetime,
    expires_on: date | None,
    amount: int | None = None,
) -> int:
    """Seed ``accounts`` members, each with ``lots_per_account`` available lots; return the points seeded.

    Lot ``k`` of an account is created ``k`` days after ``first_created`` and expires
    ``k`` days after ``expires_on`` (``None``: never). Its amount is ``amount``, or
    10 to 99 points varying by account and lot.
    """
    db.reset_data()
    points = f"{int(amount)}" if amount else "10 + ((a * 7 + k * 13) %% 90)"
    params = {"n": accounts, "lots": lots_per_account, "now": now, "first": first_created, "expires": expires_on}
    with loading(TABLES):
        db.execute(
            "INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email,"
            " is_staff, is_active, date_joined)"
            " SELECT n, '!', false, 'bench' || n || '@example.com', '', '', 'bench' || n || '@example.com',"
            " false, true, %(first)s FROM generate_series(1, %(n)s) AS n",
            params,
        )
        db.execute(
            "INSERT INTO members_member (id, created_at, updated_at, member_number, joined_at, status, user_id,"
            " birth_date, external_id, language, marketing_consent, phone, merged_into_id)"
            " SELECT n, %(first)s, %(first)s, '1' || lpad(n::text, 9, '0'), %(first)s, 'active', n,"
            " NULL, '', 'en', false, '', NULL FROM generate_series(1, %(n)s) AS n",
            params,
        )
        db.execute(
            "INSERT INTO ledger_entry (id, kind, amount, balance_after, created_at, actor_id, cause_id, memo,"
            " memo_code, memo_params, idempotency_key, account_id, actor_type_id, cause_type_id, reverses_id,"
            " debt, held)"
            " SELECT (a - 1) * %(lots)s + k, 'earn', points,"
            " sum(points) OVER (PARTITION BY a ORDER BY k), created_at,"
            " '', '', '', '', '{}', '', a, NULL, NULL, NULL, 0, 0"
            f" FROM (SELECT a, k, {points} AS points, %(first)s::timestamptz + make_interval(days => k - 1)"
            "  AS created_at FROM generate_series(1, %(n)s) AS a, generate_series(1, %(lots)s) AS k) AS lots",
            params,
        )
        db.execute(
            "INSERT INTO ledger_lot (id, amount, remaining, expired, pending, available_at, expires_on,"
            " account_id, entry_id)"
            " SELECT id, amount, amount, 0, false, created_at,"
            " %(expires)s::date + ((id - 1) %% %(lots)s)::int, account_id, id FROM ledger_entry",
            params,
        )
        db.execute(
            "INSERT INTO ledger_account (id, created_at, updated_at, balance, pending, lifetime_earned,"
            " lifetime_spent, lifetime_expired, member_id, debt, held)"
            " SELECT account_id, %(first)s, max(created_at), sum(amount), 0, sum(amount), 0, 0, account_id, 0, 0"
            " FROM ledger_entry GROUP BY account_id",
            params,
        )
    for table in TABLES:
        db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    db.vacuum_analyze()
    return int(db.scalar("SELECT sum(balance) FROM ledger_account"))


@contextlib.contextmanager
def loading(tables: tuple[str, ...]):
    """Load ``tables`` without foreign-key checks and secondary indexes; rebuild the indexes after."""
    replica = _skip_triggers()
    indexes = _drop_indexes(tables)
    try:
        yield
    finally:
        if replica:
            db.execute("SET session_replication_role = DEFAULT")
        db.execute("SET maintenance_work_mem = '256MB'")
        for definition in indexes:
            db.execute(definition)
        db.execute("RESET maintenance_work_mem")


def _skip_triggers() -> bool:
    """Load without the deferred foreign-key checks (the rows are built consistent); needs superuser."""
    if connection.vendor != "postgresql":
        return False
    try:
        db.execute("SET session_replication_role = replica")
    except Exception:
        return False
    return True


def _drop_indexes(tables: tuple[str, ...]) -> list[str]:
    """Drop the secondary indexes of the seeded tables (building them after the load is much faster).

    Returns their definitions, to be run again. Indexes behind a constraint (primary
    keys, unique constraints) stay.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            " ORDER BY tablename, indexname",
            [list(tables)],
        )
        rows = cursor.fetchall()
    for name, _definition in rows:
        db.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in rows]
