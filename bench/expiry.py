"""Expiry of 1,000,000 lots: ``expire_due`` against a naive per-lot ORM loop and a bare UPDATE."""

import re
import time
from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F

from loyalty.ledger import lock_objects
from loyalty.ledger import services as ledger
from loyalty.ledger.models import Account, Entry, EntryKind, Lot

from . import db


def naive_loop(lot_ids: list[int], now: datetime) -> dict:
    """Expire lot by lot with the ORM: lock the account, empty the lot, write an entry, update the balance."""
    start = time.perf_counter()
    expired = 0
    for lot_id in lot_ids:
        with transaction.atomic():
            account_id = Lot.objects.values_list("account_id", flat=True).get(pk=lot_id)
            account = lock_objects.account_for_update(account_id)
            lot = Lot.objects.get(pk=lot_id)
            points = lot.remaining
            if points == 0:
                continue
            lot.expired += points
            lot.remaining = 0
            lot.save(update_fields=["expired", "remaining"])
            account.balance -= points
            account.lifetime_expired += points
            account.updated_at = now
            account.save(update_fields=["balance", "lifetime_expired", "updated_at"])
            Entry.objects.create(
                account=account,
                kind=EntryKind.EXPIRE,
                amount=-points,
                balance_after=account.balance,
                created_at=now,
                memo_code="expired",
                memo_params={"points": points},
            )
            expired += points
    seconds = time.perf_counter() - start
    return {
        "lots": len(lot_ids),
        "points": expired,
        "seconds": round(seconds, 2),
        "ms_per_lot": seconds * 1000 / len(lot_ids),
    }


class _QueryProfile:
    """Time spent per kind of statement (first SQL keywords and table) while ``expire_due`` runs."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.calls = defaultdict(int)

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = self._kind(sql)
            self.seconds[key] += time.perf_counter() - start
            self.calls[key] += 1

    @staticmethod
    def _kind(sql: str) -> str:
        text = " ".join(sql.split())
        if text.startswith("UPDATE"):
            table = text.split()[1].strip('"')
            if table == "ledger_lot":
                return "UPDATE ledger_lot (pending=false)" if 'SET "pending"' in text else "UPDATE ledger_lot (expire)"
            return f"UPDATE {table}"
        if text.startswith("INSERT"):
            return "INSERT " + text.split()[2].strip('"')
        if text.startswith("SELECT"):
            if "FOR UPDATE" in text:
                return "SELECT ... FOR UPDATE (lock accounts)"
            if "DISTINCT" in text:
                return "SELECT DISTINCT account_id (next batch)"
            if "SUM(" in text.upper():
                return "SELECT SUM per account (totals)"
        match = re.match(r"\w+", text)
        return match.group(0) if match else text[:30]

    def rows(self, total: float) -> list[dict]:
        return [
            {"statement": key, "calls": self.calls[key], "seconds": round(s, 2), "share": round(s / total, 3)}
            for key, s in sorted(self.seconds.items(), key=lambda item: -item[1])
        ]


def expire_due(now: datetime) -> dict:
    profile = _QueryProfile()
    commit = connection._commit

    def timed_commit():
        started = time.perf_counter()
        try:
            return commit()
        finally:
            profile.seconds["COMMIT"] += time.perf_counter() - started
            profile.calls["COMMIT"] += 1

    connection._commit = timed_commit
    start = time.perf_counter()
    try:
        with connection.execute_wrapper(profile):
            result = ledger.expire_due(now=now)
    finally:
        del connection._commit
    seconds = time.perf_counter() - start
    profile.seconds["(Python: ORM objects, SQL building, parameter binding)"] = seconds - sum(profile.seconds.values())
    profile.calls["(Python: ORM objects, SQL building, parameter binding)"] = 0
    return {
        "seconds": round(seconds, 2),
        "accounts": result.accounts,
        "points": result.expired,
        "statements": profile.rows(seconds),
    }


def bare_update(today) -> dict:
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ledger_lot SET expired = expired + remaining, remaining = 0"
            " WHERE remaining > 0 AND expires_on < %s",
            [today],
        )
        rows = cursor.rowcount
    return {"seconds": round(time.perf_counter() - start, 2), "lots": rows}


def state(today) -> dict:
    """What is left to expire and whether the caches add up, cheaply (the full audit is slow at this size)."""
    return {
        "due_lots_left": db.scalar("SELECT count(*) FROM ledger_lot WHERE remaining > 0 AND expires_on < %s", [today]),
        "balance_total": int(Account.objects.aggregate(total=_sum("balance"))["total"] or 0),
        "lots_remaining_total": int(Lot.objects.aggregate(total=_sum("remaining"))["total"] or 0),
        "expire_entries": Entry.objects.filter(kind=EntryKind.EXPIRE).count(),
        "negative_balances": Account.objects.filter(balance__lt=0).count(),
        "unbalanced_accounts": Account.objects.exclude(
            lifetime_earned=F("balance") + F("pending") + F("lifetime_spent") + F("lifetime_expired")
        ).count(),
    }


def _sum(field: str):
    from django.db.models import Sum

    return Sum(field)


_IDS = re.compile(r"'\{[\d,]{100,}\}'")


class _StopAfterOneBatch(Exception):
    pass


def explain_one_batch(now: datetime) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) every statement of one ``expire_due`` batch, then roll it all back.

    The statements are captured from a real run of the first batch (rolled back), then
    replayed in order under EXPLAIN ANALYZE in a transaction that is rolled back too.
    """
    captured = []

    def capture(execute, sql, params, many, context):
        if captured and "DISTINCT" in sql:
            raise _StopAfterOneBatch()
        if sql.lstrip().split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "WITH"):
            captured.append((sql, params))
        return execute(sql, params, many, context)

    try:
        with transaction.atomic(), connection.execute_wrapper(capture):
            ledger.expire_due(now=now)
    except _StopAfterOneBatch:
        pass
    plans = []
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params in captured:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                lines = [_IDS.sub("'{...}'", row[0]) for row in cursor.fetchall()]
                time_line = next((line for line in lines if line.startswith("Execution Time")), "")
                plans.append(
                    {
                        "statement": _QueryProfile._kind(sql),
                        "execution_ms": float(time_line.split()[2]) if time_line else None,
                        "plan": lines,
                    }
                )
            raise _StopAfterOneBatch()
    except _StopAfterOneBatch:
        pass
    return plans
