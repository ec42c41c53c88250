"""Events that earn points: what a partner posts (a review, a survey...), and the program's own (sign-up, birthday).

One path records every event, whoever posts it (``event_record``):

1. The type must be an active ``EventType`` (``UnknownEventType``); a merged member's number
   takes nothing (``MemberMerged``); ``attributes`` is a small flat JSON object.
2. Under the member's account lock (``loyalty.ledger.lock_objects``), so two racing posts are
   counted one after the other: a repeat of the same event (per partner by ``external_id``; a
   program event per member, type and ``external_id``) returns the first one when its body is
   the same, and raises ``ExternalIdConflict`` when it is not.
3. What it earns is decided in this order, and recorded on the ``Event`` whatever it is:
   a suspended or closed member earns nothing (``member_suspended``, ``member_closed``); over
   the type's limit, nothing (``limit_reached``); else the engine (``engine.evaluate_event``)
   gives the type's points plus the event points of the campaigns that apply, capped by their
   per-member caps and budgets. Points are credited at once (one ``bonus`` entry whose cause is
   the event, its ``Award`` rows, the campaigns' budgets), or, for a type that requires approval,
   held: ``awaiting_approval``, with the points the event would earn now on the Event and no
   ledger entry.

Limits count the member's events of the type that were accepted (earned, earned nothing
under the rules, or awaiting approval): a declined one, one over the limit or one of a
suspended member does not use up the limit. Periods are the program's (``loyalty.clock``),
on the program day of ``occurred_at``: a week runs Monday to Sunday, a month and a year are
the calendar's; "N per day" counts the program day.

Approval (``event_approve``) evaluates the event again, at its ``occurred_at``, against the
type's points and the campaigns' caps and budgets as they stand when it is approved, and
credits that: approving late can never overspend a budget or a cap that filled meanwhile.
The limit is not counted again (the event already holds its place). ``event_decline`` records
the reason and credits nothing. Either, on an event that is not awaiting approval, raises
``EventNotAwaitingApproval``.
"""

import calendar
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from loyalty.clock import add_months, program_date, program_day_start
from loyalty.exceptions import (
    EventNotAwaitingApproval,
    ExternalIdConflict,
    MemberClosed,
    MemberMerged,
    MemberSuspended,
    NotFound,
    PermissionDenied,
    UnknownEventType,
    ValidationError,
)
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.ledger import memos
from loyalty.ledger import services as ledger
from loyalty.ledger.models import EntryKind
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType as OutboxEventType
from members.models import Member, MemberStatus
from missions import services as missions
from missions.streaks.services import activity_record

from . import engine, selectors
from . import services as campaign_services
from .models import Event, EventLimit, EventType, LimitPeriod, Outcome

SIGN_UP = "sign_up"
SIGN_UP_EXTERNAL_ID = "sign-up"
BIRTHDAY = "birthday"
BIRTHDAY_BATCH_SIZE = 500

# Outcomes that hold a place in the type's limit.
COUNTED_OUTCOMES = (Outcome.EARNED, Outcome.NOTHING, Outcome.AWAITING_APPROVAL)
MISSION_OUTCOMES = (Outcome.EARNED, Outcome.NOTHING)  # what counts towards missions (approved, if it waited)
STATUS_OUTCOMES = {MemberStatus.SUSPENDED: Outcome.MEMBER_SUSPENDED, MemberStatus.CLOSED: Outcome.MEMBER_CLOSED}

# What ``attributes`` may hold: a flat object of strings and numbers.
ATTRIBUTES_MAX_KEYS = 20
ATTRIBUTES_MAX_KEY_LENGTH = 40
ATTRIBUTES_MAX_STRING_LENGTH = 200
ATTRIBUTES_MAX_BYTES = 2048
# How far ahead of the server's clock ``occurred_at`` may be (a till's clock drifts).
CLOCK_SKEW = timedelta(minutes=5)


def attributes_check(attributes) -> dict:
    """``attributes`` if it is a flat JSON object of at most 20 keys, whose values are strings (up to 200
    characters) or finite numbers, 2 KB at most in JSON; else ``ValidationError`` (field ``attributes``)."""

    def refuse(message):
        raise ValidationError(message, field="attributes")

    if not isinstance(attributes, dict):
        refuse("Attributes are a JSON object.")
    if len(attributes) > ATTRIBUTES_MAX_KEYS:
        refuse(f"At most {ATTRIBUTES_MAX_KEYS} attributes.")
    for key, value in attributes.items():
        if not isinstance(key, str) or not 0 < len(key) <= ATTRIBUTES_MAX_KEY_LENGTH:
            refuse(f"An attribute's name has 1 to {ATTRIBUTES_MAX_KEY_LENGTH} characters.")
        if isinstance(value, str):
            if len(value) > ATTRIBUTES_MAX_STRING_LENGTH:
                refuse(f"An attribute's text has at most {ATTRIBUTES_MAX_STRING_LENGTH} characters.")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            refuse("An attribute's value is a string or a number.")
    if len(json.dumps(attributes, ensure_ascii=False).encode()) > ATTRIBUTES_MAX_BYTES:
        refuse(f"Attributes take at most {ATTRIBUTES_MAX_BYTES} bytes.")
    return attributes


