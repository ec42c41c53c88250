"""The ledger's rules as the README states them, in plain Python, for the property test to compare against.

Written from the README's "The point ledger" (for staff and for developers), not from
``services.py``: where the README is silent the choice is written here and in the README
(the order in which a partial reversal gives points back). It knows nothing of the
database: lots and entries are plain objects keyed by the ids the real ledger gave them.
An operation either applies whole or raises the error the ledger must raise, leaving the
model as it was.

The rules, in the README's words:
- A credit opens a lot; its points are pending until their date, then spendable. A lot
  counts until the end of its last day in the program's time zone.
- Before a debit, a reversal or a forfeit the account is settled: pending lots whose date
  has come become available; lots past their last day lose what they hold (pending or not).
  The daily and hourly runs settle every account that has such a lot.
- A debit takes the points that expire soonest first, never-expiring points last (lots of
  the same day in the order they were opened); beyond the balance it is refused.
- Reversing a debit gives the points back to the lots they came from, the last taken
  first; points that land in a lot past its last day expire at once.
- Reversing a credit takes its points back from its own lot first (pending or not), then
  from the member's other spendable points, soonest-expiring first; points of the credit
  that already expired are not taken twice; if the member no longer holds them, refused
  (shortfall "refuse"). With shortfall "debt" it then takes the member's other pending
  points, soonest-expiring first, and what is still missing is owed: the reversal moves
  what it took and adds the rest to the account's debt; "write_off" does the same, then a
  write-off entry takes the debt it added away again. What a reversal undid is what it
  took plus what it left owed.
- Whenever points arrive in an account that owes some (a credit, a debit's reversal after
  its points expired or not, a gift or a merge received), a repayment follows: it takes
  min(debt, held) from the lots holding points, soonest-expiring first (pending too), and
  lowers the debt as much.
- Expiries, reversals, forfeits, repayments and write-offs cannot be reversed, nor more
  than what is left.
- A forfeit takes every point, spendable and pending.
- A transfer settles both accounts, then takes from the source, soonest expiry first: a
  gift its spendable points (beyond them, refused; either member suspended, refused), a
  merge every point, pending too. The target gets one lot per distinct (last day,
  pending, date it becomes available) of what was taken, in the order first taken:
  spendable points available now, pending ones at their own date. Gifts and merges
  cannot be reversed.
- A suspended member earns and spends nothing (reversals and forfeits still apply).
- A hold takes points like a debit (settled first, soonest expiry first, refused beyond the
  balance or for a suspended member) and sets them aside: they are in no lot and not in the
  balance. One capture or one void closes an open hold; a capture is refused once the hold's
  time is over, for a suspended member, or for more points than held; what a capture leaves,
  a void and the scheduled release of a hold past its time give back to the lots the hold
  took from, latest taken first, then the account is settled (points landing in a lot past
  its last day expire) and a debt repaid. A refund (reversal) of a capture gives back at most
  what it spent, to the hold's lots net of what was given back already. A hold and its
  release cannot be reversed. A forfeit voids the open holds first; a merge of a member with
  open holds is refused.
- An idempotency key names one request of one actor on one account: a repeat returns
  the first entry and changes nothing; the same key for another request is a conflict (a
  reversal repeated with another shortfall policy is another request only if the first
  left points owed).
"""

import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from loyalty.exceptions import (
    HoldNotOpen,
    HoldOutOfRange,
    IdempotencyConflict,
    InsufficientPoints,
    MemberSuspended,
    MergeRefused,
    NotReversible,
)

NEVER = date.max  # sorts never-expiring lots last


@dataclass
class Lot:
    account: int
    amount: int
    pending: bool
    available_at: datetime
    last_day: date | None
    order: tuple  # opening order: (entry id, lot id), the same order as the lots' ids
    remaining: int = 0
    expired: int = 0
    key: object = None  # how entries name the lot: a credit's entry id, ("lot", id) for a transfer's lots

    def __post_init__(self):
        self.remaining = self.amount


@dataclass
class Entry:
    account: int
    kind: str
    amount: int
    lot: int | None = None  # the lot a credit opened (keyed by the credit's entry id)
    moves: list[tuple[int, int]] = field(default_factory=list)  # (lot, signed points) in order
    reverses: int | None = None
    debt: int = 0  # the change to the account's debt
    held: int = 0  # the change to the account's held points


