"""Every write of referrals: codes, joining, invitations, the purchase that pays, staff review, merges.

Lock order (no deadlock with the ledger): the two members' points accounts first, in id
order (``ledger.lock_objects.accounts_for_update``; the purchase path already holds the
new member's), then the referral row (``lock_objects``). The referrer's account lock also
serialises the monthly cap: two friends' purchases at once cannot both take its last place.
"""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from loyalty.clock import add_months, program_date, program_day_start
from loyalty.exceptions import Conflict, MemberClosed, MemberSuspended, PermissionDenied, ValidationError
from loyalty.ledger import lock_objects as ledger_locks
from loyalty.ledger import memos
from loyalty.ledger import services as ledger
from loyalty.ledger.models import EntryKind
from loyalty.outbox import services as outbox
from loyalty.outbox.models import EventType
from members.models import Member, MemberStatus

from . import lock_objects, reasons, rules
from .models import MemberDevice, Referral, ReferralCode, ReferralPolicy, ReferralStatus

REVIEW_PERMISSION = "referrals.review_referral"
# A referral still waiting for its friend's qualifying purchase.
OPEN_STATUSES = (ReferralStatus.JOINED, ReferralStatus.FLAGGED, ReferralStatus.APPROVED)
INVITE_EMAILS_PER_HOUR = 1  # to one address, whoever invites it
MAX_AMOUNT = Decimal(10) ** 12  # what Referral.purchase_amount holds (12 digits and cents)
CENT = Decimal("0.01")


def referral_policy_get() -> ReferralPolicy:
    """The policy row (created by a migration; recreated with the defaults if someone removed it)."""
    policy, _ = ReferralPolicy.objects.get_or_create(pk=1)
    return policy


def referral_code_create(*, member: Member) -> ReferralCode:
    """Give a new member a code (``member_enroll`` calls it), drawn again while it is taken.

    Like member numbers: the unique constraint still refuses the one-in-10^11 race of two
    new members drawing one free code at the same instant.
    """
    code = rules.code_new()
    while ReferralCode.objects.filter(code=code).exists():
        code = rules.code_new()
    return ReferralCode.objects.create(member=member, code=code)


def referral_code_for(*, member: Member) -> ReferralCode:
    """The member's code, made on first need. Race-safe: two first reads at once make one code."""
    existing = ReferralCode.objects.filter(member_id=member.pk).first()
    if existing is not None:
        return existing
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(member=member, code=rules.code_new())
        except IntegrityError:
            existing = ReferralCode.objects.filter(member_id=member.pk).first()
            if existing is not None:
                return existing  # the other request made it
    raise Conflict("No free referral code was found; try again.")  # 5 collisions in 6.6e11: never in practice


def member_device_record(*, member: Member, device_hash: str, now: datetime | None = None) -> None:
    """Remember that ``member`` used the device with this cookie hash (idempotent; blank: nothing)."""
    if not device_hash:
        return
    now = now or timezone.now()
    updated = MemberDevice.objects.filter(member_id=member.pk, device_hash=device_hash).update(last_seen_at=now)
    if not updated:
        try:
            with transaction.atomic():
                MemberDevice.objects.create(
                    member=member, device_hash=device_hash, first_seen_at=now, last_seen_at=now
                )
        except IntegrityError:
            pass  # recorded by a concurrent log-in


def referral_join(
    *,
    referee: Member,
    referrer: Member,
    device_hash: str = "",
    client_address: str | None = None,
    now: datetime | None = None,
) -> Referral:
    """Link a new member to the member whose code they joined with (``member_enroll`` calls it).

    A self-referral (the same normalised e-mail, the same phone, a device the referrer
    used) is recorded ``declined`` with its reasons and will pay nothing. A suspicious one
    (too many sign-ups with a code from ``client_address`` today, a referrer whose referees
    never buy) is ``flagged`` for staff. An invitation the referrer sent to this address
    becomes the referral. Raises ``Conflict`` if the member already has a referral.
    """
    now = now or timezone.now()
    policy = referral_policy_get()
    declined = _self_referral_reasons(referrer=referrer, referee=referee, device_hash=device_hash)
    flags = [] if declined else _suspicions(policy=policy, referrer=referrer, client_address=client_address, now=now)
    values = {
        "referee": referee,
        "status": ReferralStatus.DECLINED if declined else ReferralStatus.FLAGGED if flags else ReferralStatus.JOINED,
        "joined_at": now,
        "signup_address": client_address,
        "signup_device": device_hash,
        "decline_reasons": declined,
        "flag_reasons": flags,
    }
    with transaction.atomic():
        if Referral.objects.filter(referee_id=referee.pk).exists():
            raise Conflict("This member already joined with a referral.")
        invitation = (
            Referral.objects.filter(
                referrer_id=referrer.pk,
                status=ReferralStatus.INVITED,
                invited_email=rules.email_canonical(referee.user.email),
            )
            .order_by("pk")
            .first()
        )
        if invitation is None:
            return Referral.objects.create(referrer=referrer, **values)
        for name, value in values.items():
            setattr(invitation, name, value)
        invitation.save()
        return invitation


