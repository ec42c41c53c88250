"""Referrals through their services: joining with a code, the guards, the purchase that pays, review, merge."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from loyalty.exceptions import Conflict, InvalidReferralCode, PermissionDenied, ValidationError
from loyalty.ledger.memos import REFERRAL_REFERRER, REFERRAL_WELCOME
from loyalty.ledger.models import Entry, EntryKind
from members.models import Member, MemberStatus
from members.referrals import rules
from members.referrals.models import MemberDevice, Referral, ReferralCode, ReferralPolicy, ReferralStatus
from members.referrals.selectors import referral_code_member, referral_summary
from members.referrals.services import (
    member_device_record,
    referral_approve,
    referral_code_for,
    referral_decline,
    referral_invite,
    referral_member_merge,
    referral_purchase_record,
)
from members.services import member_enroll, member_status_change
from tests.factories.members import MemberFactory
from tests.helpers import ledger_state

pytestmark = pytest.mark.django_db

EUR = "EUR"
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def policy():
    policy = ReferralPolicy.objects.get(pk=1)
    policy.referrer_points, policy.referee_points = 500, 250
    policy.min_purchase_amount = Decimal("20.00")
    policy.save()
    return policy


@pytest.fixture
def referrer(policy):
    return MemberFactory(email="ada@example.com", phone="+33 6 12 34 56 78")


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_user("pm", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Program manager"))
    return user


def code_of(member) -> str:
    return ReferralCode.objects.get(member=member).code


def join(referrer, email="grace@example.com", **kwargs) -> Member:
    return MemberFactory(email=email, referral_code=code_of(referrer), **kwargs)


def buy(member, amount="20.00", ref="P-1", currency=EUR, now=None):
    return referral_purchase_record(
        member=member, amount=Decimal(amount), currency=currency, purchase_ref=ref, now=now or NOW
    )


def balance(member) -> int:
    member.account.refresh_from_db()
    return member.account.balance


# Codes


def test_every_member_gets_a_code_of_unambiguous_characters_at_enrolment(policy):
    codes = [code_of(MemberFactory()) for _ in range(20)]

    assert len(set(codes)) == 20
    assert all(len(code) == 8 and set(code) <= set(rules.CODE_ALPHABET) for code in codes)
    assert not set("01OILU") & set(rules.CODE_ALPHABET)


def test_a_member_enrolled_before_referrals_gets_one_code_on_first_read(policy):
    member = MemberFactory()
    ReferralCode.objects.filter(member=member).delete()

    first, second = referral_code_for(member=member), referral_code_for(member=member)

    assert first == second
    assert ReferralCode.objects.filter(member=member).count() == 1


def test_a_code_is_found_whatever_its_case_spaces_and_dashes(referrer):
    code = code_of(referrer)

    assert referral_code_member(code=f" {code[:4].lower()}-{code[4:]} ") == referrer


@pytest.mark.parametrize("code", ["", "ZZZZZZZZ", "not a code", "A" * 200])
def test_an_unknown_code_enrols_no_one(referrer, code):
    with pytest.raises(InvalidReferralCode):
        member_enroll(email="grace@example.com", referral_code=code or "?")

    assert Member.objects.count() == 1
    assert Referral.objects.count() == 0


def test_a_closed_members_code_is_not_valid(referrer):
    member_status_change(member=referrer, status=MemberStatus.CLOSED, reason="Asked", actor=None)

    with pytest.raises(InvalidReferralCode):
        join(referrer)
    assert Referral.objects.count() == 0


def test_an_unknown_code_is_refused_before_a_known_email_is_looked_at(referrer):
    with pytest.raises(InvalidReferralCode):
        member_enroll(email="ada@example.com", referral_code="ZZZZZZZZ")


# Joining and the guards


def test_a_friend_who_joins_with_the_code_is_the_referrers_referee(referrer):
    friend = join(referrer)

    referral = Referral.objects.get()
    assert (referral.referrer, referral.referee, referral.status) == (referrer, friend, ReferralStatus.JOINED)
    assert referral.joined_at is not None


@pytest.mark.parametrize(
    ("referrer_email", "email", "extra", "reasons"),
    [
        ("adalovelace@gmail.com", "ada.lovelace@gmail.com", {}, ["same_email"]),
        ("adalovelace@gmail.com", "Ada.Love.lace+shop@googlemail.com", {}, ["same_email"]),
        ("ada@outlook.com", "ada+promo@outlook.com", {}, ["same_email"]),
        ("ada@example.com", "friend@example.com", {"phone": "0033612345678"}, ["same_phone"]),
        ("ada@example.com", "friend@example.com", {"device_hash": "d" * 64}, ["same_device"]),
    ],
    ids=["gmail-dots", "googlemail-dots-and-tag", "outlook-tag", "same-phone", "same-device"],
)
def test_a_self_referral_is_declined_with_why_and_pays_nothing(policy, referrer_email, email, extra, reasons):
    referrer = MemberFactory(email=referrer_email, phone="+33612345678")
    member_device_record(member=referrer, device_hash="d" * 64)
    before = ledger_state(referrer.account)

    friend = join(referrer, email=email, **extra)

    referral = Referral.objects.get()
    assert (referral.status, referral.decline_reasons) == (ReferralStatus.DECLINED, reasons)
    assert buy(friend, "500.00") is None
    assert ledger_state(referrer.account) == before
    assert balance(friend) == 0


def test_the_referrers_own_address_is_refused_as_a_known_email(referrer):
    with pytest.raises(Conflict):
        join(referrer, email="ADA@example.com")
    assert Referral.objects.count() == 0


def test_every_self_referral_reason_is_recorded_together(referrer):
    member_device_record(member=referrer, device_hash="e" * 64)

    join(referrer, email="ada+x@example.com", phone="+33612345678", device_hash="e" * 64)

    assert Referral.objects.get().decline_reasons == ["same_phone", "same_device"]


@pytest.mark.parametrize(
    ("referrer_email", "friend_email"),
    [("a.b@outlook.com", "ab@outlook.com"), ("ab@example.com", "ab+x@example.org"), ("a.b@yahoo.com", "ab@yahoo.com")],
)
def test_addresses_that_reach_other_mailboxes_are_not_self_referrals(policy, referrer_email, friend_email):
    referrer = MemberFactory(email=referrer_email)

    join(referrer, email=friend_email)

    assert Referral.objects.get().status == ReferralStatus.JOINED


@pytest.mark.parametrize(
    ("email", "canonical"),
    [
        ("Ada.Lovelace+shop@GMail.com", "adalovelace@gmail.com"),
        ("a.d.a@googlemail.com", "ada@gmail.com"),
        ("ada.l+x@icloud.com", "ada.l@icloud.com"),
        ("ada.l+x@example.com", "ada.l+x@example.com"),
        ("no-at-sign", "no-at-sign"),
    ],
)
def test_email_canonical(email, canonical):
    assert rules.email_canonical(email) == canonical


def test_too_many_sign_ups_from_one_address_in_a_day_are_flagged(referrer, policy):
    policy.signups_per_address_per_day = 2
    policy.save()

    friends = [
        MemberFactory(email=f"f{n}@example.com", referral_code=code_of(referrer), client_address="203.0.113.9")
        for n in range(3)
    ]
    MemberFactory(email="other@example.com", referral_code=code_of(referrer), client_address="203.0.113.10")

    statuses = list(Referral.objects.order_by("pk").values_list("status", "flag_reasons"))
    assert statuses == [
        ("joined", []),
        ("joined", []),
        ("flagged", ["same_address"]),
        ("joined", []),
    ]
    assert friends[2].referral.status == ReferralStatus.FLAGGED


def test_a_referrer_whose_referees_never_buy_is_flagged(referrer, policy):
    policy.dormant_referees, policy.dormant_days = 2, 30
    policy.save()
    first, second = join(referrer, "f1@example.com"), join(referrer, "f2@example.com")
    Referral.objects.update(joined_at=NOW - timedelta(days=31))

    third = join(referrer, "f3@example.com")
    assert third.referral.flag_reasons == ["dormant_referees"]

    buy(first, "1.00")  # any purchase counts as buying
    assert join(referrer, "f4@example.com").referral.status == ReferralStatus.JOINED
    assert second.referral.status == ReferralStatus.JOINED


# The purchase that pays


def test_the_first_qualifying_purchase_credits_both_once(referrer):
    friend = join(referrer)

    referral = buy(friend, "20.00", ref="T-42")

    assert referral.status == ReferralStatus.CREDITED
    assert (balance(referrer), balance(friend)) == (500, 250)
    assert (referral.purchase_ref, referral.purchase_amount, referral.qualified_at) == ("T-42", Decimal("20.00"), NOW)
    entries = Entry.objects.filter(kind=EntryKind.BONUS).order_by("pk")
    assert [(e.account_id, e.amount, e.memo_code, e.cause) for e in entries] == [
        (friend.account.pk, 250, REFERRAL_WELCOME, referral),
        (referrer.account.pk, 500, REFERRAL_REFERRER, referral),
    ]
    assert (referral.referee_entry, referral.referrer_entry) == (entries[0], entries[1])
    assert referral_summary(member=referrer) == {"joined": 1, "qualified": 1, "points": 500}

    assert buy(friend, "90.00", ref="T-43") is None
    assert Entry.objects.count() == 2
    assert (balance(referrer), balance(friend)) == (500, 250)


def test_the_same_purchase_recorded_twice_pays_once(referrer):
    friend = join(referrer)
    referral = Referral.objects.get()
    buy(friend)
    Referral.objects.filter(pk=referral.pk).update(status=ReferralStatus.QUALIFIED)  # as if the first had not ended

    referral_purchase_record(member=friend, amount=Decimal(50), currency=EUR, purchase_ref="P-1")

    assert Entry.objects.count() == 2  # the ledger's idempotency key is the referral's
    assert (balance(referrer), balance(friend)) == (500, 250)


@pytest.mark.parametrize(
    ("amount", "currency"), [("19.99", "EUR"), ("0.00", "EUR"), ("500.00", "USD")], ids=["smaller", "zero", "usd"]
)
def test_a_purchase_below_the_minimum_or_in_another_currency_pays_nothing(referrer, amount, currency):
    friend = join(referrer)
    before = ledger_state(referrer.account)

    referral = buy(friend, amount, currency=currency)

    assert (referral.status, referral.qualified_at, referral.first_purchase_at) == ("joined", None, NOW)
    assert ledger_state(referrer.account) == before
    assert balance(friend) == 0

    later = buy(friend, "25.00", ref="P-2", now=NOW + timedelta(days=1))
    assert (later.status, later.purchase_ref, later.first_purchase_at) == ("credited", "P-2", NOW)


@pytest.mark.parametrize("amount", [20, 20.0, Decimal("-1"), Decimal("NaN"), Decimal("Infinity"), Decimal(10) ** 12])
def test_an_amount_that_is_not_a_non_negative_decimal_is_refused(referrer, amount):
    friend = join(referrer)

    with pytest.raises(ValidationError):
        referral_purchase_record(member=friend, amount=amount, currency=EUR, purchase_ref="P")
    assert Referral.objects.get().first_purchase_at is None


def test_a_member_without_a_referral_costs_one_query(referrer, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert buy(referrer) is None


def test_past_the_monthly_cap_only_the_new_member_is_paid(referrer, policy):
    policy.monthly_cap = 1
    policy.save()
    first, second, third = (join(referrer, f"f{n}@example.com") for n in range(3))

    buy(first, now=datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    capped = buy(second, now=datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    next_month = buy(third, now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))

    assert (capped.status, capped.unpaid_reasons, capped.referrer_entry) == (
        "credited",
        ["referrer_monthly_cap"],
        None,
    )
    assert (balance(second), balance(third)) == (250, 250)
    assert next_month.referrer_entry.amount == 500
    assert balance(referrer) == 1000
    assert referral_summary(member=referrer) == {"joined": 3, "qualified": 3, "points": 1000}


def test_a_suspended_referrer_is_not_paid_and_the_reason_is_kept(referrer):
    friend = join(referrer)
    member_status_change(member=referrer, status=MemberStatus.SUSPENDED, reason="Check", actor=None)
    before = ledger_state(referrer.account)

    referral = buy(friend)

    assert (referral.status, referral.unpaid_reasons) == ("credited", ["referrer_member_suspended"])
    assert ledger_state(referrer.account) == before
    assert balance(friend) == 250


def test_a_referral_whose_two_members_are_refused_is_declined(referrer):
    friend = join(referrer)
    member_status_change(member=referrer, status=MemberStatus.CLOSED, reason="Asked", actor=None)
    member_status_change(member=friend, status=MemberStatus.SUSPENDED, reason="Check", actor=None)

    referral = buy(friend)

    assert referral.status == ReferralStatus.DECLINED
    assert referral.decline_reasons == ["referee_member_suspended", "referrer_member_closed"]
    assert Entry.objects.filter(kind=EntryKind.BONUS).count() == 0


# Staff review


@pytest.fixture
def flagged(referrer, policy):
    policy.signups_per_address_per_day = 1
    policy.save()
    MemberFactory(email="f0@example.com", referral_code=code_of(referrer), client_address="198.51.100.1")
    friend = MemberFactory(email="f1@example.com", referral_code=code_of(referrer), client_address="198.51.100.1")
    assert friend.referral.status == ReferralStatus.FLAGGED
    return friend


def test_a_flagged_referral_qualifies_but_waits_for_staff_then_approval_pays(flagged, referrer, staff):
    referral = buy(flagged)
    assert (referral.status, referral.qualified_at) == ("flagged", NOW)
    assert balance(referrer) == balance(flagged) == 0

    approved = referral_approve(referral=referral, actor=staff, now=NOW + timedelta(hours=1))

    assert (approved.status, approved.reviewed_by, approved.reviewed_at) == (
        "credited",
        staff,
        NOW + timedelta(hours=1),
    )
    assert (balance(referrer), balance(flagged)) == (500, 250)
    with pytest.raises(Conflict):
        referral_approve(referral=referral, actor=staff)  # a double click
    assert Entry.objects.count() == 2


def test_a_referral_approved_before_the_purchase_pays_when_the_friend_buys(flagged, referrer, staff):
    approved = referral_approve(referral=flagged.referral, actor=staff)
    assert approved.status == ReferralStatus.APPROVED

    assert buy(flagged).status == ReferralStatus.CREDITED
    assert (balance(referrer), balance(flagged)) == (500, 250)


def test_a_declined_referral_never_pays(flagged, referrer, staff):
    declined = referral_decline(referral=flagged.referral, actor=staff, reason="Same household farm")

    assert (declined.status, declined.decline_reasons, declined.review_note) == (
        "declined",
        ["staff"],
        "Same household farm",
    )
    assert declined.reviewed_by == staff
    assert buy(flagged) is None
    assert balance(referrer) == balance(flagged) == 0
    with pytest.raises(Conflict):
        referral_approve(referral=declined, actor=staff)


def test_declining_needs_a_reason(flagged, staff):
    with pytest.raises(ValidationError):
        referral_decline(referral=flagged.referral, actor=staff, reason="  ")
    assert Referral.objects.get(pk=flagged.referral.pk).status == ReferralStatus.FLAGGED


@pytest.mark.parametrize("group", ["Analyst", None])
def test_only_reviewers_approve_or_decline(flagged, django_user_model, group):
    user = django_user_model.objects.create_user("someone", password="x", is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))

    with pytest.raises(PermissionDenied):
        referral_approve(referral=flagged.referral, actor=user)
    with pytest.raises(PermissionDenied):
        referral_decline(referral=flagged.referral, actor=user, reason="No")
    assert Referral.objects.get(pk=flagged.referral.pk).status == ReferralStatus.FLAGGED


def test_a_support_agent_may_review(flagged, django_user_model):
    agent = django_user_model.objects.create_user("agent", password="x", is_staff=True)
    agent.groups.add(Group.objects.get(name="Support agent"))

    assert referral_approve(referral=flagged.referral, actor=agent).status == ReferralStatus.APPROVED


# Invitations


def test_an_invitation_mails_the_link_in_the_referrers_language(referrer, django_capture_on_commit_callbacks):
    referrer.language = "fr"
    referrer.save()
    with django_capture_on_commit_callbacks(execute=True):
        referral_invite(referrer=referrer, email="Grace@Example.com", site_url="https://loyalty.example.com/")

    (message,) = mail.outbox
    assert message.to == ["Grace@Example.com"]
    assert f"https://loyalty.example.com/join/{code_of(referrer)}/" in message.body
    assert message.subject == f"{referrer.user.get_full_name()} vous invite au programme de fidélité"
    invitation = Referral.objects.get()
    assert (invitation.status, invitation.invited_email, invitation.referee) == ("invited", "grace@example.com", None)

    friend = MemberFactory(email="grace@example.com", referral_code=code_of(referrer))
    assert Referral.objects.get() == friend.referral
    assert friend.referral.status == ReferralStatus.JOINED


def test_inviting_a_member_looks_the_same_and_sends_nothing(referrer, django_capture_on_commit_callbacks):
    MemberFactory(email="bob@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        referral_invite(referrer=referrer, email="bob@example.com", site_url="https://x.example/")

    assert mail.outbox == []
    assert Referral.objects.get().status == ReferralStatus.INVITED


def test_invitations_are_capped_per_day(referrer, policy, django_capture_on_commit_callbacks):
    policy.invitations_per_day = 2
    policy.save()
    with django_capture_on_commit_callbacks(execute=True):
        referral_invite(referrer=referrer, email="f1@example.com", site_url="https://x.example/")
        referral_invite(referrer=referrer, email="f1@example.com", site_url="https://x.example/")  # a repeat: no row
        referral_invite(referrer=referrer, email="f2@example.com", site_url="https://x.example/")
        with pytest.raises(Conflict):
            referral_invite(referrer=referrer, email="f3@example.com", site_url="https://x.example/")

    assert sorted(Referral.objects.values_list("invited_email", flat=True)) == ["f1@example.com", "f2@example.com"]
    assert len(mail.outbox) == 2


# Merge


def test_a_merge_moves_the_sources_referrals_both_ways(referrer, policy):
    source = join(referrer, "src@example.com")
    survivor = MemberFactory(email="survivor@example.com")
    friend = join(source, "friend-of-src@example.com")
    member_device_record(member=source, device_hash="f" * 64)

    referral_member_merge(source=source, survivor=survivor)

    assert Referral.objects.get(referee=friend).referrer == survivor
    assert Referral.objects.get(referee=survivor).referrer == referrer
    assert not Referral.objects.filter(referrer=source).exists()
    assert MemberDevice.objects.get(device_hash="f" * 64).member == survivor


def test_a_merge_of_a_referrer_and_their_referee_declines_the_referral(referrer):
    friend = join(referrer)

    referral_member_merge(source=friend, survivor=referrer)

    referral = Referral.objects.get()
    assert (referral.referrer, referral.referee, referral.status) == (referrer, friend, "declined")
    assert referral.decline_reasons == ["merged_self"]


def test_a_merge_keeps_the_survivors_own_referral(referrer, policy):
    other = MemberFactory(email="other@example.com")
    source, survivor = join(referrer, "src@example.com"), join(other, "survivor@example.com")

    referral_member_merge(source=source, survivor=survivor)

    assert Referral.objects.get(referee=survivor).referrer == other
    kept = Referral.objects.get(referee=source)
    assert (kept.status, kept.decline_reasons) == ("declined", ["merged_duplicate"])


def test_a_merged_members_code_leads_to_the_survivor(referrer, policy):
    survivor = MemberFactory(email="survivor@example.com")
    Member.objects.filter(pk=referrer.pk).update(merged_into=survivor)

    assert referral_code_member(code=code_of(referrer)) == survivor


def test_an_amount_with_more_than_cents_qualifies_by_its_value_and_is_kept_in_cents(referrer):
    friend = join(referrer)

    assert buy(friend, "19.999").status == ReferralStatus.JOINED  # not rounded up to the minimum
    referral = buy(friend, "20.004", ref="P-2")

    assert (referral.status, referral.purchase_amount) == ("credited", Decimal("20.00"))


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033 (0)6", None),
        ("0033612345678", "+33612345678"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+44.20.7946.0958", "+442079460958"),
        ("", ""),
        ("   ", ""),
        ("06 12 34 56 78", None),
        ("+33 6 12", None),
        ("+336123456789012345", None),
        ("+33 6 12 34 56 7a", None),
    ],
)
def test_phone_normalize(raw, normalised):
    from members.phones import phone_normalize

    if normalised is None:
        with pytest.raises(ValidationError):
            phone_normalize(raw)
    else:
        assert phone_normalize(raw) == normalised