def event_record(
    *,
    member: Member,
    event_type_code: str,
    external_id: str,
    occurred_at: datetime,
    attributes: dict,
    partner=None,
    body_hash: str = "",
    now: datetime,
) -> Event:
    """Record an event of ``member`` and credit what it earns (see the module docstring for the order).

    Locks the member's account. Idempotent: the same event again returns the first ``Event``
    (``ExternalIdConflict`` when its ``body_hash`` differs). Raises ``UnknownEventType`` (no
    active type has this code), ``MemberMerged``, ``ValidationError`` (attributes, a time
    without a time zone or in the future, an external id of 1 to 64 characters). A member who
    cannot earn, or a limit reached, is not an error: the Event records it, with 0 points.
    """
    event_type = EventType.objects.filter(code=event_type_code, active=True).first()
    if event_type is None:
        raise UnknownEventType(field="type")
    return _record(
        member=member,
        event_type=event_type,
        external_id=external_id,
        occurred_at=occurred_at,
        attributes=attributes,
        partner=partner,
        body_hash=body_hash,
        now=now,
    )


def sign_up_record(*, member: Member, now: datetime) -> Event | None:
    """The ``sign_up`` event of a new member (``member_enroll`` calls it in its transaction).

    Nothing when staff made the type inactive. Idempotent (``external_id`` ``sign-up``).
    """
    event_type = EventType.objects.filter(code=SIGN_UP, active=True).first()
    if event_type is None:
        return None
    return _record(
        member=member,
        event_type=event_type,
        external_id=SIGN_UP_EXTERNAL_ID,
        occurred_at=now,
        attributes={},
        now=now,
    )


@dataclass(frozen=True)
class BirthdayRun:
    day: date
    members: int  # whose birthday it is and had no birthday event this year
    earned: int  # of them, events that earned points


def birthday_events_record(*, now: datetime) -> BirthdayRun:
    """Record the ``birthday`` event of each active member whose birthday is today (program date).

    A birthday on 29 February is kept on 28 February in a year without one. Each event's
    ``external_id`` is ``birthday-<year>``: a second run the same day (or year) writes nothing,
    so the task is safe to run twice. Candidates are chosen by one query per batch (members
    without this year's event), each recorded by the path of ``event_record``, in its own transaction.
    Nothing when staff made the type inactive.
    """
    today = program_date(now)
    event_type = EventType.objects.filter(code=BIRTHDAY, active=True).first()
    if event_type is None:
        return BirthdayRun(day=today, members=0, earned=0)
    external_id = f"birthday-{today.year}"
    birthdays = Q(birth_date__month=today.month, birth_date__day=today.day)
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        birthdays |= Q(birth_date__month=2, birth_date__day=29)
    already = Event.objects.filter(event_type=event_type, partner=None, external_id=external_id).values("member_id")
    candidates = (
        Member.objects.filter(birthdays, status=MemberStatus.ACTIVE, merged_into=None)
        .exclude(pk__in=already)
        .select_related("account")
        .order_by("pk")
    )
    members = earned = 0
    last_pk = 0
    while batch := list(candidates.filter(pk__gt=last_pk)[:BIRTHDAY_BATCH_SIZE]):
        for member in batch:
            event = _record(
                member=member,
                event_type=event_type,
                external_id=external_id,
                occurred_at=now,
                attributes={},
                now=now,
            )
            members += 1
            earned += event.outcome == Outcome.EARNED
        last_pk = batch[-1].pk
    return BirthdayRun(day=today, members=members, earned=earned)


def event_approve(*, event: Event, actor, now: datetime) -> Event:
    """Credit an event awaiting approval: evaluated again now (see the module docstring), one ``bonus`` entry.

    ``actor`` is a staff user with ``campaigns.approve_event`` (else ``PermissionDenied``) or the
    partner that posted the event (another partner: ``NotFound``). Locks the member's account;
    raises ``EventNotAwaitingApproval`` when the event was already approved or declined, and
    ``MemberSuspended``/``MemberClosed`` (nothing changes) when the member cannot earn now.
    """
    _check_decider(event, actor)
    with transaction.atomic():
        account = ledger_locks.account_for_update(event.member.account.pk)
        event = _awaiting(event.pk)
        _require_active(account)
        result = _evaluate(event=event, event_type=event.event_type, partner=event.partner)
        _decide(event, actor, now)
        event.outcome = Outcome.EARNED if result.points else Outcome.NOTHING
        event.points = result.points
        if result.points:
            _credit(event, result, account=event.member.account, actor=actor, now=now)
        event.save(update_fields=["outcome", "points", "entry", *DECISION_FIELDS])
        missions.progress_record(member=event.member, now=now, event=event)
    return event