def _self_referral_reasons(*, referrer: Member, referee: Member, device_hash: str) -> list[str]:
    found = []
    if rules.email_canonical(referrer.user.email) == rules.email_canonical(referee.user.email):
        found.append(reasons.SAME_EMAIL)
    if referrer.phone and referrer.phone == referee.phone:
        found.append(reasons.SAME_PHONE)
    if device_hash and MemberDevice.objects.filter(member_id=referrer.pk, device_hash=device_hash).exists():
        found.append(reasons.SAME_DEVICE)
    return found


def _suspicions(*, policy: ReferralPolicy, referrer: Member, client_address: str | None, now: datetime) -> list[str]:
    found = []
    if client_address:
        today = program_day_start(program_date(now))
        same_address = Referral.objects.filter(signup_address=client_address, joined_at__gte=today).count()
        if same_address >= policy.signups_per_address_per_day:
            found.append(reasons.SAME_ADDRESS)
    cutoff = now - timedelta(days=policy.dormant_days)
    earlier = Referral.objects.filter(referrer_id=referrer.pk, joined_at__lte=cutoff).exclude(
        status=ReferralStatus.DECLINED
    )
    counts = earlier.aggregate(joined=Count("pk"), bought=Count("pk", filter=Q(first_purchase_at__isnull=False)))
    if counts["joined"] >= policy.dormant_referees and counts["bought"] == 0:
        found.append(reasons.DORMANT_REFEREES)
    return found


def referral_invite(*, referrer: Member, email: str, site_url: str, now: datetime | None = None) -> None:
    """Invite a friend by e-mail (the referral link, in the referrer's language), once the transaction commits.

    Never tells whether the address belongs to a member: a known address is recorded and
    counted like any other, and gets no e-mail. At most ``invitations_per_day`` a referrer
    (``Conflict`` beyond), one e-mail an hour to one address whoever invites it, and one
    invitation row per address and referrer. Refused (``MemberSuspended``, ``MemberClosed``)
    unless the referrer is active. Locks the referrer's account (the daily count).
    """
    from members.services import email_budget_take, username_from_email  # members.services imports this module

    now = now or timezone.now()
    policy = referral_policy_get()
    canonical = rules.email_canonical(email)
    with transaction.atomic():
        locked = ledger_locks.account_for_update(referrer.account.pk)
        if locked.member_status == MemberStatus.SUSPENDED:
            raise MemberSuspended()
        if locked.member_status == MemberStatus.CLOSED:
            raise MemberClosed()
        if Referral.objects.filter(referrer_id=referrer.pk, invited_email=canonical).exists():
            return
        today = program_day_start(program_date(now))
        sent = Referral.objects.filter(referrer_id=referrer.pk, created_at__gte=today).exclude(invited_email="")
        if sent.count() >= policy.invitations_per_day:
            raise Conflict(
                "You already sent today's invitations; try again tomorrow.", limit=policy.invitations_per_day
            )
        Referral.objects.create(referrer=referrer, status=ReferralStatus.INVITED, invited_email=canonical)
        known = get_user_model().objects.filter(username=username_from_email(email)).exists()
        if known or not email_budget_take(email=email, purpose="referral-invite", per_hour=INVITE_EMAILS_PER_HOUR):
            return
        code = referral_code_for(member=referrer)
        context = {
            "link": site_url.rstrip("/") + reverse("portal:join", args=[code.code]),
            "referrer_name": referrer.user.get_full_name() or referrer.user.email,
            "points": policy.referee_points,
        }
        with translation.override(referrer.language):
            subject = render_to_string("portal/email/referral_invite_subject.txt", context).strip()
            body = render_to_string("portal/email/referral_invite_body.txt", context)
        transaction.on_commit(lambda: send_mail(subject, body, None, [email]))


