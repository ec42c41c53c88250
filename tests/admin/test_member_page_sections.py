"""The member page's sections of what the member did and was sent, and their buttons (issue 12).

Purchases with their breakdown and returns, vouchers, holds, referrals, notifications and
webhook deliveries: the latest rows of each, a link to the full list, and the buttons that
cancel a voucher, void a hold or resend a webhook, each through its service, naming the staff
user, once however often it is pressed.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from loyalty.ledger import services as ledger
from loyalty.ledger.audit import audit
from loyalty.ledger.models import Entry, EntryKind, Hold, HoldStatus
from loyalty.outbox import services as outbox
from loyalty.outbox.models import OutboxEvent
from loyalty.partners.services import presence_code_check, presence_code_issue
from loyalty.webhooks import services as webhooks
from loyalty.webhooks.models import WebhookDelivery
from members.notifications.models import Notification
from members.referrals.services import referral_code_for
from members.services import member_status_change
from members.support import SUPPORT_LATEST
from rewards.admin import code_masked
from rewards.models import Redemption, Voucher, VoucherStatus
from rewards.payments import points_payment_hold
from rewards.services import redemption_create, voucher_use
from tests.factories.campaigns import item, multiplier_campaign, purchase_post, return_post
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.rewards import RewardFactory
from tests.factories.tiers import program_tiers
from tests.helpers import ledger_state

pytestmark = pytest.mark.django_db

_keys = iter(range(1, 10**9))


@pytest.fixture
def partner(settings):
    settings.LOYALTY_WEBHOOK_ALLOW_PRIVATE = True  # the endpoint is on 127.0.0.1 (nothing is sent in these tests)
    partner = PartnerFactory(name="Corner Shop")
    webhooks.endpoint_create(
        partner=partner,
        url="http://127.0.0.1:9/hooks/",
        event_types=["points.earned", "voucher.issued", "member.enrolled"],
    )
    return partner


def rich_member(partner, **names):
    member = MemberFactory(enrolled_by=partner, **names)
    ledger.credit(member.account, 5000, memo="Welcome")
    return member


@pytest.fixture
def member(partner):
    return rich_member(partner, first_name="Ada", last_name="Lovelace")


def page_url(member):
    return reverse("admin:members_member_change", args=[member.pk])


def dispatch(member):
    """What the outbox would send after commit (the tests' transaction never commits): notifications and webhooks."""
    events = OutboxEvent.objects.filter(member=member, dispatched_at=None).values_list("pk", flat=True)
    outbox.events_dispatch(event_ids=list(events))


def buy(member, partner, price="20.00"):
    return purchase_post(member, item(unit_price=price), partner=partner, now=timezone.now())


def redeem(member, **reward_fields):
    reward = RewardFactory(**{"points_cost": 100, "stock": 50, "cancel_window_hours": 24, **reward_fields})
    result = redemption_create(member=member, reward=reward, idempotency_key=f"k-{next(_keys)}")
    return result.vouchers[0]


def hold_at_till(member, partner, points=30):
    _row, code = presence_code_issue(member=member)
    return points_payment_hold(
        partner=partner,
        member=member,
        basket_amount=Decimal("10.00"),
        currency="EUR",
        points=points,
        external_id=f"B-{next(_keys)}",
        proof=presence_code_check(member=member, code=code),
    ).payment.hold


def history(member, partner, times=1):
    """``times`` of each row the sections show; the member brought a friend in each time, and was brought in."""
    for _ in range(times):
        buy(member, partner)
        redeem(member)
        hold_at_till(member, partner)
        MemberFactory(referral_code=referral_code_for(member=member).code)
    dispatch(member)


def post(client, name, member, data):
    return client.post(reverse(f"admin:members_member_{name}", args=[member.pk]), data)


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


# --- The sections ---------------------------------------------------------------------------------------------------


def test_each_section_shows_the_members_latest_rows(client, staff_in, partner, member):
    multiplier_campaign(2, name="Double points")
    brought_in = MemberFactory(referral_code=referral_code_for(member=member).code)
    purchase = purchase_post(member, item(quantity="2", unit_price="15.00"), partner=partner, now=timezone.now())
    return_post(purchase, items=[("SKU-1", 1)], now=timezone.now())
    voucher = redeem(member, name="Free coffee")
    hold = hold_at_till(member, partner, points=40)
    dispatch(member)
    client.force_login(staff_in("Program manager"))

    response = client.get(page_url(member), HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    support = response.context["support"]
    [shown] = support.purchases.rows
    assert (shown.pk, shown.points, shown.return_count, shown.returned_points) == (purchase.pk, 60, 1, 30)
    assert [label.rsplit(": ", 1)[1] for label in shown.breakdown] == ["15", "15"]  # net of the return
    assert "1 return: 15.00 EUR, 30 points back" in html
    assert [v.pk for v in support.vouchers.rows] == [voucher.pk]
    assert code_masked(voucher.code) in html
    assert voucher.code not in html  # a code is stored value: masked, as everywhere in the admin
    assert "cancellable until" in html
    assert [(h.pk, h.points, h.points_payment.partner.name) for h in support.holds.rows] == [
        (hold.pk, 40, "Corner Shop")
    ]
    assert [r.referee_id for r in support.referrals.rows] == [brought_in.pk]
    assert f'Brought in <a href="{page_url(brought_in)}">{brought_in.member_number}</a>' in html
    kinds = {n.kind for n in support.notifications.rows}
    assert "voucher_issued" in kinds
    assert {d.event.type for d in support.deliveries.rows} == {"member.enrolled", "points.earned", "voucher.issued"}
    assert "http://127.0.0.1:9/hooks/" in html
    for url in ["campaigns/purchase", "rewards/voucher", "ledger/hold", "referrals/referral",
                "notifications/notification", "webhooks/webhookdelivery"]:  # fmt: skip
        assert f"/admin/{url}/?q={member.member_number}" in html


def test_a_purchase_shows_its_earning_breakdown_per_rule(client, staff_in, partner, member):
    multiplier_campaign(2, name="Double points")
    purchase = buy(member, partner, price="30.00")
    client.force_login(staff_in("Support agent"))

    response = client.get(page_url(member), HTTP_ACCEPT_LANGUAGE="en")

    [shown] = response.context["support"].purchases.rows
    assert shown.pk == purchase.pk
    assert len(shown.breakdown) == 2
    assert shown.breakdown[0].endswith(": 30")
    assert "Double points" in shown.breakdown[1]
    assert shown.breakdown[1].endswith(": 30")
    assert ", ".join(shown.breakdown) in response.content.decode()


def test_the_referral_that_brought_the_member_in_comes_first(client, staff_in, partner):
    referrer = MemberFactory()
    member = MemberFactory(referral_code=referral_code_for(member=referrer).code)
    friends = [MemberFactory(referral_code=referral_code_for(member=member).code) for _ in range(2)]
    client.force_login(staff_in("Support agent"))

    response = client.get(page_url(member), HTTP_ACCEPT_LANGUAGE="en")

    rows = response.context["support"].referrals.rows
    assert [(r.referrer_id, r.referee_id) for r in rows] == [
        (referrer.pk, member.pk),
        (member.pk, friends[1].pk),
        (member.pk, friends[0].pk),
    ]
    assert f'Referred by <a href="{page_url(referrer)}">{referrer.member_number}</a>' in response.content.decode()


def test_a_notification_says_whether_its_e_mail_went(client, staff_in, member):
    sent = Notification.objects.create(member=member, kind="tier_up", params={"tier": "Gold"}, send_email=True)
    Notification.objects.filter(pk=sent.pk).update(email_sent_at=timezone.now())
    waiting = Notification.objects.create(member=member, kind="tier_down", params={"tier": "Silver"}, send_email=True)
    old = timezone.now() - timedelta(days=3)
    given_up = Notification.objects.create(member=member, kind="welcome", created_at=old, send_email=True)
    portal = Notification.objects.create(member=member, kind="points_earned", params={"points": 5}, read_at=old)
    client.force_login(staff_in("Support agent"))

    response = client.get(page_url(member), HTTP_ACCEPT_LANGUAGE="en")

    states = {n.pk: n.email_state for n in response.context["support"].notifications.rows}
    assert states == {sent.pk: "sent", waiting.pk: "due", given_up.pk: "given_up", portal.pk: "none"}
    html = response.content.decode()
    for text in ["not sent yet", "failed: not sent", "portal only", "unread"]:
        assert text in html


def test_each_section_shows_the_latest_rows_and_links_the_rest(client, staff_in, partner, member):
    history(member, partner, times=SUPPORT_LATEST + 2)
    client.force_login(staff_in("Program manager"))

    response = client.get(page_url(member))

    support = response.context["support"]
    for name in ["purchases", "vouchers", "holds", "referrals", "notifications", "deliveries"]:
        latest = getattr(support, name)
        assert (name, len(latest.rows), latest.more) == (name, SUPPORT_LATEST, True)
    newest = Voucher.objects.filter(member=member).order_by("-issued_at", "-id")[:SUPPORT_LATEST]
    assert [v.pk for v in support.vouchers.rows] == [v.pk for v in newest]
    assert "The latest 10." in response.content.decode()


@pytest.mark.parametrize(
    ("group", "sections"),
    [
        ("Program manager", {"purchases", "vouchers", "holds", "referrals", "notifications", "deliveries"}),
        ("Support agent", {"purchases", "vouchers", "holds", "referrals", "notifications"}),
        ("Analyst", {"purchases", "vouchers", "holds", "referrals", "notifications", "deliveries"}),
    ],
)
def test_each_role_sees_the_sections_whose_lists_it_may_read(client, staff_in, partner, member, group, sections):
    history(member, partner)
    client.force_login(staff_in(group))

    support = client.get(page_url(member)).context["support"]

    names = ["purchases", "vouchers", "holds", "referrals", "notifications", "deliveries"]
    assert {name for name in names if getattr(support, name) is not None} == sections


ROW_BUTTONS = ["Cancel the voucher", "Void the hold", "Resend"]


@pytest.mark.parametrize(
    ("group", "shown"),
    [
        ("Program manager", ROW_BUTTONS),
        ("Support agent", ["Void the hold"]),
        ("Analyst", []),
    ],
)
def test_each_role_sees_only_the_row_buttons_it_may_press(client, staff_in, partner, member, group, shown):
    history(member, partner)
    client.force_login(staff_in(group))

    html = client.get(page_url(member)).content.decode()

    assert [button for button in ROW_BUTTONS if f'value="{button}"' in html] == shown


def test_a_closed_members_vouchers_and_holds_have_no_buttons(client, staff_in, partner, member):
    history(member, partner)
    manager = staff_in("Program manager")
    member_status_change(member=member, status="closed", reason="Asked to", actor=manager)
    client.force_login(manager)

    html = client.get(page_url(member)).content.decode()

    assert 'value="Cancel the voucher"' not in html
    assert 'value="Void the hold"' not in html


# --- The query count ------------------------------------------------------------------------------------------------


def member_page_queries(client, member, django_assert_num_queries, expected):
    client.get(page_url(member))  # warm the content-type cache
    with django_assert_num_queries(expected):
        assert client.get(page_url(member)).status_code == 200


@pytest.mark.parametrize(
    ("group", "queries"),
    # the 19 of the page without its sections (test_member_page.py), then purchases (and their breakdown),
    # vouchers, holds, referrals, notifications, badges and, for those who read them, webhook deliveries; a program
    # manager's page also lists the tiers in *Set tier by hand* (two queries: the select and its required check)
    [("Program manager", 29), ("Support agent", 26), ("Analyst", 27)],
)
def test_the_sections_run_a_fixed_number_of_queries_whatever_the_history(
    client, staff_in, partner, member, django_assert_num_queries, group, queries
):
    program_tiers()
    multiplier_campaign(2, name="Double points")
    history(member, partner)
    ledger.hold(member.account, 10, expires_at=timezone.now() + timedelta(minutes=15), cause=member)  # no payment
    client.force_login(staff_in(group))
    member_page_queries(client, member, django_assert_num_queries, queries)

    history(member, partner, times=SUPPORT_LATEST + 3)
    return_post(member.purchases.first(), items=[("SKU-1", 1)], now=timezone.now())
    member_page_queries(client, member, django_assert_num_queries, queries)


# --- Cancel a voucher -----------------------------------------------------------------------------------------------


def test_a_program_manager_cancels_a_voucher_through_the_service(client, staff_in, partner, member):
    voucher = redeem(member, name="Free coffee")
    manager = staff_in("Program manager")
    client.force_login(manager)

    response = post(client, "voucher_cancel", member, {"voucher": voucher.pk, "confirm": "on"})

    assert response.status_code == 302
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.CANCELLED
    assert (voucher.reversal.kind, voucher.reversal.amount, voucher.reversal.actor) == (
        EntryKind.REVERSE,
        100,
        manager,
    )
    member.account.refresh_from_db()
    assert member.account.balance == 5000
    assert messages_of(client.get(response["Location"])) == [
        f"Voucher {code_masked(voucher.code)} is cancelled: 100 points are back."
    ]
    assert audit() == []


def test_a_second_press_cancels_the_voucher_once(client, staff_in, partner, member):
    voucher = redeem(member)
    client.force_login(staff_in("Program manager"))

    first = post(client, "voucher_cancel", member, {"voucher": voucher.pk, "confirm": "on"})
    client.get(first["Location"])  # its message shown
    before = ledger_state(member.account)
    again = post(client, "voucher_cancel", member, {"voucher": voucher.pk, "confirm": "on"})

    assert ledger_state(member.account) == before
    assert Entry.objects.filter(account=member.account, kind=EntryKind.REVERSE).count() == 1
    assert messages_of(client.get(again["Location"])) == ["This voucher was cancelled already."]


@pytest.mark.parametrize(
    "refusal",
    ["unconfirmed", "another members voucher", "used", "window over", "no such id"],
)
def test_a_refused_voucher_cancel_changes_nothing(client, staff_in, partner, member, refusal):
    voucher = redeem(member)
    target = voucher.pk
    data = {"confirm": "on"}
    if refusal == "unconfirmed":
        data = {}
    elif refusal == "another members voucher":
        other = MemberFactory()
        ledger.credit(other.account, 500)
        target = redeem(other).pk
    elif refusal == "used":
        voucher_use(code=voucher.code, partner=partner)
    elif refusal == "window over":  # the window counts from the redemption: a day and an hour ago
        Redemption.objects.filter(pk=voucher.redemption_id).update(created_at=timezone.now() - timedelta(hours=25))
    else:
        target = 10**9
    client.force_login(staff_in("Program manager"))
    statuses = dict(Voucher.objects.values_list("pk", "status"))
    before = ledger_state(member.account)

    response = post(client, "voucher_cancel", member, {"voucher": target, **data})

    assert response.status_code == 302
    assert dict(Voucher.objects.values_list("pk", "status")) == statuses
    assert ledger_state(member.account) == before
    assert messages_of(client.get(response["Location"]))  # says why


# --- Void a hold ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", ["Program manager", "Support agent"])
def test_staff_void_a_hold_through_the_ledger_and_the_release_names_them(client, staff_in, partner, member, group):
    hold = hold_at_till(member, partner, points=40)
    agent = staff_in(group)
    client.force_login(agent)

    response = post(client, "hold_void", member, {"hold": hold.pk, "confirm": "on"})
    first_messages = messages_of(client.get(response["Location"]))
    again = post(client, "hold_void", member, {"hold": hold.pk, "confirm": "on"})

    hold.refresh_from_db()
    assert hold.status == HoldStatus.VOIDED
    release = Entry.objects.get(account=member.account, kind=EntryKind.RELEASE)
    assert (release.amount, release.actor) == (40, agent)
    member.account.refresh_from_db()
    assert (member.account.balance, member.account.held) == (5000, 0)
    assert first_messages == ["The hold is voided: 40 points are back."]
    assert Entry.objects.filter(account=member.account, kind=EntryKind.RELEASE).count() == 1  # the second: refused
    assert messages_of(client.get(again["Location"])) == ["This hold is voided already."]
    assert audit() == []


@pytest.mark.parametrize("refusal", ["unconfirmed", "another members hold", "captured", "not an id", "huge id"])
def test_a_refused_hold_void_changes_nothing(client, staff_in, partner, member, refusal):
    hold = hold_at_till(member, partner)
    target, data = hold.pk, {"confirm": "on"}
    if refusal == "unconfirmed":
        data = {}
    elif refusal == "another members hold":
        other = MemberFactory()
        ledger.credit(other.account, 500)
        target = hold_at_till(other, partner).pk
    elif refusal == "not an id":
        target = "x\x00"
    elif refusal == "huge id":
        target = 10**30
    else:
        ledger.hold_capture(hold)
    client.force_login(staff_in("Support agent"))
    holds = dict(Hold.objects.values_list("pk", "status"))
    before = ledger_state(member.account)

    response = post(client, "hold_void", member, {"hold": target, **data})

    assert response.status_code == 302
    assert dict(Hold.objects.values_list("pk", "status")) == holds
    assert ledger_state(member.account) == before


# --- Resend a webhook -----------------------------------------------------------------------------------------------


def test_a_program_manager_resends_a_delivery_once_however_often_the_form_is_sent(
    client, staff_in, partner, member, django_capture_on_commit_callbacks
):
    history(member, partner)
    first = WebhookDelivery.objects.filter(event__member=member).order_by("pk").first()
    manager = staff_in("Program manager")
    client.force_login(manager)
    data = {"delivery": first.pk, "confirm": "on", "token": str(uuid.uuid4())}

    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, "delivery_resend", member, data)
        again = post(client, "delivery_resend", member, data)

    resent = WebhookDelivery.objects.get(resend_of=first)
    assert (resent.event_id, resent.endpoint_id, resent.resent_by) == (first.event_id, first.endpoint_id, manager)
    assert len(callbacks) == 1  # one sending enqueued: the repeat sends nothing
    assert response.status_code == again.status_code == 302
    assert (
        messages_of(client.get(again["Location"]))
        == ["The event is resent to http://127.0.0.1:9/hooks/ (the same event id)."] * 2
    )
    page = client.get(page_url(member)).content.decode()
    assert "Resent by" in page


def test_another_click_with_a_new_token_resends_again(client, staff_in, partner, member):
    history(member, partner)
    first = WebhookDelivery.objects.filter(event__member=member).order_by("pk").first()
    client.force_login(staff_in("Program manager"))

    for _ in range(2):
        post(client, "delivery_resend", member, {"delivery": first.pk, "confirm": "on", "token": str(uuid.uuid4())})

    assert WebhookDelivery.objects.filter(resend_of=first).count() == 2


@pytest.mark.parametrize("refusal", ["unconfirmed", "no token", "another members delivery", "token of another row"])
def test_a_refused_resend_sends_nothing(client, staff_in, partner, member, refusal):
    history(member, partner)
    mine = list(WebhookDelivery.objects.filter(event__member=member).order_by("pk"))
    token = str(uuid.uuid4())
    target, data = mine[0].pk, {"confirm": "on", "token": token}
    if refusal == "unconfirmed":
        del data["confirm"]
    elif refusal == "no token":
        del data["token"]
    elif refusal == "another members delivery":
        history(rich_member(partner), partner)
        target = WebhookDelivery.objects.exclude(event__member=member).first().pk
    else:
        webhooks.delivery_resend(delivery=mine[1], idempotency_key=f"admin:{token}")
    client.force_login(staff_in("Program manager"))
    count = WebhookDelivery.objects.count()

    response = post(client, "delivery_resend", member, {"delivery": target, **data})

    assert response.status_code == 302
    assert WebhookDelivery.objects.count() == count
    assert messages_of(client.get(response["Location"]))


def test_the_webhook_admins_resend_action_names_who_resent(client, staff_in, partner, member):
    history(member, partner)
    first = WebhookDelivery.objects.filter(event__member=member).order_by("pk").first()
    manager = staff_in("Program manager")
    client.force_login(manager)

    client.post(
        reverse("admin:webhooks_webhookdelivery_changelist"),
        {"action": "resend", "_selected_action": [first.pk], "token": uuid.uuid4()},
    )

    assert WebhookDelivery.objects.get(resend_of=first).resent_by == manager


def test_the_delivery_list_finds_a_members_deliveries_by_number(client, staff_in, partner, member):
    history(member, partner)
    history(rich_member(partner), partner)
    client.force_login(staff_in("Analyst"))

    listed = client.get(reverse("admin:webhooks_webhookdelivery_changelist"), {"q": member.member_number})

    mine = set(WebhookDelivery.objects.filter(event__member=member).values_list("pk", flat=True))
    assert {d.pk for d in listed.context["cl"].result_list} == mine


def test_the_referral_list_finds_a_member_as_referrer_and_as_referee(client, staff_in):
    referrer = MemberFactory()
    member = MemberFactory(referral_code=referral_code_for(member=referrer).code)
    friend = MemberFactory(referral_code=referral_code_for(member=member).code)
    MemberFactory(referral_code=referral_code_for(member=friend).code)
    client.force_login(staff_in("Support agent"))

    listed = client.get(reverse("admin:referrals_referral_changelist"), {"q": member.member_number})

    rows = {(r.referrer_id, r.referee_id) for r in listed.context["cl"].result_list}
    assert rows == {(referrer.pk, member.pk), (member.pk, friend.pk)}


def test_a_support_agent_reads_a_members_notifications_in_their_list(client, staff_in, partner, member):
    history(member, partner)
    history(rich_member(partner), partner)
    client.force_login(staff_in("Support agent"))

    listed = client.get(reverse("admin:notifications_notification_changelist"), {"q": member.member_number})

    assert listed.status_code == 200
    mine = set(Notification.objects.filter(member=member).values_list("pk", flat=True))
    assert mine
    assert {n.pk for n in listed.context["cl"].result_list} == mine


# --- Who may press --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["voucher_cancel", "hold_void", "delivery_resend"])
def test_an_analyst_may_press_no_row_button(client, staff_in, partner, member, name):
    history(member, partner)
    voucher, hold = Voucher.objects.get(member=member), Hold.objects.get(account=member.account)
    delivery = WebhookDelivery.objects.filter(event__member=member).first()
    client.force_login(staff_in("Analyst"))
    before = (ledger_state(member.account), WebhookDelivery.objects.count())
    data = {
        "voucher": voucher.pk,
        "hold": hold.pk,
        "delivery": delivery.pk,
        "confirm": "on",
        "token": str(uuid.uuid4()),
    }

    response = post(client, name, member, data)

    assert response.status_code == 403
    assert (ledger_state(member.account), WebhookDelivery.objects.count()) == before
    assert Voucher.objects.get(pk=voucher.pk).status == VoucherStatus.ISSUED
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.OPEN


@pytest.mark.parametrize("name", ["voucher_cancel", "delivery_resend"])
def test_a_support_agent_may_neither_cancel_vouchers_nor_resend_webhooks(client, staff_in, partner, member, name):
    history(member, partner)
    voucher = Voucher.objects.get(member=member)
    delivery = WebhookDelivery.objects.filter(event__member=member).first()
    client.force_login(staff_in("Support agent"))
    count = WebhookDelivery.objects.count()

    response = post(
        client,
        name,
        member,
        {"voucher": voucher.pk, "delivery": delivery.pk, "confirm": "on", "token": str(uuid.uuid4())},
    )

    assert response.status_code == 403
    assert Voucher.objects.get(pk=voucher.pk).status == VoucherStatus.ISSUED
    assert WebhookDelivery.objects.count() == count


def test_a_get_of_a_button_is_refused(client, staff_in, partner, member):
    client.force_login(staff_in("Program manager"))

    assert client.get(reverse("admin:members_member_voucher_cancel", args=[member.pk])).status_code == 405


def test_a_user_who_is_not_staff_is_sent_to_the_login(client, partner, member):
    client.force_login(User.objects.create_user("someone", password="pw-123456789"))

    response = post(client, "hold_void", member, {"hold": 1, "confirm": "on"})

    assert response.status_code == 302
    assert "/login/" in response["Location"]
