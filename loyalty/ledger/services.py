"""The ledger's accounting verbs: the only code that changes a balance.

Call them qualified (``from loyalty.ledger import services as ledger``;
``ledger.credit(...)``). Each verb runs in a plain ``transaction.atomic()`` so that use
cases can compose them, and locks the account row first (``lock_objects``), so that
concurrent requests on one account run one after the other and can never overspend.

Before a debit or a reversal the account is *settled*: its pending lots whose date has
come are released and its lots past their last day are expired, so that the balance a
debit is checked against holds only points that can really be spent. ``expire_due`` and
``release_pending`` settle every account that needs it, in batches.

An account may owe points (``Account.debt``, see models.py): a reversal of spent points
records the shortfall, and every verb by which points arrive (``credit``, the reversal of a
debit, the target of ``transfer``) pays it first, in a ``repay`` entry of the same
transaction (``_repay``).

Points can be set aside before they are spent (pay with points at a till, models.py
"Holds"): ``hold`` takes them from the lots as ``debit`` does and moves them to the
account's ``held`` figure; ``hold_capture`` spends them (all or less, the rest released),
``hold_void`` and ``holds_release_expired`` give them back to the same lots, and
``reverse`` of a capture refunds it. Closing a member voids its holds before the forfeit;
a merge of a member with open holds is refused.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from itertools import chain

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from loyalty import bulk
from loyalty.clock import program_date
from loyalty.exceptions import (
    HoldNotOpen,
    HoldOutOfRange,
    IdempotencyConflict,
    InsufficientPoints,
    MemberClosed,
    MemberSuspended,
    MergeRefused,
    NotReversible,
    ValidationError,
)
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType
from members.models import Member, MemberStatus

from . import lock_objects, memos, policy
from .models import (
    CREDIT_KINDS,
    DEBIT_KINDS,
    NOT_REVERSIBLE_KINDS,
    QUALIFYING_KINDS,
    Account,
    Adjustment,
    Allocation,
    Entry,
    EntryKind,
    ExpiryRun,
    Hold,
    HoldStatus,
    Lot,
    Shortfall,
)


class _FromPolicy:
    def __repr__(self):
        return "FROM_POLICY"


FROM_POLICY = _FromPolicy()
"""Default of ``credit(expires_on=...)``: the program's expiry policy decides."""


@dataclass(frozen=True)
class SettleResult:
    accounts: int = 0
    released: int = 0
    expired: int = 0

    def __add__(self, other: "SettleResult") -> "SettleResult":
        return SettleResult(
            accounts=self.accounts + other.accounts,
            released=self.released + other.released,
            expired=self.expired + other.expired,
        )


def open_account(*, member) -> Account:
    """Open the points account of a new member."""
    return Account.objects.create(member=member)


def credit(
    account: Account,
    points: int,
    kind: str = EntryKind.EARN,
    *,
    expires_on: date | None | _FromPolicy = FROM_POLICY,
    available_at: datetime | None = None,
    cause: models.Model | None = None,
    memo: str = "",
    memo_code: str = "",
    memo_params: dict | None = None,
    actor: models.Model | None = None,
    idempotency_key: str | None = None,
    qualifying: bool = False,
    spend_amount: Decimal = Decimal(0),
    now: datetime | None = None,
) -> Entry:
    """Add points in a new lot; pending until ``available_at`` if that is later than now.

    ``expires_on`` is the last day the points count (``None``: never); by default the
    expiry policy sets it from the day they become available. ``memo`` is a person's
    free text; a system text is ``memo_code`` with ``memo_params`` (``memos.py``).
    Idempotent on ``idempotency_key``, scoped by ``actor``: a repeat by the same actor
    returns the first entry; the same key for a different credit raises
    ``IdempotencyConflict``. Earned and bonus points count towards tiers, on the program
    day of ``now``, and so does an adjustment made ``qualifying`` (recorded on its
    ``Adjustment``); the tier upgrade that they reach happens in this transaction, and
    ``spend_amount`` (what the member paid, in the program's currency) is added to the
    same day (only for a credit that counts). When the account owes points, they are paid
    first from this credit by a ``repay`` entry that follows it; the credit entry is
    returned (read ``account.balance``, ``pending`` and ``debt`` after). Locks the account.
    """
    _check_points(points)
    _check_choice(kind, CREDIT_KINDS, "kind")
    if qualifying and (kind != EntryKind.ADJUST or cause is not None):
        raise ValidationError("Only an adjustment without another cause is made qualifying.", field="qualifying")
    counts = kind in QUALIFYING_KINDS or qualifying
    _check_spend(spend_amount, counts)
    _check_text(memo=memo, idempotency_key=idempotency_key)
    memo_params = _check_memo(memo_code, memo_params)
    now = _aware(now or timezone.now(), "now")
    available_at = max(_aware(available_at or now, "available_at"), now)
    if expires_on is FROM_POLICY:
        expires_on = policy.expiry_date(available_at)
    if expires_on is not None and expires_on < program_date(available_at):
        raise ValidationError("Points cannot expire before they become available.", field="expires_on")

    with transaction.atomic():
        locked = lock_objects.account_for_update(account.pk)
        if replay := _replay(locked, idempotency_key, actor, kind=kind, amount=points):
            _copy_balances(locked, account)  # the caller reads the balance now, as after a first call
            return replay
        _require_member(locked, MemberStatus.ACTIVE)
        if kind == EntryKind.ADJUST and cause is None:
            cause = Adjustment.objects.create(
                account_id=locked.pk, points=points, reason=memo, qualifying=qualifying, created_at=now
            )
        entry = _credit_locked(
            locked,
            kind=kind,
            points=points,
            available_at=available_at,
            expires_on=expires_on,
            now=now,
            actor=actor,
            cause=cause,
            memo=memo,
            memo_code=memo_code,
            memo_params=memo_params,
            key=idempotency_key,
        )
        if counts:  # the points credited, even those that repaid a debt: they were earned
            _tiers().qualifying_record(
                member_id=locked.member_id, day=program_date(now), points=points, spend_amount=spend_amount, now=now
            )
    _copy_balances(locked, account)
    return entry


def credit_all(account: Account, credits: "Sequence[CreditSpec]", *, now: datetime) -> list[Entry]:
    """Several credits to one account under one lock, in order: for each what ``credit`` writes (its entry and
    lot, a debt paid first from it), then one qualifying-day write for them all. A purchase's points and the
    mission prizes it completes are one ledger write (``campaigns.services.purchase_record``).

    Earn and bonus kinds only (they count towards tiers, with their ``spend_amount``); no idempotency keys (the
    caller's own rows make it safe to run again). Locks the account; its member must be active. Returns the
    entries in the order of ``credits`` (read ``account``'s balances after)."""
    now = _aware(now, "now")
    prepared = [_credit_prepare(spec, now) for spec in credits]
    if any(spec.account_id != account.pk for spec in credits):
        raise ValueError("credit_all credits one account: each spec names it.")
    if not prepared:
        return []
    with transaction.atomic():
        locked = lock_objects.account_for_update(account.pk)
        _require_member(locked, MemberStatus.ACTIVE)
        entries = [
            _credit_locked(
                locked,
                kind=spec.kind,
                points=spec.points,
                available_at=available_at,
                expires_on=expires_on,
                now=now,
                actor=spec.actor,
                cause=spec.cause,
                memo="",
                memo_code=spec.memo_code,
                memo_params=memo_params,
                key=None,
            )
            for spec, memo_params, available_at, expires_on in prepared
        ]
        _tiers().qualifying_record(
            member_id=locked.member_id,
            day=program_date(now),
            points=sum(spec.points for spec in credits),
            spend_amount=sum((spec.spend_amount for spec in credits), Decimal(0)),
            now=now,
        )
    _copy_balances(locked, account)
    return entries


def _credit_locked(locked: Account, *, kind: str, points: int, available_at: datetime, expires_on, now, **write):
    """A credit's entry and lot on the locked account, and the debt it pays first (``_repay``)."""
    pending = available_at > now
    if pending:
        locked.pending += points
    else:
        locked.balance += points
    locked.lifetime_earned += points
    new_lot = {"amount": points, "pending": pending, "available_at": available_at, "expires_on": expires_on}
    entry = _record(locked, kind=kind, amount=points, now=now, new_lot=new_lot, defer_debt=locked.debt > 0, **write)
    if locked.debt:
        _repay(locked, entry, now)
    return entry


