"""A small pure-Python model of the ledger's rules, for the property test to compare against.

It knows nothing of the database: lots and entries are plain objects keyed by the ids
the real ledger gave them. Each operation either applies whole or raises the error the
real ledger must raise, leaving the model unchanged.
"""

import copy
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from loyalty.exceptions import InsufficientPoints, NotReversible


@dataclass
class RefLot:
    account: int
    amount: int
    pending: bool
    available_at: datetime
    expires_on: date | None
    remaining: int = 0
    expired: int = 0

    def __post_init__(self):
        self.remaining = self.amount


@dataclass
class RefEntry:
    account: int
    kind: str
    amount: int
    lot: int | None = None  # the lot a credit opened
    taken: list[tuple[int, int]] = field(default_factory=list)  # (lot, points) in order
    reverses: int | None = None


@dataclass
class RefAccount:
    balance: int = 0
    pending: int = 0


class ReferenceLedger:
    def __init__(self):
        self.accounts: dict[int, RefAccount] = {}
        self.lots: dict[int, RefLot] = {}  # keyed by the id of the credit entry that opened it
        self.entries: dict[int, RefEntry] = {}

    # Operations. Each checks on a copy of the state and commits only on success.

    def _transaction(self, operation, *args):
        saved = copy.deepcopy((self.accounts, self.lots, self.entries))
        try:
            return operation(*args)
        except Exception:
            self.accounts, self.lots, self.entries = saved
            raise

    def credit(self, entry_id, account, points, kind, available_at, expires_on, now):
        return self._transaction(self._credit, entry_id, account, points, kind, available_at, expires_on, now)

    def debit(self, account, points, now):
        """Returns the lots taken from, so the caller can record the entry once it knows its id."""
        return self._transaction(self._debit, account, points, now)

    def reverse(self, entry_id, points, now):
        return self._transaction(self._reverse, entry_id, points, now)

    def settle_where(self, wanted, now):
        """``expire_due`` / ``release_pending``: settle every account with a lot that ``wanted`` picks."""
        for account in sorted({lot.account for lot in self.lots.values() if wanted(lot)}):
            self._settle(account, now)

    # The rules.

    def _credit(self, entry_id, account, points, kind, available_at, expires_on, now):
        available_at = max(available_at, now)
        pending = available_at > now
        state = self.accounts.setdefault(account, RefAccount())
        if pending:
            state.pending += points
        else:
            state.balance += points
        self.lots[entry_id] = RefLot(account, points, pending, available_at, expires_on)
        self.entries[entry_id] = RefEntry(account, kind, points, lot=entry_id)

    def _debit(self, account, points, now):
        self._settle(account, now)
        state = self.accounts[account]
        if points > state.balance:
            raise InsufficientPoints()
        state.balance -= points
        return self._take(self._spendable(account), points)

    def record_debit(self, entry_id, account, kind, points, taken):
        self.entries[entry_id] = RefEntry(account, kind, -points, taken=taken)

    def _reverse(self, entry_id, points, now):
        original = self.entries[entry_id]
        if original.kind in ("expire", "reverse"):
            raise NotReversible()
        self._settle(original.account, now)
        reversed_points = sum(abs(e.amount) for e in self.entries.values() if e.reverses == entry_id)
        expired = self.lots[original.lot].expired if original.amount > 0 else 0
        reversible = max(abs(original.amount) - reversed_points - expired, 0)
        points = reversible if points is None else points
        if reversible == 0 or points > reversible:
            raise NotReversible()
        state = self.accounts[original.account]
        if original.amount > 0:
            own = self.lots[original.lot]
            from_own = min(own.remaining, points)
            elsewhere = state.balance - (0 if own.pending else own.remaining)
            if points - from_own > elsewhere:
                raise InsufficientPoints()
            if own.pending:
                state.pending -= from_own
                state.balance -= points - from_own
            else:
                state.balance -= points
            others = [lot for lot in self._spendable(original.account) if lot is not own]
            taken = self._take([own, *others], points)
            return RefEntry(original.account, "reverse", -points, taken=taken, reverses=entry_id)
        given_back = {}
        for reversal in (e for e in self.entries.values() if e.reverses == entry_id):
            for lot, back in reversal.taken:
                given_back[lot] = given_back.get(lot, 0) + back
        back_to, left = [], points
        for lot_id, took in reversed(original.taken):
            back = min(took - given_back.get(lot_id, 0), left)
            if back > 0:
                self.lots[lot_id].remaining += back
                back_to.append((lot_id, back))
                left -= back
        state.balance += points
        self._settle(original.account, now)
        return RefEntry(original.account, "reverse", points, taken=back_to, reverses=entry_id)

    def record_reversal(self, entry_id, reversal: RefEntry):
        self.entries[entry_id] = reversal

    def _settle(self, account, now):
        today = timezone.localdate(now)
        state = self.accounts[account]
        for lot in self._lots_of(account):
            if lot.pending and lot.available_at <= now:
                lot.pending = False
                state.pending -= lot.remaining
                state.balance += lot.remaining
        for lot in self._lots_of(account):
            if lot.remaining and lot.expires_on is not None and lot.expires_on < today:
                if lot.pending:
                    state.pending -= lot.remaining
                else:
                    state.balance -= lot.remaining
                lot.expired += lot.remaining
                lot.remaining = 0

    def _lots_of(self, account):
        return [lot for lot in self.lots.values() if lot.account == account]

    def _spendable(self, account):
        lots = [(lot_id, lot) for lot_id, lot in self.lots.items() if lot.account == account]
        lots = [(i, lot) for i, lot in lots if not lot.pending and lot.remaining > 0]
        lots.sort(key=lambda item: (item[1].expires_on is None, item[1].expires_on or date.min, item[0]))
        return [lot for _, lot in lots]

    def _take(self, lots, points):
        """Take ``points`` from ``lots`` in order; returns (lot id, points) pairs."""
        ids = {id(lot): lot_id for lot_id, lot in self.lots.items()}
        taken, left = [], points
        for lot in lots:
            if left == 0:
                break
            take = min(lot.remaining, left)
            if take:
                lot.remaining -= take
                taken.append((ids[id(lot)], take))
                left -= take
        assert left == 0, "the reference model's lots do not cover its balance"
        return taken