def referral_purchase_record(
    *, member: Member, amount: Decimal, currency: str, purchase_ref: str, now: datetime | None = None
) -> Referral | None:
    """Tell referrals that ``member`` made a purchase; the earning engine calls it in the purchase's transaction.

    The first purchase of at least the policy's minimum, in the program's currency
    (``LOYALTY_CURRENCY``), qualifies the member's referral and, unless it is flagged (then
    staff decide), credits both members a ``bonus`` through the ledger, once: the referral
    is locked and each credit's idempotency key is the referral's, so a repeat or a
    concurrent call pays nothing more. Past the referrer's monthly cap only the new member
    is paid; a member the ledger refuses (suspended, closed) is not paid: both recorded in
    ``unpaid_reasons``. Any purchase counts as "bought" for the suspicion check. Returns
    the referral, or ``None`` when the member has none open. Raises ``ValidationError``
    for an amount that is not a non-negative ``Decimal``.
    """
    if not isinstance(amount, Decimal) or not amount.is_finite() or not 0 <= amount < MAX_AMOUNT:
        raise ValidationError("The purchase amount is a Decimal from 0 to under 10^12.", field="amount")
    if not isinstance(currency, str) or len(currency) != 3:
        raise ValidationError("The currency is a three-letter code.", field="currency")
    now = now or timezone.now()
    found = Referral.objects.filter(referee_id=member.pk, status__in=OPEN_STATUSES).values_list("pk", flat=True)
    if not (referral_id := found.first()):
        return None
    policy = referral_policy_get()
    with transaction.atomic():
        referral = _lock(referral_id)
        if referral.status not in OPEN_STATUSES:
            return referral  # settled by a concurrent call
        referral.first_purchase_at = referral.first_purchase_at or now
        qualifies = currency.upper() == settings.LOYALTY_CURRENCY and amount >= policy.min_purchase_amount
        if qualifies and referral.qualified_at is None:
            referral.qualified_at = now
            referral.purchase_ref = purchase_ref[:128]
            referral.purchase_amount = amount.quantize(CENT, ROUND_HALF_EVEN)
            referral.purchase_currency = currency.upper()
            if referral.status != ReferralStatus.FLAGGED:
                referral.status = ReferralStatus.QUALIFIED
                _pay(referral, policy=policy, now=now)
        referral.save()
    return referral


def referral_approve(*, referral: Referral, actor, now: datetime | None = None) -> Referral:
    """Staff approve a flagged referral: paid at once if the friend already qualified, else when they do.

    Raises ``PermissionDenied`` without ``referrals.review_referral``, ``Conflict`` unless
    the referral is flagged (a double click approves once). Recorded with who and when.
    """
    _check_reviewer(actor)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(referral.pk)
        if locked.status != ReferralStatus.FLAGGED:
            raise Conflict(f"Only a flagged referral can be approved; this one is {locked.get_status_display()}.")
        locked.reviewed_by, locked.reviewed_at = actor, now
        if locked.qualified_at is None:
            locked.status = ReferralStatus.APPROVED
        else:
            locked.status = ReferralStatus.QUALIFIED
            _pay(locked, policy=referral_policy_get(), now=now)
        locked.save()
    return locked


def referral_decline(*, referral: Referral, actor, reason: str, now: datetime | None = None) -> Referral:
    """Staff decline a referral that has not been paid, with a reason; it never pays.

    Raises ``PermissionDenied`` without ``referrals.review_referral``, ``ValidationError``
    without a reason, ``Conflict`` once it is credited or declined.
    """
    _check_reviewer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the referral is declined.", field="reason")
    if len(reason) > Referral._meta.get_field("review_note").max_length:
        raise ValidationError("The reason is too long (255 characters at most).", field="reason")
    with transaction.atomic():
        locked = _lock(referral.pk)
        if locked.status not in OPEN_STATUSES:
            raise Conflict(f"This referral is {locked.get_status_display()}: it can no longer be declined.")
        locked.status = ReferralStatus.DECLINED
        locked.decline_reasons = [*locked.decline_reasons, reasons.STAFF]
        locked.review_note, locked.reviewed_by, locked.reviewed_at = reason, actor, now or timezone.now()
        locked.save()
    return locked