def debit(
    account: Account,
    points: int,
    kind: str = EntryKind.REDEEM,
    *,
    cause: models.Model | None = None,
    memo: str = "",
    memo_code: str = "",
    memo_params: dict | None = None,
    actor: models.Model | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Entry:
    """Spend points from the available lots, soonest expiry first.

    Settles the account first. Raises ``InsufficientPoints`` (and writes nothing) when
    the balance is short. Idempotent on ``idempotency_key``, scoped by ``actor``. Locks
    the account.
    """
    _check_points(points)
    _check_choice(kind, DEBIT_KINDS, "kind")
    _check_text(memo=memo, idempotency_key=idempotency_key)
    memo_params = _check_memo(memo_code, memo_params)
    now = _aware(now or timezone.now(), "now")

    with transaction.atomic():
        locked = lock_objects.account_for_update(account.pk)
        if replay := _replay(locked, idempotency_key, actor, kind=kind, amount=-points):
            _copy_balances(locked, account)  # the caller reads the balance now, as after a first call
            return replay
        _require_member(locked, MemberStatus.ACTIVE)
        if kind == EntryKind.ADJUST and cause is None:
            cause = Adjustment.objects.create(account_id=locked.pk, points=-points, reason=memo, created_at=now)
        first_page = _settle_if_due(locked, now)
        _require_available(locked.balance, points)
        moves = _take(locked.pk, points, _spendable_lots(locked.pk, now, first_page=first_page))
        locked.balance -= points
        locked.lifetime_spent += points
        entry = _record(
            locked,
            kind=kind,
            amount=-points,
            now=now,
            actor=actor,
            cause=cause,
            memo=memo,
            memo_code=memo_code,
            memo_params=memo_params,
            key=idempotency_key,
            moves=moves,
        )
    _copy_balances(locked, account)
    return entry


def reverse(
    entry: Entry,
    *,
    points: int | None = None,
    shortfall: str = Shortfall.REFUSE,
    spend_amount: Decimal = Decimal(0),
    memo: str = "",
    memo_code: str = "",
    memo_params: dict | None = None,
    actor: models.Model | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Entry:
    """Undo an entry, wholly or (with ``points``) in part, by a ``reverse`` entry that points at it.

    A debit's points go back to the lots they came from, latest taken first; points
    that land in a lot already past its last day expire at once. A credit's points are
    taken back from its own lot first (pending or not), then from the other available
    lots, soonest expiry first; points of the credit that already expired are not
    taken back again. When the member no longer holds the points, ``shortfall`` decides
    (``Shortfall``): ``refuse`` raises ``InsufficientPoints``; ``debt`` also takes from the
    pending lots, then records what is still missing as the account's debt (the reversal's
    ``amount`` is what was taken, maybe 0, its ``debt`` the rest); ``write_off`` does the
    same and writes the rest off at once in a ``write_off`` entry caused by the reversal.
    A debit's reversal pays the account's debt first (``repay``). A reversal of a credit
    that counted towards tiers takes its points (all of them, taken or owed) and
    ``spend_amount`` back from the day they were earned. Raises ``NotReversible`` for
    expiries, reversals, repayments, write-offs and what was already reversed (points
    owed count as reversed). Idempotent on ``idempotency_key`` (a repeat with other points,
    or another shortfall policy that mattered, raises ``IdempotencyConflict``). Returns the
    reversal entry. A system reversal says why in ``memo_code`` with ``memo_params`` (``memos.py``), a
    person's in ``memo``. Locks the account.
    """
    if points is not None:
        _check_points(points)
    _check_choice(shortfall, frozenset(Shortfall.values), "shortfall")
    _check_spend(spend_amount, True)
    _check_text(memo=memo, idempotency_key=idempotency_key)
    memo_params = _check_memo(memo_code, memo_params)
    now = _aware(now or timezone.now(), "now")

    with transaction.atomic():
        locked = lock_objects.account_for_update(entry.account_id)
        merged = _merged_home_for_update(locked)
        home = merged.account if merged else locked  # where the member's points are now
        replay = None
        for account in (locked, home) if merged else (locked,):  # a reversal made before the merge, or after
            replay = replay or _replay(
                account, idempotency_key, actor, kind=EntryKind.REVERSE, amount=None, reverses_id=entry.pk
            )
        undone = None if replay is None else abs(replay.amount - replay.debt)  # taken or owed
        if replay and (points not in (None, undone) or not _same_shortfall(replay, shortfall)):
            raise IdempotencyConflict()
        if replay:
            if Entry.account.is_cached(entry):
                _copy_balances(locked, entry.account)  # as credit and debit do on a repeat
            return replay
        _require_member(home, MemberStatus.ACTIVE, MemberStatus.SUSPENDED)
        if entry.kind in NOT_REVERSIBLE_KINDS:
            raise NotReversible(f"A {entry.get_kind_display().lower()} entry cannot be reversed.")
        _settle_locked(sorted({locked, home}, key=lambda account: account.pk), now)
        reversible = reversible_points(entry)
        points = reversible if points is None else points
        if reversible == 0 or points > reversible:
            raise NotReversible(f"{reversible} points of this entry can still be reversed.", reversible=reversible)
        qualified = entry.amount > 0 and _qualified(entry)
        if spend_amount and not qualified:
            raise ValidationError("Only a credit that counted towards tiers gives spend back.", field="spend_amount")
        write = {
            "now": now,
            "actor": actor,
            "cause": _cause_of(entry),
            "memo": memo,
            "memo_code": memo_code,
            "memo_params": memo_params,
            "key": idempotency_key,
            "reverses": entry,
        }
        if entry.amount > 0:
            own_lot = _lot_moved_to(entry.lots.get(), home) if merged else None
            reversal = _take_back_credit(home, entry, points, shortfall, write, own_lot=own_lot)
            if qualified:  # on the day the points were earned, not today (the survivor holds a merged member's days)
                day = program_date(entry.created_at)
                _tiers().qualifying_record(
                    member_id=home.member_id, day=day, points=-points, spend_amount=-spend_amount, now=now
                )
        else:
            reversal = _give_back_debit(locked, entry, points, write)
            _settle_locked([locked], now)  # points given back to a lot past its last day expire now
            if merged:  # they follow the merge, with their dates, as the member's other points did
                merge = {
                    "kind": EntryKind.MERGE,
                    "now": now,
                    "actor": actor,
                    "cause": reversal,
                    "memo": "",
                    "key": None,
                }
                _transfer_locked(
                    locked,
                    home,
                    None,
                    merge,
                    source_memo=(memos.MERGED_INTO, {"number": merged.number}),
                    target_memo=(memos.MERGED_REFUND, {"number": merged.source_number}),
                )
            elif locked.debt:
                _repay(locked, reversal, now)
    if Entry.account.is_cached(entry):
        _copy_balances(locked, entry.account)
    return reversal


def adjust(
    account: Account,
    points: int,
    *,
    reason: str,
    actor: models.Model | None = None,
    idempotency_key: str | None = None,
    qualifying: bool = False,
    now: datetime | None = None,
) -> Entry:
    """A manual correction by staff or a partner: signed points and a required reason.

    Positive points are credited (with the policy's expiry), negative ones debited
    (``InsufficientPoints`` beyond the balance). The entry's cause is a new
    ``Adjustment`` holding the reason. ``qualifying`` points count towards tiers like
    earned ones (only a credit qualifies: a mistake is taken back by reversing it).
    Idempotent on ``idempotency_key``, scoped by ``actor``.
    """
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise ValidationError("Points must be a whole number other than zero.", field="points")
    if not reason.strip():
        raise ValidationError("Say why the points are adjusted.", field="reason")
    if qualifying and points < 0:
        raise ValidationError("Only added points qualify; reverse the adjustment instead.", field="qualifying")
    if points < 0:
        return debit(
            account,
            -points,
            EntryKind.ADJUST,
            memo=reason.strip(),
            actor=actor,
            idempotency_key=idempotency_key,
            now=now,
        )
    return credit(
        account,
        points,
        EntryKind.ADJUST,
        memo=reason.strip(),
        actor=actor,
        idempotency_key=idempotency_key,
        qualifying=qualifying,
        now=now,
    )


def forfeit(
    account: Account,
    *,
    reason: str,
    actor: models.Model | None = None,
    cause: models.Model | None = None,
    now: datetime | None = None,
) -> Entry | None:
    """Take every point of the account, available and pending, in one ``forfeit`` entry with a reason.

    What closing a member's account does; ``cause`` is what decided it (the status
    change; required). Open holds are voided first (their points come back to their lots,
    then go with the rest). Returns ``None`` when the account holds nothing. Refused (``MemberClosed``)
    once the member is closed. Locks the account.
    """
    if not reason.strip():
        raise ValidationError("Say why the points are forfeited.", field="reason")
    _check_text(memo=reason.strip(), idempotency_key=None)
    now = _aware(now or timezone.now(), "now")
    with transaction.atomic():
        locked = lock_objects.account_for_update(account.pk)
        _require_member(locked, MemberStatus.ACTIVE, MemberStatus.SUSPENDED)
        if cause is None:  # after the status: a closed member's points are gone whatever the call
            raise ValidationError("Say what forfeits the points (the status change).", field="cause")
        for open_hold in lock_objects.open_holds_for_update(locked.pk):  # void first: their points are forfeited too
            _hold_close_unspent(locked, open_hold, now, actor=actor, status=HoldStatus.VOIDED)
        _settle_locked([locked], now)
        total = locked.balance + locked.pending
        if total == 0:
            _copy_balances(locked, account)
            return None
        moves = list(
            Lot.objects.filter(account_id=locked.pk, remaining__gt=0)
            .order_by("expires_on", "pk")
            .values_list("pk", -F("remaining"))
        )
        locked.balance = locked.pending = 0
        locked.lifetime_expired += total
        entry = _record(
            locked,
            kind=EntryKind.FORFEIT,
            amount=-total,
            now=now,
            actor=actor,
            cause=cause,
            memo=reason.strip(),
            key=None,
            moves=moves,
        )
    _copy_balances(locked, account)
    return entry


TRANSFER_KINDS = frozenset({EntryKind.GIFT, EntryKind.MERGE})
# Who may send and receive, by kind. A gift moves between two active members. A merge
# empties an active or suspended source (a closed one was forfeited: closing is final)
# into an active or suspended survivor (a suspended survivor holds the points frozen, as
# its own); never into a closed one, whose points would be lost.
_TRANSFER_STATUSES = {
    EntryKind.GIFT: ((MemberStatus.ACTIVE,), (MemberStatus.ACTIVE,)),
    EntryKind.MERGE: ((MemberStatus.ACTIVE, MemberStatus.SUSPENDED), (MemberStatus.ACTIVE, MemberStatus.SUSPENDED)),
}


@dataclass(frozen=True)
class Transfer:
    """The pair of entries of one transfer: ``debit`` on the source, ``credit`` on the target."""

    debit: Entry
    credit: Entry


def transfer(
    source: Account,
    target: Account,
    points: int | None,
    kind: str,
    *,
    cause: models.Model,
    memo: str = "",
    source_memo_code: str = "",
    source_memo_params: dict | None = None,
    target_memo_code: str = "",
    target_memo_params: dict | None = None,
    actor: models.Model | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Transfer | None:
    """Move points from ``source`` to ``target`` in two entries of ``kind`` (gift or merge) with one cause.

    A gift moves ``points`` of the source's available lots, soonest expiry first; a merge
    (``points=None``) moves every point, available and pending. The target gets one lot
    per distinct (expiry date, pending, available_at) of what was taken, so the points
    keep their last day and pending points their date. Both accounts are locked in id
    order and settled first. Statuses: a gift needs both members active, a merge both
    active or suspended (else ``MemberSuspended``, ``MemberClosed``). A target that owes
    points pays its debt first from what it received (``repay``).
    Raises ``InsufficientPoints`` (and writes nothing) when the source is short. Returns
    ``None`` for a merge of an empty account. Idempotent on ``idempotency_key``, scoped by
    ``actor``: a repeat returns the first pair.
    """
    _check_choice(kind, TRANSFER_KINDS, "kind")
    if kind == EntryKind.MERGE:
        if points is not None:
            raise ValidationError("A merge moves the whole account: give no points.", field="points")
    else:
        _check_points(points)
    if source.pk == target.pk:
        raise ValidationError("Points cannot move to the account they come from.", field="target")
    if cause is None:
        raise ValidationError("Say what moves the points (a gift, a merge).", field="cause")
    _check_text(memo=memo, idempotency_key=idempotency_key)
    source_memo_params = _check_memo(source_memo_code, source_memo_params)
    target_memo_params = _check_memo(target_memo_code, target_memo_params)
    now = _aware(now or timezone.now(), "now")

    with transaction.atomic():
        locked = {account.pk: account for account in lock_objects.accounts_for_update([source.pk, target.pk])}
        if len(locked) != 2:
            raise Account.DoesNotExist("Both accounts of a transfer must exist.")
        giver, receiver = locked[source.pk], locked[target.pk]
        if replay := _transfer_replay(giver, receiver, idempotency_key, actor, kind=kind, points=points):
            _copy_balances(giver, source)
            _copy_balances(receiver, target)
            return replay
        if kind == EntryKind.MERGE and giver.held:
            raise MergeRefused(
                "A member with open holds (a payment at a till) cannot be merged: capture or void them."
            )
        giver_statuses, receiver_statuses = _TRANSFER_STATUSES[kind]
        _require_member(giver, *giver_statuses)
        _require_member(receiver, *receiver_statuses)
        _settle_locked([giver, receiver] if giver.pk < receiver.pk else [receiver, giver], now)
        if points is not None:
            _require_available(giver.balance, points)
        write = {"kind": kind, "now": now, "actor": actor, "cause": cause, "memo": memo, "key": idempotency_key}
        moved = _transfer_locked(
            giver,
            receiver,
            points,
            write,
            source_memo=(source_memo_code, source_memo_params),
            target_memo=(target_memo_code, target_memo_params),
        )
    _copy_balances(giver, source)
    _copy_balances(receiver, target)
    return moved


def _transfer_locked(
    giver: Account, receiver: Account, points: int | None, write: dict, *, source_memo: tuple, target_memo: tuple
) -> Transfer | None:
    """``transfer``'s moves between two locked, settled accounts (checked by the caller); ``None`` if nothing moved."""
    now = write["now"]
    moves, lots = _transfer_take(giver, points, now)
    if not moves:
        return None
    available = sum(lot.amount for lot in lots if not lot.pending)
    pending = sum(lot.amount for lot in lots if lot.pending)
    giver.balance -= available
    giver.pending -= pending
    giver.lifetime_spent += available + pending
    receiver.balance += available
    receiver.pending += pending
    receiver.lifetime_earned += available + pending
    debit_entry = _record(
        giver,
        amount=-(available + pending),
        memo_code=source_memo[0],
        memo_params=source_memo[1],
        moves=moves,
        **write,
    )
    credit_entry = _record(
        receiver,
        amount=available + pending,
        memo_code=target_memo[0],
        memo_params=target_memo[1],
        defer_debt=receiver.debt > 0,
        **write,
    )
    for lot in lots:
        lot.account_id, lot.entry = receiver.pk, credit_entry
    Lot.objects.bulk_create(lots)
    if receiver.debt:
        _repay(receiver, credit_entry, now)
    return Transfer(debit=debit_entry, credit=credit_entry)


def _transfer_take(account: Account, points: int | None, now: datetime) -> tuple[list[tuple[int, int]], list[Lot]]:
    """The moves ``(lot id, -points)`` taking ``points`` (``None``: everything, pending too) from a
    settled account, soonest expiry first, and the unsaved lots that receive them: one per
    distinct (expiry date, pending, available_at), in the order first taken."""
    lots = Lot.objects.filter(account_id=account.pk, remaining__gt=0)
    if points is not None:
        lots = lots.filter(pending=False)
    ordered = lots.order_by(F("expires_on").asc(nulls_last=True), "pk").values_list(
        "pk", "remaining", "pending", "available_at", "expires_on"
    )
    moves, opened, left = [], {}, points
    for lot_id, remaining, pending, available_at, expires_on in ordered.iterator(chunk_size=_LOT_PAGE_SIZE):
        taken = remaining if left is None else min(remaining, left)
        moves.append((lot_id, -taken))
        key = (expires_on, pending, available_at if pending else now)
        if key in opened:
            opened[key].amount += taken
            opened[key].remaining += taken
        else:
            opened[key] = Lot(
                amount=taken, remaining=taken, pending=pending, available_at=key[2], expires_on=expires_on
            )
        if left is not None:
            left -= taken
            if left == 0:
                break
    if left:  # the caller checked the balance under the lock: this is a broken cache
        raise RuntimeError(f"Account {account.pk}: lots hold {left} points fewer than its balance.")
    return moves, list(opened.values())


def _transfer_replay(
    source: Account, target: Account, key: str | None, actor, *, kind: str, points: int | None
) -> Transfer | None:
    """The pair an earlier transfer with this key (scoped by ``actor``) wrote, if it is this transfer."""
    debit_entry = _replay(source, key, actor, kind=kind, amount=None if points is None else -points)
    if debit_entry is None:
        return None
    credit_entry = _replay(target, key, actor, kind=kind, amount=None if points is None else points)
    if credit_entry is None or (credit_entry.cause_type_id, credit_entry.cause_id) != (
        debit_entry.cause_type_id,
        debit_entry.cause_id,
    ):
        raise IdempotencyConflict()
    return Transfer(debit=debit_entry, credit=credit_entry)


# Holds: pay with points in two phases (models.py, "Holds").


def hold(
    account: Account,
    points: int,
    *,
    expires_at: datetime,
    cause: models.Model | None = None,
    actor: models.Model | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Hold:
    """Set ``points`` aside until ``expires_at``: taken from the available lots soonest expiry first, like a
    debit, and moved from the balance to ``held`` by a ``hold`` entry. Returns the open ``Hold``.

    Settles the account first; the member must be active (``MemberSuspended``, ``MemberClosed``).
    Raises ``InsufficientPoints`` (and writes nothing) when the balance is short. Idempotent on
    ``idempotency_key``, scoped by ``actor``: a repeat returns the first hold. Locks the account.
    """
    _check_points(points)
    _check_text(memo="", idempotency_key=idempotency_key)
    now = _aware(now or timezone.now(), "now")
    if _aware(expires_at, "expires_at") <= now:
        raise ValidationError("A hold must end after it is placed.", field="expires_at")

    with transaction.atomic():
        locked = lock_objects.account_for_update(account.pk)
        if replay := _replay(locked, idempotency_key, actor, kind=EntryKind.HOLD, amount=-points):
            _copy_balances(locked, account)
            return Hold.objects.get(entry=replay)
        _require_member(locked, MemberStatus.ACTIVE)
        first_page = _settle_if_due(locked, now)
        _require_available(locked.balance, points)
        moves = _take(locked.pk, points, _spendable_lots(locked.pk, now, first_page=first_page))
        locked.balance -= points
        locked.held += points
        entry = _record(
            locked,
            kind=EntryKind.HOLD,
            amount=-points,
            held=points,
            now=now,
            actor=actor,
            cause=cause,
            memo="",
            memo_code=memos.HOLD_PLACED,
            memo_params={"points": points},
            key=idempotency_key,
            moves=moves,
        )
        placed = Hold.objects.create(
            account_id=locked.pk,
            points=points,
            expires_at=expires_at,
            created_at=now,
            entry=entry,
            **_generic_reference("actor", actor),
            **_generic_reference("cause", cause),
        )
    _copy_balances(locked, account)
    return placed


def hold_capture(
    hold: Hold, *, points: int | None = None, actor: models.Model | None = None, now: datetime | None = None
) -> Entry:
    """Spend ``points`` of an open hold (all by default) in a ``capture`` entry; the rest goes back to the lots
    it came from in a ``release`` entry of the same transaction. Closes the hold (status ``captured``).

    Raises ``HoldNotOpen`` (``details.status``) for a hold captured, voided or released already, and for
    one past ``expires_at`` (``status: expired``: the task releases it); ``HoldOutOfRange`` for more
    points than held; ``MemberSuspended`` / ``MemberClosed`` as a debit would. ``actor`` defaults to the
    hold's. Locks the account, then the hold. Returns the capture entry.
    """
    if points is not None:
        _check_points(points)
    now = _aware(now or timezone.now(), "now")
    with transaction.atomic():
        locked = lock_objects.account_for_update(hold.account_id)
        row = lock_objects.hold_for_update(hold.pk)
        _require_open(row)
        if row.expires_at <= now:
            raise HoldNotOpen("This hold has expired: its points go back to the member.", status=HoldStatus.EXPIRED)
        _require_member(locked, MemberStatus.ACTIVE)
        points = row.points if points is None else points
        if points > row.points:
            raise HoldOutOfRange(
                f"This hold holds {row.points} points; {points} cannot be captured.",
                field="points",
                min_points=1,
                max_points=row.points,
            )
        actor = actor if actor is not None else _Reference(row.actor_type_id, row.actor_id)
        locked.held -= points
        locked.lifetime_spent += points
        capture = _record(
            locked,
            kind=EntryKind.CAPTURE,
            amount=0,
            held=-points,
            now=now,
            actor=actor,
            cause=_Reference(row.cause_type_id, row.cause_id),
            memo="",
            memo_code=memos.HOLD_CAPTURED,
            memo_params={"points": points},
            key=None,
        )
        row.captured, row.capture_entry, row.status, row.closed_at = points, capture, HoldStatus.CAPTURED, now
        if points < row.points:
            _hold_release(locked, row, row.points - points, now, actor=actor, memo_code=memos.HOLD_REST_RELEASED)
        row.save(update_fields=["captured", "released", "capture_entry", "status", "closed_at"])
    if Hold.account.is_cached(hold):
        _copy_balances(locked, hold.account)
    _copy_hold(row, hold)
    return capture


def hold_void(hold: Hold, *, actor: models.Model | None = None, now: datetime | None = None) -> Entry:
    """Give every point of an open hold back to the lots it came from (a ``release`` entry); status ``voided``.

    Allowed for a suspended member too (nothing is spent). Raises ``HoldNotOpen`` for a hold closed
    already, ``MemberClosed``. Locks the account, then the hold. Returns the release entry.
    """
    now = _aware(now or timezone.now(), "now")
    with transaction.atomic():
        locked = lock_objects.account_for_update(hold.account_id)
        row = lock_objects.hold_for_update(hold.pk)
        _require_open(row)
        _require_member(locked, MemberStatus.ACTIVE, MemberStatus.SUSPENDED)
        actor = actor if actor is not None else _Reference(row.actor_type_id, row.actor_id)
        release = _hold_close_unspent(locked, row, now, actor=actor, status=HoldStatus.VOIDED)
    if Hold.account.is_cached(hold):
        _copy_balances(locked, hold.account)
    _copy_hold(row, hold)
    return release


def holds_release_expired(now: datetime | None = None, batch_size: int | None = None) -> int:
    """Release every open hold past ``expires_at`` (status ``expired``); returns how many this call released.

    In batches, each one transaction: the batch's accounts are locked in id order, then its
    holds, and a hold found closed under the lock (a capture, a void, a racing run) is left
    alone; so two runs at once release each hold once. Safe to run twice.
    """
    from django.conf import settings

    now = _aware(now or timezone.now(), "now")
    batch_size = batch_size or settings.LOYALTY_EXPIRY_BATCH_SIZE
    released, last_id = 0, 0
    while True:
        with transaction.atomic():
            due = list(
                Hold.objects.filter(status=HoldStatus.OPEN, expires_at__lte=now, pk__gt=last_id)
                .order_by("pk")
                .values_list("pk", "account_id")[:batch_size]
            )
            if not due:
                return released
            accounts = {a.pk: a for a in lock_objects.accounts_for_update({account_id for _pk, account_id in due})}
            for row in lock_objects.holds_for_update([pk for pk, _account_id in due]):
                if row.status != HoldStatus.OPEN:
                    continue
                _hold_close_unspent(accounts[row.account_id], row, now, actor=None, status=HoldStatus.EXPIRED)
                released += 1
        last_id = due[-1][0]


def _require_open(row: Hold) -> None:
    if row.status != HoldStatus.OPEN:
        raise HoldNotOpen(f"This hold is {row.get_status_display().lower()} already.", status=row.status)


_CLOSE_MEMOS = {HoldStatus.VOIDED: memos.HOLD_VOIDED, HoldStatus.EXPIRED: memos.HOLD_EXPIRED}


def _hold_close_unspent(locked: Account, row: Hold, now: datetime, *, actor, status: str) -> Entry:
    """Close a locked open hold with every point given back (void, expiry, closing the account)."""
    row.status, row.closed_at = status, now
    release = _hold_release(locked, row, row.points, now, actor=actor, memo_code=_CLOSE_MEMOS[status])
    row.save(update_fields=["released", "status", "closed_at"])
    return release


def _hold_release(locked: Account, row: Hold, points: int, now: datetime, *, actor, memo_code: str) -> Entry:
    """Give ``points`` of a locked hold back to its lots in a ``release`` entry; settle (points landing in a
    lot past its last day expire at once) and repay a debt from them, as a debit's reversal does."""
    moves = _give_back_moves(row.entry_id, [row.entry_id], points)
    locked.balance += points
    locked.held -= points
    release = _record(
        locked,
        kind=EntryKind.RELEASE,
        amount=points,
        held=-points,
        now=now,
        actor=actor,
        cause=_Reference(row.cause_type_id, row.cause_id),
        memo="",
        memo_code=memo_code,
        memo_params={"points": points},
        key=None,
        reverses_id=row.entry_id,
        moves=moves,
        defer_debt=locked.debt > 0,
    )
    row.released = points
    _settle_locked([locked], now)
    if locked.debt:
        _repay(locked, release, now)
    return release


def _copy_hold(source: Hold, target: Hold) -> None:
    for field in ("captured", "released", "refunded", "status", "closed_at", "capture_entry_id"):
        setattr(target, field, getattr(source, field))


def expire_due(now: datetime | None = None, batch_size: int | None = None) -> SettleResult:
    """Expire every lot past its last day: one ``expire`` entry per account, all caused by one ``ExpiryRun``.

    Set-based, in batches of accounts each in its own transaction; safe to run twice
    and beside debits (an account's lots only change with the account locked).
    """
    now = _aware(now or timezone.now(), "now")
    due = Q(remaining__gt=0, expires_on__lt=program_date(now))
    return _settle_in_batches(due, now, batch_size)


def release_pending(now: datetime | None = None, batch_size: int | None = None) -> SettleResult:
    """Make available every pending lot whose date has come. Batched like ``expire_due``."""
    now = _aware(now or timezone.now(), "now")
    return _settle_in_batches(Q(pending=True, available_at__lte=now), now, batch_size)


# Settling: release and expiry of locked accounts, set-based.


class _ExpiryRunOnDemand:
    """The ``ExpiryRun`` that causes a settlement's ``expire`` entries, written when the first point expires."""

    def __init__(self, now: datetime, source: str):
        self.now, self.source, self.pk = now, source, None

    def template(self) -> ExpiryRun:
        return ExpiryRun(created_at=self.now, program_day=program_date(self.now), source=self.source)

    def get_pk(self) -> int:
        if self.pk is None:
            run = self.template()
            run.save(force_insert=True)
            self.pk = run.pk
        return self.pk


def _expiry_entry(run_pk: int | None, now: datetime, **values) -> Entry:
    """An ``expire`` entry of a run: both settle paths write these (SQLite rows, PostgreSQL's template)."""
    return Entry(
        kind=EntryKind.EXPIRE,
        created_at=now,
        memo_code=memos.EXPIRED,
        cause_type=ContentType.objects.get_for_model(ExpiryRun),
        cause_id="" if run_pk is None else str(run_pk),
        **values,
    )


def _settle_in_batches(candidates: Q, now: datetime, batch_size: int | None) -> SettleResult:
    from django.conf import settings

    batch_size = batch_size or settings.LOYALTY_EXPIRY_BATCH_SIZE
    result, last_id = SettleResult(), 0
    run = _ExpiryRunOnDemand(now, ExpiryRun.Source.SCHEDULE)
    while True:
        with transaction.atomic():
            account_ids = list(
                Lot.objects.filter(candidates, account_id__gt=last_id)
                .order_by("account_id")
                .values_list("account_id", flat=True)
                .distinct()[:batch_size]
            )
            if not account_ids:
                return result
            if connection.vendor == "postgresql":
                result += _settle_batch_in_sql(lock_objects.account_ids_for_update(account_ids), now, run)
            else:
                result += _settle_locked(lock_objects.accounts_for_update(account_ids), now, run)
        last_id = account_ids[-1]


_RELEASED = "pending AND available_at <= %(now)s"
_EXPIRES = "remaining > 0 AND expires_on < %(today)s"
# The columns of an expiry entry that the statement computes per account; the others come
# from ``_expiry_entry``, the same template the ORM path saves.
_EXPIRY_COMPUTED = {
    "account_id": "id",
    "amount": "-lost",
    "balance_after": "balance",
    "memo_params": "jsonb_build_object('points', lost)",
    "cause_id": "coalesce(%(run)s::bigint, (SELECT id FROM run))::varchar",
}


@cache
def _settle_batch_sql() -> str:
    run_columns, run_values, _run_params = _insert_columns(ExpiryRun, {}, "run_")
    entry_columns, entry_values, _entry_params = _insert_columns(Entry, _EXPIRY_COMPUTED, "entry_")
    return f"""
WITH due AS (
    SELECT account_id, remaining,
           {_RELEASED} AS released,
           pending AND available_at > %(now)s AS stays_pending,
           {_EXPIRES} AS expires
    FROM ledger_lot
    WHERE account_id = ANY(%(ids)s::bigint[]) AND (({_RELEASED}) OR ({_EXPIRES}))
), lots AS (
    UPDATE ledger_lot
    SET expired = expired + CASE WHEN {_EXPIRES} THEN remaining ELSE 0 END,
        remaining = CASE WHEN {_EXPIRES} THEN 0 ELSE remaining END,
        pending = pending AND NOT ({_RELEASED})
    WHERE account_id = ANY(%(ids)s::bigint[]) AND (({_RELEASED}) OR ({_EXPIRES}))
), totals AS (
    SELECT account_id,
           coalesce(sum(remaining) FILTER (WHERE released), 0)::bigint AS released,
           coalesce(sum(remaining) FILTER (WHERE expires AND NOT stays_pending), 0)::bigint AS expired_available,
           coalesce(sum(remaining) FILTER (WHERE expires AND stays_pending), 0)::bigint AS expired_pending
    FROM due
    GROUP BY account_id
), accounts AS (
    UPDATE ledger_account AS account
    SET balance = account.balance + totals.released - totals.expired_available,
        pending = account.pending - totals.released - totals.expired_pending,
        lifetime_expired = account.lifetime_expired + totals.expired_available + totals.expired_pending,
        updated_at = %(now)s
    FROM totals
    WHERE account.id = totals.account_id
    RETURNING account.id, account.balance, totals.released, totals.expired_available + totals.expired_pending AS lost
), run AS (
    INSERT INTO ledger_expiryrun ({run_columns})
    SELECT {run_values}
    WHERE %(run)s::bigint IS NULL AND EXISTS (SELECT 1 FROM accounts WHERE lost > 0)
    RETURNING id
), entries AS (
    INSERT INTO ledger_entry ({entry_columns})
    SELECT {entry_values}
    FROM accounts
    WHERE lost > 0
    ORDER BY id
)
SELECT count(*), coalesce(sum(released), 0), coalesce(sum(lost), 0), (SELECT id FROM run) FROM accounts
"""


def _settle_batch_in_sql(account_ids: list[int], now: datetime, run: _ExpiryRunOnDemand) -> SettleResult:
    """``_settle_locked`` for locked accounts in one PostgreSQL statement, with no objects in Python.

    The statement runs after the lock and, under READ COMMITTED (PostgreSQL's default,
    which the project keeps), takes its snapshot then; so it sees every committed change
    to these accounts' lots, and nothing else can change them until the batch commits: the
    ``due`` rows it sums are exactly the rows its lot UPDATE changes. (The UPDATE repeats
    the condition rather than joining ``due``: the join planned as a merge over the whole
    primary key, a scan that grew with every batch.) The run is written by the first
    batch in which points expire.
    """
    params = {
        "ids": account_ids,
        "now": now,
        "today": program_date(now),
        "run": run.pk,
        **_insert_params(run.template(), ExpiryRun, {}, "run_"),
        **_insert_params(_expiry_entry(None, now), Entry, _EXPIRY_COMPUTED, "entry_"),
    }
    with connection.cursor() as cursor:
        cursor.execute(_settle_batch_sql(), params)
        accounts, released, expired, run_pk = cursor.fetchone()
    run.pk = run.pk or run_pk
    if expired:
        _expiry_events(run.pk, account_ids)
    return SettleResult(accounts=accounts, released=int(released), expired=int(expired))


def _settle_locked(accounts: list[Account], now: datetime, run: _ExpiryRunOnDemand | None = None) -> SettleResult:
    """Release due pending lots, then expire lots past their last day, for locked accounts."""
    run = run or _ExpiryRunOnDemand(now, ExpiryRun.Source.SETTLE)
    ids = [account.pk for account in accounts]
    today = program_date(now)
    release = Q(pending=True, available_at__lte=now)
    expire = Q(remaining__gt=0, expires_on__lt=today)
    # A lot that is released now and expires now is expired from the balance.
    expire_available = expire & (Q(pending=False) | release)
    expire_pending = expire & Q(pending=True, available_at__gt=now)
    totals = {
        row["account_id"]: row
        for row in Lot.objects.filter(release | expire, account_id__in=ids)
        .values("account_id")
        .annotate(
            released=Coalesce(Sum("remaining", filter=release), 0),
            expired_available=Coalesce(Sum("remaining", filter=expire_available), 0),
            expired_pending=Coalesce(Sum("remaining", filter=expire_pending), 0),
        )
    }
    if not totals:
        return SettleResult()

    expiries, released, expired = [], 0, 0
    for account in accounts:
        row = totals.get(account.pk)
        if row is None:
            continue
        lost = row["expired_available"] + row["expired_pending"]
        account.balance += row["released"] - row["expired_available"]
        account.pending -= row["released"] + row["expired_pending"]
        account.lifetime_expired += lost
        account.updated_at = now
        released += row["released"]
        expired += lost
        if lost:
            expiries.append(
                _expiry_entry(
                    run.get_pk(),
                    now,
                    account=account,
                    amount=-lost,
                    balance_after=account.balance,
                    memo_params={"points": lost},
                )
            )
    Entry.objects.bulk_create(expiries)
    if expiries:
        _expiry_events(run.pk, ids)
    Account.objects.filter(pk__in=list(totals)).update(
        balance=F("balance") + _lot_sum(release) - _lot_sum(expire_available),
        pending=F("pending") - _lot_sum(release) - _lot_sum(expire_pending),
        lifetime_expired=F("lifetime_expired") + _lot_sum(expire),
        updated_at=now,
    )
    Lot.objects.filter(expire, account_id__in=ids).update(expired=F("expired") + F("remaining"), remaining=0)
    Lot.objects.filter(release, account_id__in=ids).update(pending=False)
    return SettleResult(accounts=len(totals), released=released, expired=expired)


def _expiry_events(run_pk: int, account_ids: list[int]) -> None:
    """One ``points.expired`` event per account of the batch that lost points in the run, set-based."""
    entries = Entry.objects.filter(
        kind=EntryKind.EXPIRE,
        cause_type=ContentType.objects.get_for_model(ExpiryRun),
        cause_id=str(run_pk),
        account_id__in=account_ids,
    )
    outbox.events_record_from(
        type=EventType.POINTS_EXPIRED,
        rows=entries,
        member="account__member_id",
        occurred_at="created_at",
        data={
            "member": "account__member__member_number",
            "points": -F("amount"),
            "balance": "balance_after",
            "entry": "id",
        },
    )


def _lot_sum(condition: Q) -> Coalesce:
    """The sum of ``remaining`` over the outer account's lots that match ``condition``."""
    lots = Lot.objects.filter(condition, account_id=models.OuterRef("pk")).values("account_id")
    return Coalesce(models.Subquery(lots.annotate(total=Sum("remaining")).values("total")), 0)


# Taking points from lots and giving them back.


_LOT_PAGE_SQL = """
SELECT part, id, remaining, due, expires_on FROM (
    SELECT 0 AS part, id, remaining, TRUE AS due, expires_on
    FROM ledger_lot
    WHERE account_id = %s AND pending AND available_at <= %s
    LIMIT 1
) AS released
UNION ALL
SELECT part, id, remaining, due, expires_on FROM (
    SELECT 1 AS part, id, remaining, expires_on < %s AS due, expires_on
    FROM ledger_lot
    WHERE account_id = %s AND remaining > 0 AND NOT pending AND id <> %s
    ORDER BY expires_on ASC NULLS LAST, id
    LIMIT %s OFFSET %s
) AS spendable
ORDER BY part, expires_on ASC NULLS LAST, id
"""
_LOT_PAGE_SIZE = 64


def _lot_page(account_id: int, now: datetime, start: int, exclude_lot: int | None) -> list[tuple[int, int, bool]]:
    """One page of ``(id, remaining, due)``: a locked account's spendable lots, soonest expiry first.

    Ahead of them comes one pending lot whose date has come, if there is one; so if
    anything is ``due`` for settling (that lot, or a lot past its last day), the first
    row is. Each part reads its own partial index in order: no sort of all the lots.
    """
    ops = connection.ops
    today, now = ops.adapt_datefield_value(program_date(now)), ops.adapt_datetimefield_value(now)
    params = [account_id, now, today, account_id, exclude_lot or 0, _LOT_PAGE_SIZE, start]
    with connection.cursor() as cursor:
        cursor.execute(_LOT_PAGE_SQL, params)
        return [(lot_id, remaining, bool(due)) for _part, lot_id, remaining, due, _expires_on in cursor.fetchall()]


def _settle_if_due(account: Account, now: datetime) -> list[tuple[int, int, bool]]:
    """Settle a locked account if a lot is due; return the first page of its spendable lots.

    One query tells both, so an account with nothing to settle costs no extra statement.
    """
    page = _lot_page(account.pk, now, 0, None)
    if page and page[0][2]:
        _settle_locked([account], now)
        page = _lot_page(account.pk, now, 0, None)
    return page


def _spendable_lots(
    account_id: int, now: datetime, *, exclude_lot: int | None = None, first_page: list | None = None
) -> Iterator[tuple[int, int]]:
    """``(id, remaining)`` of a settled account's available lots with points left, soonest expiry
    first (never-expiring last), in pages."""
    start = 0
    page = first_page if first_page is not None else _lot_page(account_id, now, start, exclude_lot)
    while page:
        yield from ((lot_id, remaining) for lot_id, remaining, _due in page)
        if len(page) < _LOT_PAGE_SIZE:
            return
        start += _LOT_PAGE_SIZE
        page = _lot_page(account_id, now, start, exclude_lot)


def _take(account_id: int, points: int, lots: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The moves ``(lot id, -points)`` that take ``points`` from ``lots`` in order."""
    moves, left = [], points
    for lot_id, remaining in lots:
        taken = min(remaining, left)
        if taken == 0:
            continue
        moves.append((lot_id, -taken))
        left -= taken
        if left == 0:
            return moves
    # The caller checked the balance under the lock: this is a broken cache.
    raise RuntimeError(f"Account {account_id}: lots hold {left} points fewer than its balance.")


def _tiers():
    """The tiers engine, imported late: it builds on the ledger's locks."""
    from members.tiers import services

    return services


def _qualified(credit_entry: Entry) -> bool:
    """Whether a credit counted towards tiers: earned and bonus points, adjustments made qualifying."""
    if credit_entry.kind in QUALIFYING_KINDS:
        return True
    if credit_entry.kind != EntryKind.ADJUST or credit_entry.cause_type_id != _content_type_id(Adjustment):
        return False
    return Adjustment.objects.filter(pk=credit_entry.cause_id, qualifying=True).exists()


def _content_type_id(model: type[models.Model]) -> int:
    return ContentType.objects.get_for_model(model).pk


def reversible_points(entry: Entry) -> int:
    """What of an entry can still be reversed: not what was reversed, nor a credit's expired points.

    Never below zero: a credit's lot can also expire points given back to it by a debit's
    reversal after the credit itself was taken back, which must not make it reversible
    by a negative amount (a "reversal" that would add points).
    """
    # What a reversal undid: the points it moved and, for a credit, the points it left owed.
    reversed_points = abs(entry.reversals.aggregate(total=Sum(F("amount") - F("debt")))["total"] or 0)
    if entry.kind == EntryKind.CAPTURE:  # a refund gives back what the capture spent, at most
        return max(-entry.held - reversed_points, 0)
    expired = 0
    if entry.amount > 0:
        expired = entry.lots.aggregate(total=Sum("expired"))["total"] or 0
    return max(abs(entry.amount) - reversed_points - expired, 0)


def _take_back_credit(
    account: Account, credit_entry: Entry, points: int, shortfall: str, write: dict, own_lot: Lot | None = None
) -> Entry:
    """Take ``points`` back: the credit's own lot (``own_lot``: the lot of ``account`` it moved to in a merge),
    the other available lots, then (unless the shortfall is refused) the other pending lots; what is still
    missing is owed or written off."""
    own_lot = own_lot or credit_entry.lots.get()
    from_own_lot = min(own_lot.remaining, points)
    available_elsewhere = account.balance - (0 if own_lot.pending else own_lot.remaining)
    if shortfall == Shortfall.REFUSE:
        _require_available(available_elsewhere, points - from_own_lot)
    from_available = min(points - from_own_lot, available_elsewhere)
    from_pending = 0
    if shortfall != Shortfall.REFUSE:
        pending_elsewhere = account.pending - (own_lot.remaining if own_lot.pending else 0)
        from_pending = min(points - from_own_lot - from_available, pending_elsewhere)
    taken = from_own_lot + from_available + from_pending
    owed = points - taken

    if own_lot.pending:
        account.pending -= from_own_lot
    else:
        account.balance -= from_own_lot
    account.balance -= from_available
    account.pending -= from_pending
    account.lifetime_earned -= taken
    account.debt += owed
    lots = chain(
        [(own_lot.pk, own_lot.remaining)],
        _spendable_lots(account.pk, write["now"], exclude_lot=own_lot.pk),
        _pending_lots(account.pk, exclude_lot=own_lot.pk),  # read only if the others fall short
    )
    moves = _take(account.pk, taken, lots) if taken else []
    reversal = _record(account, kind=EntryKind.REVERSE, amount=-taken, debt=owed, moves=moves, **write)
    if owed and shortfall == Shortfall.WRITE_OFF:
        account.debt -= owed
        _record(
            account,
            kind=EntryKind.WRITE_OFF,
            amount=0,
            debt=-owed,
            now=write["now"],
            actor=write["actor"],
            cause=reversal,
            memo="",
            memo_code=memos.DEBT_WRITTEN_OFF,
            memo_params={"points": owed},
            key=None,
        )
    return reversal


@dataclass(frozen=True)
class _MergedHome:
    """Where a merged member's points went: the survivor's locked account, with both member numbers for memos."""

    account: Account
    number: str
    source_number: str


def _merged_home_for_update(account: Account) -> _MergedHome | None:
    """The survivor's account, locked, when ``account`` (locked) is a member's that was merged; else ``None``.

    A merged member is closed, so an open account costs no query. Locked after ``account``,
    not in id order: every caller that reverses a merged member's entry holds the merged
    account first, and nothing locks a survivor and then its merged member.
    """
    if account.member_status != MemberStatus.CLOSED:
        return None
    found = (
        Member.objects.filter(account=account.pk, merged_into__isnull=False)
        .values_list("merged_into__account", "merged_into__member_number", "member_number")
        .first()
    )
    if found is None:
        return None
    survivor_id, number, source_number = found
    return _MergedHome(lock_objects.account_for_update(survivor_id), number, source_number)


def _lot_moved_to(lot: Lot, account: Account) -> Lot:
    """The lot of ``account`` that ``lot``'s points moved to through merges, one hop each, or ``lot`` itself when
    none holds them (it was empty at the merge). A merge gives each (expiry date, pending, available_at) its lot:
    the lot that was pending then kept its ``available_at``, an available one took the merge's time."""
    while lot.account_id != account.pk:
        taken = (
            Allocation.objects.filter(lot=lot, points__lt=0, entry__kind=EntryKind.MERGE)
            .select_related("entry")
            .order_by("pk")
            .first()
        )
        pair = (
            taken
            and Entry.objects.filter(
                kind=EntryKind.MERGE,
                amount__gt=0,
                cause_type_id=taken.entry.cause_type_id,
                cause_id=taken.entry.cause_id,
            ).first()
        )
        if pair is None:
            return lot
        available_at = lot.available_at if lot.available_at > pair.created_at else pair.created_at
        next_lot = pair.lots.filter(expires_on=lot.expires_on, available_at=available_at).first()
        if next_lot is None:
            return lot
        lot = next_lot
    return lot


def _pending_lots(account_id: int, *, exclude_lot: int) -> Iterator[tuple[int, int]]:
    """``(id, remaining)`` of the account's pending lots with points left, soonest expiry first."""
    lots = Lot.objects.filter(account_id=account_id, pending=True, remaining__gt=0).exclude(pk=exclude_lot)
    yield from lots.order_by(F("expires_on").asc(nulls_last=True), "pk").values_list("pk", "remaining")


def _repay(account: Account, incoming: Entry, now: datetime) -> Entry | None:
    """Pay what the locked account owes from the points that just arrived, in a ``repay`` entry caused by
    ``incoming`` (the entry that brought them); none if nothing is left of them (they expired at once).

    By the CHECK an account that owes points held none before: only the lots just credited
    hold points, taken soonest expiry first, pending ones too. ``incoming`` was written with
    ``defer_debt``: this writes the account's debt back.
    """
    repaid = min(account.debt, account.balance + account.pending)
    if repaid == 0:
        Account.objects.filter(pk=account.pk).update(debt=account.debt)
        return None
    lots = Lot.objects.filter(account_id=account.pk, remaining__gt=0).order_by(
        F("expires_on").asc(nulls_last=True), "pk"
    )
    moves, left = [], repaid
    for lot_id, remaining, pending in lots.values_list("pk", "remaining", "pending"):
        taken = min(remaining, left)
        moves.append((lot_id, -taken))
        if pending:
            account.pending -= taken
        else:
            account.balance -= taken
        left -= taken
        if left == 0:
            break
    if left:  # the balances were read under the lock: this is a broken cache
        raise RuntimeError(f"Account {account.pk}: lots hold {left} points fewer than its balance.")
    account.debt -= repaid
    account.lifetime_earned -= repaid  # earned - spent - expired == balance + pending still
    return _record(
        account,
        kind=EntryKind.REPAY,
        amount=-repaid,
        debt=-repaid,
        now=now,
        actor=None,
        cause=incoming,
        memo="",
        memo_code=memos.DEBT_REPAID,
        memo_params={"owed": account.debt},
        key=None,
        moves=moves,
    )


def _give_back_debit(account: Account, debit_entry: Entry, points: int, write: dict) -> Entry:
    """A debit's points back to its lots; a capture's (a refund) back to its hold's lots, net of its release."""
    taken_by, undone_by = debit_entry.pk, [debit_entry.pk]
    if debit_entry.kind == EntryKind.CAPTURE:
        captured = Hold.objects.get(capture_entry=debit_entry)
        taken_by, undone_by = captured.entry_id, [captured.entry_id, debit_entry.pk]
        if not write.get("memo_code"):  # the caller's code, else what a refund of a till's payment says
            write = {**write, "memo_code": memos.HOLD_REFUNDED, "memo_params": {"points": points}}
        Hold.objects.filter(pk=captured.pk).update(refunded=F("refunded") + points)
    account.balance += points
    account.lifetime_spent -= points
    moves = _give_back_moves(taken_by, undone_by, points)
    return _record(account, kind=EntryKind.REVERSE, amount=points, moves=moves, defer_debt=account.debt > 0, **write)


def _give_back_moves(taken_by: int, undone_by: list[int], points: int) -> list[tuple[int, int]]:
    """The moves ``(lot id, +points)`` giving ``points`` back to the lots entry ``taken_by`` took them from,
    latest taken first, net of what the entries reversing ``undone_by`` gave back already."""
    given_back = dict(
        Allocation.objects.filter(entry__reverses_id__in=undone_by)
        .values("lot_id")
        .annotate(total=Sum("points"))
        .values_list("lot_id", "total")
    )
    moves, left = [], points
    for lot_id, taken in Allocation.objects.filter(entry_id=taken_by).order_by("-pk").values_list("lot_id", "points"):
        back = min(-taken - given_back.get(lot_id, 0), left)
        if back <= 0:
            continue
        moves.append((lot_id, back))
        left -= back
        if left == 0:
            break
    return moves


# Small helpers.


def _replay(
    account: Account,
    key: str | None,
    actor: models.Model | None,
    *,
    kind: str,
    amount: int | None,
    reverses_id: int | None = None,
) -> Entry | None:
    """The entry an earlier call by the same actor with the same idempotency key wrote, if it matches this call.

    Keys are scoped here, in one place: the same key from two partners, or from a partner
    and a staff user, names two requests.
    """
    if not key:
        return None
    scope = _generic_reference("actor", actor)
    first = Entry.objects.filter(
        account=account,
        idempotency_key=key,
        actor_type=scope.get("actor_type"),
        actor_id=scope.get("actor_id", ""),
    ).first()
    if first is None:
        return None
    if first.kind != kind or first.reverses_id != reverses_id or amount not in (None, first.amount):
        raise IdempotencyConflict()
    return first


def _same_shortfall(reversal: Entry, shortfall: str) -> bool:
    """Whether a repeated reversal asks the policy that its first call applied, as far as it mattered:
    a reversal that left nothing owed repeats under any policy."""
    if reversal.debt == 0:
        return True
    written_off = Entry.objects.filter(
        kind=EntryKind.WRITE_OFF, cause_type_id=_content_type_id(Entry), cause_id=str(reversal.pk)
    ).exists()
    return shortfall == (Shortfall.WRITE_OFF if written_off else Shortfall.DEBT)


# Writing. Both paths write from the same model instances: the ORM saves them; the SQL
# statement takes every column of them as a parameter (``_insert_columns``), except the
# few it computes. So a new field with a default is written alike on both databases.


def _insert_columns(model: type[models.Model], computed: dict[str, str], prefix: str) -> tuple[str, str, list]:
    """The column list and value list of an INSERT of ``model``.

    A column in ``computed`` takes that SQL; every other column a typed parameter
    ``%(<prefix><column>)s`` (``_insert_params`` fills them from an instance).
    """
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    unknown = set(computed) - {field.column for field in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}.")
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    values = ", ".join(
        computed.get(field.column) or f"CAST(%({prefix}{field.column})s AS {field.cast_db_type(connection)})"
        for field in fields
    )
    return columns, values, [field for field in fields if field.column not in computed]


def _insert_params(instance: models.Model, model: type[models.Model], computed, prefix: str) -> dict:
    """The parameters of ``_insert_columns(model, computed, prefix)``, from ``instance``."""
    return {
        f"{prefix}{field.column}": field.get_db_prep_save(getattr(instance, field.attname), connection)
        for field in model._meta.concrete_fields
        if not field.primary_key and field.column not in computed
    }


_LOT_COMPUTED = {"entry_id": "entry.id"}
_ALLOCATION_COMPUTED = {"entry_id": "entry.id", "lot_id": "moves.lot_id", "points": "moves.points"}


@cache
def _record_sql() -> str:
    entry_columns, entry_values, _fields = _insert_columns(Entry, {}, "entry_")
    lot_columns, lot_values, _fields = _insert_columns(Lot, _LOT_COMPUTED, "lot_")
    allocation_columns, allocation_values, _fields = _insert_columns(Allocation, _ALLOCATION_COMPUTED, "allocation_")
    balances = ", ".join(f"{field} = %({field})s" for field in _BALANCES)
    return f"""
WITH entry AS (
    INSERT INTO ledger_entry ({entry_columns})
    VALUES ({entry_values})
    RETURNING id
), moves AS (
    SELECT * FROM unnest(%(move_lots)s::bigint[], %(move_points)s::bigint[]) AS move(lot_id, points)
), moved AS (
    UPDATE ledger_lot SET remaining = remaining + per_lot.points
    FROM (SELECT lot_id, sum(points) AS points FROM moves GROUP BY lot_id) AS per_lot
    WHERE ledger_lot.id = per_lot.lot_id
), allocations AS (
    INSERT INTO ledger_allocation ({allocation_columns})
    SELECT {allocation_values} FROM entry, moves
), opened AS (
    INSERT INTO ledger_lot ({lot_columns})
    SELECT {lot_values} FROM entry
    WHERE %(opens_lot)s
), account AS (
    UPDATE ledger_account SET {balances}, updated_at = %(updated_at)s WHERE id = %(account)s
)
SELECT id FROM entry
"""


def _record(
    account: Account,
    *,
    kind: str,
    amount: int,
    now: datetime,
    actor: models.Model | None,
    cause: "models.Model | _Reference | None",
    memo: str,
    key: str | None,
    memo_code: str = "",
    memo_params: dict | None = None,
    reverses: Entry | None = None,
    moves: Sequence[tuple[int, int]] = (),
    new_lot: dict | None = None,
    debt: int = 0,
    held: int = 0,
    reverses_id: int | None = None,
    defer_debt: bool = False,
) -> Entry:
    """Write an entry, its lot moves ``(lot id, points)`` with their allocations, the lot a
    credit opens, and the locked account's new balances.

    ``defer_debt``: points arrive in an account that owes some, and ``_repay`` follows in
    this transaction; until then the row's debt is written as 0, as the CHECK allows no
    points beside a debt even for one statement.

    On PostgreSQL all of it is one statement (one round trip for a credit or a debit);
    elsewhere the ORM writes it row by row.
    """
    entry = Entry(
        account=account,
        kind=kind,
        amount=amount,
        debt=debt,
        held=held,
        balance_after=account.balance,
        created_at=now,
        memo=memo,
        memo_code=memo_code,
        memo_params=memo_params or {},
        idempotency_key=key or "",
        reverses=reverses,
        reverses_id=reverses.pk if reverses is not None else reverses_id,
        **_generic_reference("actor", actor),
        **_generic_reference("cause", cause),
    )
    lot = Lot(account=account, entry=entry, remaining=new_lot["amount"], **new_lot) if new_lot else None
    account.updated_at = now
    if connection.vendor != "postgresql":
        entry.save(force_insert=True)
        for lot_id, points in moves:
            Lot.objects.filter(pk=lot_id).update(remaining=F("remaining") + points)
        Allocation.objects.bulk_create(
            Allocation(entry=entry, lot_id=lot_id, points=points) for lot_id, points in moves
        )
        if lot:
            lot.entry = entry  # its id is known now
            lot.save(force_insert=True)
        # update(), not save(): auto_now would replace ``now`` with the wall clock.
        Account.objects.filter(pk=account.pk).update(**_balances(account, defer_debt), updated_at=now)
        return entry
    if lot is not None:
        lot_params = _insert_params(lot, Lot, _LOT_COMPUTED, "lot_")
    else:  # no lot is opened (``opens_lot`` is false): its parameters are NULL
        lot_params = dict.fromkeys(_insert_params(Lot(), Lot, _LOT_COMPUTED, "lot_"))
    params = {
        "account": account.pk,
        "updated_at": now,
        "opens_lot": lot is not None,
        "move_lots": [lot_id for lot_id, _points in moves],
        "move_points": [points for _lot_id, points in moves],
        **_insert_params(entry, Entry, {}, "entry_"),
        **lot_params,
        **_insert_params(Allocation(), Allocation, _ALLOCATION_COMPUTED, "allocation_"),
        **_balances(account, defer_debt),
    }
    with connection.cursor() as cursor:
        cursor.execute(_record_sql(), params)
        entry.pk = cursor.fetchone()[0]
    entry._state.adding, entry._state.db = False, connection.alias
    return entry


@dataclass(frozen=True)
class _Reference:
    """A generic reference copied from another entry without fetching the object (a reversal's cause)."""

    type_id: int | None
    id: str


def _cause_of(entry: Entry) -> _Reference:
    return _Reference(entry.cause_type_id, entry.cause_id)


def _generic_reference(name: str, obj: "models.Model | _Reference | None") -> dict:
    if obj is None:
        return {}
    if isinstance(obj, _Reference):
        return {f"{name}_type_id": obj.type_id, f"{name}_id": obj.id}
    return {f"{name}_type": ContentType.objects.get_for_model(obj), f"{name}_id": str(obj.pk)}


_BALANCES = ("balance", "pending", "lifetime_earned", "lifetime_spent", "lifetime_expired", "debt", "held")


def _balances(account: Account, defer_debt: bool) -> dict:
    """The account's figures as ``_record`` writes them (see its ``defer_debt``)."""
    values = {field: getattr(account, field) for field in _BALANCES}
    if defer_debt:
        values["debt"] = 0
    return values


def _copy_balances(source: Account, target: Account) -> None:
    """Keep the caller's Account instance in step with the locked row it passed in."""
    for field in (*_BALANCES, "updated_at"):
        setattr(target, field, getattr(source, field))


def _require_member(account: Account, *allowed: str) -> None:
    """Refuse the move unless the locked account's member (``member_status``, read with the lock) is ``allowed``."""
    status = account.member_status
    if status in allowed:
        return
    if status == MemberStatus.CLOSED:
        raise MemberClosed()
    raise MemberSuspended()


def _require_available(available: int, points: int) -> None:
    if points > available:
        raise InsufficientPoints(
            f"Only {available} points are available; {points} were asked for.", available=available, requested=points
        )


def _aware(moment: datetime, field: str) -> datetime:
    """``moment``, refused when naive: the SQL and the ORM paths would read a naive time differently."""
    if timezone.is_naive(moment):
        raise ValidationError("Give a time with its time zone.", field=field)
    return moment


def _check_points(points: int) -> None:
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValidationError("Points must be a whole number greater than zero.", field="points")


def _check_choice(value: str, allowed: frozenset, field: str) -> None:
    if value not in allowed:
        raise ValidationError(f"{value!r} is not one of {', '.join(sorted(allowed))}.", field=field)


def _check_memo(code: str, params: dict | None) -> dict:
    if not code:
        if params:
            raise ValidationError("Memo parameters need a memo code.", field="memo_params")
        return {}
    params = params or {}
    memos.memo_check(code, params)
    return params


def _check_spend(spend_amount: Decimal, counts: bool) -> None:
    """A spend is a ``Decimal`` of the program's currency, zero or more, and only beside points that count."""
    if not isinstance(spend_amount, Decimal) or not spend_amount.is_finite() or spend_amount < 0:
        raise ValidationError("A spend is an amount of money, zero or more.", field="spend_amount")
    if spend_amount and not counts:
        raise ValidationError("Only points that count towards tiers carry a spend.", field="spend_amount")


def _check_text(*, memo: str, idempotency_key: str | None) -> None:
    if len(memo) > Entry._meta.get_field("memo").max_length:
        raise ValidationError("The memo is too long (255 characters at most).", field="memo")
    if idempotency_key is not None and not 0 < len(idempotency_key) <= 255:
        raise ValidationError("An idempotency key has 1 to 255 characters.", field="idempotency_key")


# Many credits at once: the set-based verb of imports.


@dataclass(frozen=True)
class CreditSpec:
    """One credit of ``credit_many``: what ``credit`` takes, less idempotency keys and adjustments.

    ``spend_amount`` is the money the credit's purchase paid, added to the member's
    qualifying day beside the points (the tiers' spend basis).
    """

    account_id: int
    points: int
    kind: str = EntryKind.EARN
    cause: "models.Model | _Reference | None" = None  # an instance, or ``reference(model, pk)``
    actor: "models.Model | _Reference | None" = None
    memo_code: str = ""
    memo_params: dict | None = None
    available_at: datetime | None = None
    expires_on: date | None | _FromPolicy = FROM_POLICY
    spend_amount: Decimal = Decimal(0)


_MANY_KINDS = frozenset({EntryKind.EARN, EntryKind.BONUS})


def credit_many(credits: Sequence[CreditSpec], *, now: datetime) -> list[Entry]:
    """Write many credits at once: the same entries, lots, balances and qualifying days as ``credit``
    called once per spec in order, in a few statements (the entries, the lots, the accounts, the
    qualifying days and the upgrades at once of the tiers).

    Locks the accounts in id order. Every member must be active (else ``MemberSuspended`` /
    ``MemberClosed``, and nothing is written); an account in debt is refused (its credit pays
    the debt first: credit it alone). Earn and bonus kinds only; no idempotency keys (the
    caller's own rows, e.g. a purchase's external id, make it safe to run again). Returns the
    entries in the order of ``credits``.
    """
    now = _aware(now, "now")
    prepared = [_credit_prepare(spec, now) for spec in credits]
    if not prepared:
        return []

    with transaction.atomic():
        locked = {a.pk: a for a in lock_objects.account_rows_for_update({c.account_id for c in credits})}
        for spec in credits:
            if spec.account_id not in locked:
                raise Account.DoesNotExist(f"Account {spec.account_id} does not exist.")
        for account in locked.values():
            _require_member(account, MemberStatus.ACTIVE)
            if account.debt:
                raise ValidationError("An account in debt is credited alone: its points pay the debt.", field="debt")
        entry_rows, lot_rows, qualifying = [], [], []
        for spec, memo_params, available_at, expires_on in prepared:
            account = locked[spec.account_id]
            pending = available_at > now
            if pending:
                account.pending += spec.points
            else:
                account.balance += spec.points
            account.lifetime_earned += spec.points
            entry_rows.append(
                {
                    "account_id": account.pk,
                    "kind": spec.kind,
                    "amount": spec.points,
                    "balance_after": account.balance,
                    "created_at": now,
                    "memo": "",
                    "memo_code": spec.memo_code,
                    "memo_params": memo_params,
                    "idempotency_key": "",
                    "reverses_id": None,
                    **_reference_ids("actor", spec.actor),
                    **_reference_ids("cause", spec.cause),
                }
            )
            lot_rows.append(
                {
                    "account_id": account.pk,
                    "amount": spec.points,
                    "remaining": spec.points,
                    "pending": pending,
                    "available_at": available_at,
                    "expires_on": expires_on,
                }
            )
            qualifying.append((account.member_id, spec.points, spec.spend_amount))
        entry_ids = bulk.insert_rows(Entry, entry_rows)
        for lot, entry_id in zip(lot_rows, entry_ids, strict=True):
            lot["entry_id"] = entry_id
        bulk.insert_rows(Lot, lot_rows)
        _accounts_update(list(locked.values()), now)
        _tiers().qualifying_record_many(day=program_date(now), credits=qualifying, now=now)
    entries = []
    for row, entry_id in zip(entry_rows, entry_ids, strict=True):
        entry = Entry(pk=entry_id, **row)
        entry._state.adding, entry._state.db = False, connection.alias
        entries.append(entry)
    return entries


def _credit_prepare(spec: CreditSpec, now: datetime) -> tuple:
    """``(spec, memo_params, available_at, expires_on)`` of a checked spec (``credit_many``, ``credit_all``)."""
    _check_points(spec.points)
    _check_choice(spec.kind, _MANY_KINDS, "kind")
    _check_spend(spec.spend_amount, counts=True)
    memo_params = _check_memo(spec.memo_code, spec.memo_params)
    available_at = max(_aware(spec.available_at or now, "available_at"), now)
    expires_on = policy.expiry_date(available_at) if spec.expires_on is FROM_POLICY else spec.expires_on
    if expires_on is not None and expires_on < program_date(available_at):
        raise ValidationError("Points cannot expire before they become available.", field="expires_on")
    return spec, memo_params, available_at, expires_on


def reference(model: type[models.Model], pk) -> "_Reference":
    """A cause or actor of ``CreditSpec`` named by its model and id, without an instance (bulk work)."""
    return _Reference(_content_type_id(model), str(pk))


def _reference_ids(name: str, obj: "models.Model | _Reference | None") -> dict:
    if obj is None:
        return {f"{name}_type_id": None, f"{name}_id": ""}
    if isinstance(obj, _Reference):
        return {f"{name}_type_id": obj.type_id, f"{name}_id": obj.id}
    return {f"{name}_type_id": _content_type_id(type(obj)), f"{name}_id": str(obj.pk)}


def _accounts_update(accounts: list, now: datetime) -> None:
    """Write the new balances of locked accounts (``lock_objects.LockedAccount``) in one statement."""
    if connection.vendor != "postgresql":
        rows = [Account(pk=a.pk, updated_at=now, **{name: getattr(a, name) for name in _BALANCES}) for a in accounts]
        Account.objects.bulk_update(rows, [*_BALANCES, "updated_at"])
        return
    sets = ", ".join(f"{field} = v.{field}" for field in _BALANCES)
    arrays = ", ".join(f"%({field})s::bigint[]" for field in ("id", *_BALANCES))
    params = {field: [getattr(account, field) for account in accounts] for field in _BALANCES}
    params["id"] = [account.pk for account in accounts]
    params["now"] = now
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE ledger_account AS a SET {sets}, updated_at = %(now)s"
            f" FROM unnest({arrays}) AS v(id, {', '.join(_BALANCES)}) WHERE a.id = v.id",
            params,
        )