@dataclass
class Hold:
    account: int
    entry: int  # the hold entry
    points: int
    expires_at: datetime
    status: str = "open"
    capture: int | None = None  # the capture entry


@dataclass
class Account:
    suspended: bool = False
    keys: dict = field(default_factory=dict)  # (actor, key) -> (request, entry id)
    debt: int = 0


class Reference:
    def __init__(self, program_zone: str):
        self.zone = ZoneInfo(program_zone)
        self.accounts: dict[int, Account] = {}
        self.lots: dict[int, Lot] = {}
        self.entries: dict[int, Entry] = {}
        self.holds: dict[int, Hold] = {}

    # Reads.

    def today(self, now: datetime) -> date:
        return now.astimezone(self.zone).date()

    def balance(self, account: int) -> int:
        return sum(lot.remaining for lot in self._lots(account) if not lot.pending)

    def pending(self, account: int) -> int:
        return sum(lot.remaining for lot in self._lots(account) if lot.pending)

    def held(self, account: int) -> int:
        return sum(h.points for h in self.holds.values() if h.account == account and h.status == "open")

    def _lots(self, account: int) -> list[Lot]:
        return [lot for lot in self.lots.values() if lot.account == account]

    # Idempotency: ``replayed`` answers a repeat before anything else is checked.

    def replayed(self, account: int, actor, key: str | None, request: tuple) -> int | None:
        if key is None:
            return None
        known = self.accounts[account].keys.get((actor, key))
        if known is None:
            return None
        if known[0] != request and not self._repeats_reversal(known, request):
            raise IdempotencyConflict()
        return known[1]

    def _repeats_reversal(self, known: tuple, request: tuple) -> bool:
        """A reversal is repeated by the same entry and the points it undid, or with the points left out,
        and by the same shortfall policy if the first left points owed."""
        if not known[0][0] == request[0] == "reverse":
            return False
        (_kind, _first_points, entry_id, shortfall), first_entry = known
        first = self.entries[first_entry]
        return (
            entry_id == request[2]
            and request[1] in (None, abs(first.amount - first.debt))
            and (first.debt == 0 or request[3] == shortfall)
        )

    def remember(self, account: int, actor, key: str | None, request: tuple, entry_id: int) -> None:
        if key is not None:
            self.accounts[account].keys[(actor, key)] = (request, entry_id)

    # Operations: each checks and applies on a copy, kept only on success.

    def attempt(self, operation, *args):
        saved = copy.deepcopy((self.accounts, self.lots, self.entries, self.holds))
        try:
            return operation(*args)
        except Exception:
            self.accounts, self.lots, self.entries, self.holds = saved
            raise

    def credit(self, account: int, points: int, available_at: datetime, last_day: date | None, now: datetime):
        """Checks a credit; returns a function that records it under the entry id the ledger gave."""
        if self.accounts[account].suspended:
            raise MemberSuspended()

        def record(entry_id: int, kind: str) -> list[Entry]:
            """Records the credit; returns the repayment that follows it (a list of none or one)."""
            pending = available_at > now
            self.lots[entry_id] = Lot(
                account, points, pending, max(available_at, now), last_day, (entry_id, 0), key=entry_id
            )
            self.entries[entry_id] = Entry(account, kind, points, lot=entry_id)
            return self.repay(account)

        return record

    def debit(self, account: int, points: int, now: datetime) -> list[tuple[int, int]]:
        """The lots a debit takes from; record it with ``record_debit`` once the ledger named it."""
        if self.accounts[account].suspended:
            raise MemberSuspended()
        self.settle(account, now)
        if points > self.balance(account):
            raise InsufficientPoints()
        return self._take(self._spendable(account), points)

    def record_debit(self, entry_id: int, account: int, kind: str, points: int, moves) -> None:
        self.entries[entry_id] = Entry(account, kind, -points, moves=moves)

    def reverse(
        self, entry_id: int, points: int | None, now: datetime, shortfall: str = "refuse"
    ) -> tuple[Entry, list[Entry]]:
        """The reversal, and what follows it: a write-off of what it left owed, or a repayment."""
        original = self.entries[entry_id]
        if original.kind in ("expire", "reverse", "forfeit", "gift", "merge", "repay", "write_off", "hold", "release"):
            raise NotReversible()
        self.settle(original.account, now)
        undone = sum(abs(e.amount - e.debt) for e in self.entries.values() if e.reverses == entry_id)
        lost = self.lots[original.lot].expired if original.amount > 0 else 0
        size = -original.held if original.kind == "capture" else abs(original.amount)
        left = max(size - undone - lost, 0)
        points = left if points is None else points
        if left == 0 or points > left:
            raise NotReversible()
        account = self.accounts[original.account]
        if original.amount > 0:
            own = self.lots[original.lot]
            from_own = min(own.remaining, points)
            others = [lot for lot in self._spendable(original.account) if lot is not own]
            if shortfall == "refuse" and points - from_own > sum(lot.remaining for lot in others):
                raise InsufficientPoints()
            pending = []
            if shortfall != "refuse":
                pending = [lot for lot in self._lots(original.account) if lot.pending and lot.remaining > 0]
                pending = sorted((lot for lot in pending if lot is not own), key=self._soonest)
            lots = [own, *others, *pending]
            taken = min(points, sum(lot.remaining for lot in lots))
            moves = self._take(lots, taken) if taken else []
            owed = points - taken
            account.debt += owed
            reversal = Entry(original.account, "reverse", -taken, moves=moves, reverses=entry_id, debt=owed)
            if owed and shortfall == "write_off":
                account.debt -= owed
                return reversal, [Entry(original.account, "write_off", 0, debt=-owed)]
            return reversal, []
        taken_by, undone_by = entry_id, [entry_id]
        if original.kind == "capture":  # a refund: back to the hold's lots, net of its release
            hold = next(h for h in self.holds.values() if h.capture == entry_id)
            taken_by, undone_by = hold.entry, [hold.entry, entry_id]
        moves = self._give_back(taken_by, undone_by, points)
        self.settle(original.account, now)
        reversal = Entry(original.account, "reverse", points, moves=moves, reverses=entry_id)
        return reversal, self.repay(original.account)

    def _give_back(self, taken_by: int, undone_by: list[int], points: int) -> list[tuple[int, int]]:
        """Points back to the lots entry ``taken_by`` took them from, latest taken first, net of what the
        entries reversing ``undone_by`` gave back."""
        given_back = {}
        for reversal in (e for e in self.entries.values() if e.reverses in undone_by):
            for lot_id, back in reversal.moves:
                given_back[lot_id] = given_back.get(lot_id, 0) + back
        moves, wanted = [], points
        for lot_id, taken in reversed(self.entries[taken_by].moves):
            back = min(-taken - given_back.get(lot_id, 0), wanted)
            if back > 0:
                self.lots[lot_id].remaining += back
                moves.append((lot_id, back))
                wanted -= back
        return moves

    # Holds.

    def hold(self, account: int, points: int, now: datetime) -> list[tuple[int, int]]:
        """The lots a hold takes from (as a debit); record it with ``record_hold``."""
        return self.debit(account, points, now)

    def record_hold(self, hold_id: int, entry_id: int, account: int, points: int, moves, expires_at) -> None:
        self.entries[entry_id] = Entry(account, "hold", -points, moves=moves, held=points)
        self.holds[hold_id] = Hold(account, entry_id, points, expires_at)

    def capture(self, hold_id: int, points: int | None, now: datetime):
        """The capture entry, and the release of the rest with its follow-ups (or None)."""
        hold = self.holds[hold_id]
        if hold.status != "open" or hold.expires_at <= now:
            raise HoldNotOpen()
        if self.accounts[hold.account].suspended:
            raise MemberSuspended()
        points = hold.points if points is None else points
        if points > hold.points:
            raise HoldOutOfRange()
        hold.status = "captured"
        capture = Entry(hold.account, "capture", 0, held=-points)
        return capture, self._release(hold, hold.points - points, now) if points < hold.points else None

    def void(self, hold_id: int, now: datetime, status: str = "voided"):
        """The release of every held point and its follow-ups."""
        hold = self.holds[hold_id]
        if hold.status != "open":
            raise HoldNotOpen()
        hold.status = status
        return self._release(hold, hold.points, now)

    def release_expired(self, now: datetime) -> list[tuple[int, tuple]]:
        due = [pk for pk, h in sorted(self.holds.items()) if h.status == "open" and h.expires_at <= now]
        return [(pk, self.void(pk, now, "expired")) for pk in due]

    def _release(self, hold: Hold, points: int, now: datetime) -> tuple[Entry, list[Entry]]:
        moves = self._give_back(hold.entry, [hold.entry], points)
        release = Entry(hold.account, "release", points, moves=moves, reverses=hold.entry, held=-points)
        self.settle(hold.account, now)
        return release, self.repay(hold.account)

    def transfer(self, source: int, target: int, points: int | None, now: datetime):
        """A gift (``points``) or a merge (None); returns the moves and the target's new lots
        ``(amount, pending, available_at, last_day)`` in order, or None for a merge of nothing."""
        if points is None and self.held(source):
            raise MergeRefused()
        if points is not None and (self.accounts[source].suspended or self.accounts[target].suspended):
            raise MemberSuspended()
        for account in sorted((source, target)):
            self.settle(account, now)
        if points is not None and points > self.balance(source):
            raise InsufficientPoints()
        lots = [lot for lot in self._lots(source) if lot.remaining > 0 and (points is None or not lot.pending)]
        lots.sort(key=lambda lot: (lot.last_day or NEVER, lot.order))
        if points is None:
            points = sum(lot.remaining for lot in lots)
            if points == 0:
                return None
        taken = {lot.key: lot for lot in lots}
        moves = self._take(lots, points)
        groups = {}
        for key, points_moved in moves:
            lot = taken[key]
            group = (lot.pending, lot.available_at if lot.pending else now, lot.last_day)
            groups[group] = groups.get(group, 0) - points_moved
        return moves, [(amount, *group) for group, amount in groups.items()]

    def record_transfer(
        self, kind: str, source: int, target: int, debit_id: int, credit_id: int, expected, lot_ids
    ) -> list[Entry]:
        """Records the pair; returns the target's repayment that follows (a list of none or one)."""
        moves, groups = expected
        total = sum(amount for amount, *_rest in groups)
        self.entries[debit_id] = Entry(source, kind, -total, moves=moves)
        self.entries[credit_id] = Entry(target, kind, total)
        for lot_id, (amount, pending, available_at, last_day) in zip(lot_ids, groups, strict=True):
            key = ("lot", lot_id)
            self.lots[key] = Lot(target, amount, pending, available_at, last_day, (credit_id, lot_id), key=key)
        return self.repay(target)

    def repay(self, account: int) -> list[Entry]:
        """After points arrived: an account that owes pays from what it holds, soonest expiry first."""
        owed = self.accounts[account].debt
        held = [lot for lot in self._lots(account) if lot.remaining > 0]
        repaid = min(owed, sum(lot.remaining for lot in held))
        if repaid == 0:
            return []
        moves = self._take(sorted(held, key=self._soonest), repaid)
        self.accounts[account].debt -= repaid
        return [Entry(account, "repay", -repaid, moves=moves, debt=-repaid)]

    def record(self, entry_id: int, entry: Entry) -> None:
        self.entries[entry_id] = entry

    def forfeit(self, account: int, now: datetime) -> tuple[int, list]:
        """Voids the open holds, then takes every point; returns how many (0: nothing to forfeit, no
        entry) and the holds' releases (``release_expired``'s shape)."""
        due = [pk for pk, h in sorted(self.holds.items()) if h.account == account and h.status == "open"]
        releases = [(pk, self.void(pk, now)) for pk in due]
        self.settle(account, now)
        total = 0
        for lot in self._lots(account):
            total += lot.remaining
            lot.remaining = 0
        return total, releases

    def settle(self, account: int, now: datetime) -> None:
        today = self.today(now)
        for lot in self._lots(account):
            if lot.pending and lot.available_at <= now:
                lot.pending = False
            if lot.last_day is not None and lot.last_day < today and lot.remaining:
                lot.expired += lot.remaining
                lot.remaining = 0

    def settle_all(self, wanted, now: datetime) -> None:
        for account in sorted({lot.account for lot in self.lots.values() if wanted(lot)}):
            self.settle(account, now)

    # Taking points.

    def _spendable(self, account: int) -> list[Lot]:
        lots = [lot for lot in self._lots(account) if not lot.pending and lot.remaining > 0]
        return sorted(lots, key=self._soonest)

    @staticmethod
    def _soonest(lot: Lot) -> tuple:
        return (lot.last_day or NEVER, lot.order)

    def _take(self, lots: list[Lot], points: int) -> list[tuple[int, int]]:
        moves, wanted = [], points
        for lot in lots:
            taken = min(lot.remaining, wanted)
            if taken:
                lot.remaining -= taken
                moves.append((lot.key, -taken))
                wanted -= taken
            if wanted == 0:
                return moves
        raise AssertionError("the model's lots do not cover what it checked was there")