def referral_member_merge(*, source: Member, survivor: Member) -> None:
    """Move the source's referrals, as referrer and as referee, and its devices to the survivor.

    ``member_merge`` calls it in its transaction. A referral between the two members
    cannot move (one cannot refer oneself); if the survivor already joined with a
    referral, the source's own stays with the source. Either is declined unless it was
    paid already. The source's code keeps working: it leads to the survivor
    (``selectors.referral_code_member``). Locks the referrals in id order.
    """
    with transaction.atomic():
        ids = Referral.objects.filter(Q(referrer_id=source.pk) | Q(referee_id=source.pk)).values_list("pk", flat=True)
        survivor_joined = Referral.objects.filter(referee_id=survivor.pk).exists()
        for referral in lock_objects.referrals_for_update(ids):
            other = referral.referrer_id if referral.referee_id == source.pk else referral.referee_id
            if other == survivor.pk:
                _decline_unpaid(referral, reasons.MERGED_SELF)
                continue
            if referral.referee_id == source.pk:
                if survivor_joined:
                    _decline_unpaid(referral, reasons.MERGED_DUPLICATE)
                    continue
                referral.referee_id, survivor_joined = survivor.pk, True
            if referral.referrer_id == source.pk:
                referral.referrer_id = survivor.pk
            referral.save(update_fields=["referrer", "referee", "updated_at"])
        known = MemberDevice.objects.filter(member_id=survivor.pk).values("device_hash")
        MemberDevice.objects.filter(member_id=source.pk).exclude(device_hash__in=known).update(member_id=survivor.pk)


def _decline_unpaid(referral: Referral, reason: str) -> None:
    if referral.status in (ReferralStatus.CREDITED, ReferralStatus.DECLINED):
        return
    referral.status = ReferralStatus.DECLINED
    referral.decline_reasons = [*referral.decline_reasons, reason]
    referral.save(update_fields=["status", "decline_reasons", "updated_at"])


def _lock(referral_id: int) -> Referral:
    """Lock both members' accounts (id order), then the referral, and return it fresh."""
    members = Referral.objects.filter(pk=referral_id).values_list("referrer__account", "referee__account").get()
    ledger_locks.accounts_for_update([account for account in members if account is not None])
    return lock_objects.referral_for_update(referral_id)


def _pay(referral: Referral, *, policy: ReferralPolicy, now: datetime) -> None:
    """Credit the new member, then the referrer within the cap; record what was not paid. Accounts are locked."""
    unpaid: list[str] = []
    referral.referee_entry = _credit(referral, "referee", policy.referee_points, memos.REFERRAL_WELCOME, now, unpaid)
    if _rewarded_in_month(referral.referrer_id, now) >= policy.monthly_cap:
        unpaid.append(reasons.REFERRER_CAPPED)
    else:
        referral.referrer_entry = _credit(
            referral, "referrer", policy.referrer_points, memos.REFERRAL_REFERRER, now, unpaid
        )
    referral.unpaid_reasons = unpaid
    referral.credited_at = now
    paid_nothing = referral.referee_entry is None and referral.referrer_entry is None
    if paid_nothing and unpaid:
        referral.status = ReferralStatus.DECLINED
        referral.decline_reasons = [*referral.decline_reasons, *unpaid]
    else:
        referral.status = ReferralStatus.CREDITED


def _credit(referral: Referral, side: str, points: int, memo_code: str, now: datetime, unpaid: list[str]):
    if points <= 0:
        return None
    member = referral.referee if side == "referee" else referral.referrer
    try:
        entry = ledger.credit(
            member.account,
            points,
            EntryKind.BONUS,
            cause=referral,
            memo_code=memo_code,
            idempotency_key=f"referral:{referral.pk}:{side}",
            now=now,
        )
    except (MemberSuspended, MemberClosed) as refused:
        unpaid.append(f"{side}_{refused.code}")
        return None
    outbox.event_record(
        type=EventType.REFERRAL_CREDITED,
        member=member,
        now=now,
        data={
            "member": member.member_number,
            "role": side,
            "points": points,
            "balance": entry.balance_after,
            "referral": referral.pk,
        },
    )
    return entry


def _rewarded_in_month(referrer_id: int, now: datetime) -> int:
    """Referrals that paid this referrer in the program's calendar month of ``now``."""
    first_day = program_date(now).replace(day=1)
    return Referral.objects.filter(
        referrer_id=referrer_id,
        referrer_entry__isnull=False,
        credited_at__gte=program_day_start(first_day),
        credited_at__lt=program_day_start(add_months(first_day, 1)),
    ).count()


def _check_reviewer(actor) -> None:
    if not (actor is not None and actor.is_active and actor.is_staff and actor.has_perm(REVIEW_PERMISSION)):
        raise PermissionDenied("You are not allowed to review referrals.")