def event_decline(*, event: Event, actor, reason: str, now: datetime) -> Event:
    """Decline an event awaiting approval with a reason: it earns nothing (0 points), frees its place in the limit.

    Who may: as ``event_approve``. Locks the member's account; ``EventNotAwaitingApproval``
    when it was already approved or declined; ``ValidationError`` without a reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the event is declined.", field="reason")
    if len(reason) > Event._meta.get_field("decision_reason").max_length:
        raise ValidationError("The reason is too long (255 characters at most).", field="reason")
    _check_decider(event, actor)
    with transaction.atomic():
        ledger_locks.account_for_update(event.member.account.pk)
        event = _awaiting(event.pk)
        _decide(event, actor, now)
        event.outcome = Outcome.DECLINED
        event.points = 0
        event.decision_reason = reason
        event.save(update_fields=["outcome", "points", "decision_reason", *DECISION_FIELDS])
    return event


# The path every event takes.


def _record(
    *,
    member: Member,
    event_type: EventType,
    external_id: str,
    occurred_at: datetime,
    attributes: dict,
    partner=None,
    body_hash: str = "",
    now: datetime,
) -> Event:
    if member.merged_into_id is not None:
        survivor = Member.objects.values_list("member_number", flat=True).get(pk=member.merged_into_id)
        raise MemberMerged(merged_into=survivor)
    if not 0 < len(external_id) <= Event._meta.get_field("external_id").max_length:
        raise ValidationError("An external id has 1 to 64 characters.", field="external_id")
    _check_moment(occurred_at, now)
    attributes = attributes_check(attributes)
    with transaction.atomic():
        account = ledger_locks.account_for_update(member.account.pk)
        first = _first(member=member, event_type=event_type, external_id=external_id, partner=partner)
        if first is not None:
            return _repeat(first, body_hash)
        event = Event(
            event_type=event_type,
            member=member,
            partner=partner,
            external_id=external_id,
            body_hash=body_hash,
            occurred_at=occurred_at,
            attributes=attributes,
            created_at=now,
        )
        result = None
        if account.member_status in STATUS_OUTCOMES:
            event.outcome = STATUS_OUTCOMES[account.member_status]
        elif _limit_reached(member=member, event_type=event_type, occurred_at=occurred_at):
            event.outcome = Outcome.LIMIT_REACHED
        else:
            result = _evaluate(event=event, event_type=event_type, partner=partner)
            event.points = result.points
            if event_type.requires_approval:
                event.outcome = Outcome.AWAITING_APPROVAL
            else:
                event.outcome = Outcome.EARNED if result.points else Outcome.NOTHING
        try:
            with transaction.atomic():
                event.save(force_insert=True)
        except IntegrityError:
            # The same partner's id for another member, posted at the same moment (another account's lock).
            first = _first(member=member, event_type=event_type, external_id=external_id, partner=partner)
            if first is None:
                raise
            return _repeat(first, body_hash)
        if event.outcome == Outcome.EARNED:
            _credit(event, result, account=member.account, actor=partner, now=now)
            event.save(update_fields=["entry"])
        else:
            member.account.balance, member.account.pending = account.balance, account.pending
        if event.outcome in MISSION_OUTCOMES:
            missions.progress_record(member=member, now=now, event=event)
        if event.outcome in COUNTED_OUTCOMES and event_type.code != BIRTHDAY:  # the member's own doing
            activity_record(member=member, at=occurred_at, purchase=False, now=now)
    return event


def _first(*, member: Member, event_type: EventType, external_id: str, partner) -> Event | None:
    events = Event.objects.select_related("event_type", "member__account")
    if partner is not None:
        return events.filter(partner=partner, external_id=external_id).first()
    return events.filter(partner=None, member=member, event_type=event_type, external_id=external_id).first()


def _repeat(first: Event, body_hash: str) -> Event:
    if first.body_hash != body_hash:
        raise ExternalIdConflict(field="external_id")
    return first


def _limit_reached(*, member: Member, event_type: EventType, occurred_at: datetime) -> bool:
    """Whether the member's accepted events of this type fill its limit around ``occurred_at``."""
    if event_type.limit == EventLimit.NONE:
        return False
    events = Event.objects.filter(member=member, event_type=event_type, outcome__in=COUNTED_OUTCOMES)
    if event_type.limit == EventLimit.ONCE:
        return events.exists()
    day = program_date(occurred_at)
    if event_type.limit == EventLimit.PER_DAY:
        start, end, allowed = day, day + timedelta(days=1), event_type.per_day
    else:
        start, end = period_bounds(day, event_type.limit_period)
        allowed = 1
    window = events.filter(occurred_at__gte=program_day_start(start), occurred_at__lt=program_day_start(end))
    return window.count() >= allowed


def period_bounds(day: date, period: str) -> tuple[date, date]:
    """The program period (``LimitPeriod``) holding ``day``: its first day and the first day after it."""
    if period == LimitPeriod.WEEK:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == LimitPeriod.MONTH:
        start = day.replace(day=1)
        return start, add_months(start, 1)
    start = day.replace(month=1, day=1)
    return start, start.replace(year=start.year + 1)


def _evaluate(*, event: Event, event_type: EventType, partner) -> engine.Result:
    """The engine's breakdown of the event: the type's points and the event points of the live campaigns
    that have a rule for this type, within their caps and budgets as they stand under the member's lock.

    Only those campaigns are prepared (and their rows locked, ``campaigns_prepare``): an event
    never waits on a campaign that cannot give it anything. No campaign, no more queries.
    """
    at = event.occurred_at
    campaigns = tuple(
        campaign
        for campaign in selectors.campaigns_live_get(at=at)
        if any(rule.kind == engine.EVENT_POINTS and rule.event_type == event_type.code for rule in campaign.rules)
    )
    # An event earns no rate: the program's time zone is all the engine reads of it here.
    program = engine.Program(points_per_unit=Decimal(0), time_zone=settings.TIME_ZONE)
    facts = engine.MemberFacts()
    partner_id = partner.pk if partner is not None else None
    if campaigns:
        facts = selectors.member_facts_get(member=event.member)
        campaigns = campaign_services.campaigns_prepare(
            campaigns=campaigns, member=event.member, facts=facts, at=at, partner_id=partner_id, program=program
        )
    return engine.evaluate_event(
        event_type.code,
        event_type.points,
        occurred_at=at,
        partner_id=partner_id,
        program=program,
        member=facts,
        campaigns=campaigns,
    )


def _credit(event: Event, result: engine.Result, *, account, actor, now: datetime) -> None:
    """One ``bonus`` entry for the event's points, its awards, the campaigns' budgets and caps."""
    campaign_services.awards_record(result=result, member=event.member, at=event.occurred_at, event=event)
    event_type = event.event_type
    event.entry = ledger.credit(
        account,
        result.points,
        EntryKind.BONUS,
        cause=event,
        memo_code=memos.EVENT_BONUS,
        memo_params={"name": event_type.name, "name_fr": event_type.name_fr},
        actor=actor,
        now=now,
    )
    outbox.event_record(
        type=OutboxEventType.POINTS_EARNED,
        member=event.member,
        partner=event.partner,
        now=now,
        data={
            "member": event.member.member_number,
            "points": result.points,
            "balance": event.entry.balance_after,
            "event": event.pk,
            "event_type": event_type.code,
        },
    )


# Approval.

DECISION_FIELDS = ["decided_at", "decided_by_user", "decided_by_partner"]


def _check_decider(event: Event, actor) -> None:
    from loyalty.partners.models import Partner

    if isinstance(actor, Partner):
        if event.partner_id != actor.pk:
            raise NotFound("This partner posted no such event.")
        return
    if actor is None or not actor.has_perm("campaigns.approve_event"):
        raise PermissionDenied("Approving or declining events needs the permission to approve them.")


def _awaiting(event_id: int) -> Event:
    """The event read again under the member's lock, refused unless it still awaits approval."""
    event = Event.objects.select_related("event_type", "member__account", "partner").get(pk=event_id)
    if event.outcome != Outcome.AWAITING_APPROVAL:
        raise EventNotAwaitingApproval(outcome=event.outcome)
    return event


def _decide(event: Event, actor, now: datetime) -> None:
    from loyalty.partners.models import Partner

    event.decided_at = now
    if isinstance(actor, Partner):
        event.decided_by_partner = actor
    else:
        event.decided_by_user = actor


def _require_active(account) -> None:
    """Refuse unless the locked account's member (its status read with the lock) may earn."""
    if account.member_status == MemberStatus.CLOSED:
        raise MemberClosed()
    if account.member_status != MemberStatus.ACTIVE:
        raise MemberSuspended()


# Checks.


def _check_moment(occurred_at: datetime, now: datetime) -> None:
    if timezone.is_naive(occurred_at):
        raise ValidationError("Give a time with its time zone.", field="occurred_at")
    if occurred_at > now + CLOCK_SKEW:
        raise ValidationError("An event cannot have happened in the future.", field="occurred_at")
