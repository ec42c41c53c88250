"""Earning in the admin: the policy's one row, campaigns and their rules, status actions, the member list,
event types, and the read-only purchases, with the list pages' query counts pinned."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.models import (
    Award,
    Campaign,
    CampaignMember,
    CampaignStatus,
    EarningPolicy,
    EventType,
    RateOverride,
    Rule,
    RuleKind,
)
from tests.factories.campaigns import (
    CampaignFactory,
    RuleFactory,
    item,
    multiplier_campaign,
    purchase_post,
    return_post,
)
from tests.factories.members import MemberFactory
from tests.factories.partners import PartnerFactory
from tests.factories.tiers import program_tiers


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def manager(client, staff_in):
    user = staff_in("Program manager")
    client.force_login(user)
    return user


RULE_DEFAULTS = {
    "kind": RuleKind.MULTIPLIER,
    "priority": "0",
    "multiplier": "2",
    "points": "0",
    "skus": "",
    "categories": "",
    "min_amount": "0",
    "min_quantity": "0",
    "event_type": "",
}


def campaign_data(rules=(), **fields):
    data = {
        "name": "Double points weekend",
        "name_fr": "Points doublés le week-end",
        "description": "",
        "description_fr": "",
        "starts_at_0": "2026-12-05",
        "starts_at_1": "00:00:00",
        "ends_at_0": "2026-12-07",
        "ends_at_1": "00:00:00",
        "start_time": "",
        "end_time": "",
        "joined_after": "",
        "joined_before": "",
        "channels": "",
        "member_cap": "",
        "cap_period": "campaign",
        "budget": "",
        "rules-TOTAL_FORMS": str(len(rules)),
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
    }
    for index, rule in enumerate(rules):
        for name, value in {**RULE_DEFAULTS, **rule}.items():
            data[f"rules-{index}-{name}"] = value
    data.update(fields)
    return {name: value for name, value in data.items() if value is not None}


def add_campaign(client, rules=(), **fields):
    return client.post(reverse("admin:campaigns_campaign_add"), campaign_data(rules, **fields))


# The earning policy and the rates


def test_the_earning_policy_is_one_row_that_cannot_be_added_or_deleted(client, manager):
    response = client.get(reverse("admin:campaigns_earningpolicy_changelist"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:campaigns_earningpolicy_change", args=[1])

    assert client.get(reverse("admin:campaigns_earningpolicy_add")).status_code == 403
    assert client.post(reverse("admin:campaigns_earningpolicy_delete", args=[1])).status_code == 403
    response = client.post(
        reverse("admin:campaigns_earningpolicy_change", args=[1]),
        {"points_per_unit": "1.5", "amount_tolerance": "0.10", "return_policy": "write_off"},
    )
    assert response.status_code == 302
    policy = EarningPolicy.objects.get()
    assert (policy.points_per_unit, policy.amount_tolerance, policy.return_policy) == (
        Decimal("1.5"),
        Decimal("0.10"),
        "write_off",
    )


def test_an_analyst_reads_the_earning_policy_and_changes_nothing(client, staff_in):
    client.force_login(staff_in("Analyst"))

    response = client.post(reverse("admin:campaigns_earningpolicy_change", args=[1]), {"points_per_unit": "9"})

    assert response.status_code == 403
    assert EarningPolicy.objects.get().points_per_unit == Decimal(1)


def test_a_rate_override_must_name_a_partner_a_category_or_a_sku(client, manager):
    url = reverse("admin:campaigns_rateoverride_add")

    nameless = client.post(url, {"category": "", "sku": "", "points_per_unit": "2", "active": "on"})
    named = client.post(url, {"category": "books", "sku": "", "points_per_unit": "2", "active": "on"})

    assert nameless.status_code == 200
    assert "Constraint “rate_override_names_a_scope” is violated." in nameless.content.decode()
    assert named.status_code == 302
    assert list(RateOverride.objects.values_list("category", "points_per_unit")) == [("books", Decimal("2.0000"))]


# Campaigns and their rules


def test_a_campaign_is_added_as_a_draft_with_its_rules_tiers_and_partners(client, manager):
    silver, gold, _ = program_tiers()
    partner = PartnerFactory()

    response = add_campaign(
        client,
        rules=[{"kind": "multiplier", "multiplier": "2", "categories": "shoes, bags", "priority": "10"}],
        tiers=[str(gold.pk)],
        partners=[str(partner.pk)],
        weekdays=["5", "6"],
        channels="store, app",
        member_cap="500",
        cap_period="week",
        budget="10000",
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign = Campaign.objects.get()
    assert (campaign.status, campaign.weekdays, campaign.channels, campaign.member_cap, campaign.budget) == (
        CampaignStatus.DRAFT,
        [5, 6],
        ["store", "app"],
        500,
        10000,
    )
    assert list(campaign.tiers.all()) == [gold]
    assert list(campaign.partners.all()) == [partner]
    rule = campaign.rules.get()
    assert (rule.kind, rule.multiplier, rule.categories, rule.priority) == (
        "multiplier",
        Decimal("2.00"),
        ["shoes", "bags"],
        10,
    )


@pytest.mark.parametrize(
    ("rule", "field", "error"),
    [
        ({"kind": "multiplier", "multiplier": "1"}, "multiplier", "A multiplier rule multiplies by more than 1"),
        ({"kind": "first_purchase_bonus", "points": "0"}, "points", "A bonus rule gives some points."),
        ({"kind": "basket_bonus", "points": "100", "min_amount": "0"}, "min_amount", "A basket bonus needs the"),
        (
            {"kind": "quantity_bonus", "points": "50", "min_quantity": "3"},
            "skus",
            "A quantity bonus counts the items of some SKUs or categories",
        ),
        (
            {"kind": "quantity_bonus", "points": "50", "skus": "A1", "min_quantity": "0"},
            "min_quantity",
            "A quantity bonus needs the least quantity bought.",
        ),
        ({"kind": "event_points", "points": "50"}, "event_type", "Event points name the event type they reward."),
    ],
    ids=["multiplier-of-1", "bonus-of-0", "basket-without-amount", "quantity-without-items", "quantity-of-0", "event"],
)
def test_a_rule_without_the_fields_of_its_kind_is_a_form_error_and_nothing_is_written(
    client, manager, rule, field, error
):
    response = add_campaign(client, rules=[rule])

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors
    assert error in " ".join(errors[field])
    assert Campaign.objects.count() == Rule.objects.count() == 0


def test_a_bonus_rule_stores_no_multiplier_and_event_points_store_their_type(client, manager):
    review = EventType.objects.get(code="review")

    response = add_campaign(
        client,
        rules=[
            {"kind": "basket_bonus", "points": "100", "min_amount": "50", "multiplier": "3"},
            {"kind": "event_points", "points": "40", "event_type": str(review.pk)},
        ],
    )

    assert response.status_code == 302
    assert list(Rule.objects.order_by("id").values_list("kind", "multiplier", "points", "event_type")) == [
        ("basket_bonus", Decimal("1.00"), 100, None),
        ("event_points", Decimal("1.00"), 40, review.pk),
    ]


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        ({"ends_at_0": "2026-12-05"}, "ends_at", "The campaign must end after it starts."),
        ({"start_time": "18:00"}, "end_time", "Give both hours (from and until), or neither."),
        ({"start_time": "18:00", "end_time": "18:00"}, "end_time", "The hours cannot start and end"),
        ({"weekdays": ["7"]}, "weekdays", "Select a valid choice. 7 is not one of the available choices."),
        (
            {"joined_after": "2026-01-01", "joined_before": "2025-01-01"},
            "joined_before",
            "No member can have joined both after and before these days.",
        ),
        ({"member_cap": "0"}, "member_cap", "A cap of 0 gives nothing"),
    ],
    ids=["ends-at-its-start", "one-hour-only", "empty-hours", "weekday-7", "joined-window-empty", "cap-0"],
)
def test_a_campaign_whose_window_or_audience_cannot_be_is_a_form_error(client, manager, fields, field, error):
    response = add_campaign(client, rules=[{"kind": "multiplier"}], **fields)

    assert response.status_code == 200
    assert error in " ".join(response.context["adminform"].form.errors[field])
    assert Campaign.objects.count() == 0


def test_the_budget_cannot_go_below_what_the_campaign_already_gave(client, manager):
    campaign = multiplier_campaign(budget=1000)
    purchase_post(MemberFactory(), item(unit_price="600.00"))  # x2: 600 base, 600 from the campaign
    campaign.refresh_from_db()
    assert campaign.points_awarded == 600
    data = campaign_data(name=campaign.name, budget="500")
    data.update({"rules-TOTAL_FORMS": "0"})

    response = client.post(reverse("admin:campaigns_campaign_change", args=[campaign.pk]), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["budget"] == [
        "The campaign already gave 600 points: the budget cannot be less."
    ]
    campaign.refresh_from_db()
    assert campaign.budget == 1000


# Status actions


def act(client, action, *campaigns):
    return client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": action, "_selected_action": [str(campaign.pk) for campaign in campaigns]},
        follow=True,
    )


def statuses():
    return dict(Campaign.objects.values_list("name", "status"))


def test_publish_pause_and_archive_move_a_campaign_through_its_statuses(client, manager):
    campaign = CampaignFactory(name="Weekend", status=CampaignStatus.DRAFT)
    RuleFactory(campaign=campaign)

    assert messages_of(act(client, "publish", campaign)) == ["1 campaign is now active."]
    assert statuses() == {"Weekend": "active"}
    assert messages_of(act(client, "pause", campaign)) == ["1 campaign is now paused."]
    assert messages_of(act(client, "publish", campaign)) == ["1 campaign is now active."]
    assert messages_of(act(client, "archive", campaign)) == ["1 campaign is now archived."]
    assert statuses() == {"Weekend": "archived"}


def test_a_refused_status_change_says_why_and_changes_nothing(client, manager):
    empty = CampaignFactory(name="No rule", status=CampaignStatus.DRAFT)
    draft = CampaignFactory(name="Draft", status=CampaignStatus.DRAFT)
    RuleFactory(campaign=draft)
    archived = CampaignFactory(name="Old", status=CampaignStatus.ARCHIVED)
    RuleFactory(campaign=archived)

    published = act(client, "publish", empty, archived)
    paused = act(client, "pause", draft)

    assert messages_of(published) == [
        "No rule has no rule: add one before publishing.",
        "Old is archived: it cannot become active.",
    ]
    assert messages_of(paused) == ["Draft is draft: it cannot become paused."]
    assert statuses() == {"No rule": "draft", "Draft": "draft", "Old": "archived"}


def test_the_status_is_not_a_field_of_the_form(client, manager):
    campaign = CampaignFactory(name="Weekend", status=CampaignStatus.DRAFT)
    data = campaign_data(name="Weekend", status="active")

    client.post(reverse("admin:campaigns_campaign_change", args=[campaign.pk]), data)

    assert statuses() == {"Weekend": "draft"}


def test_an_analyst_cannot_publish(client, staff_in):
    client.force_login(staff_in("Analyst"))
    campaign = CampaignFactory(name="Weekend", status=CampaignStatus.DRAFT)
    RuleFactory(campaign=campaign)

    response = act(client, "publish", campaign)

    assert response.status_code == 200
    assert statuses() == {"Weekend": "draft"}


def test_only_a_draft_can_be_deleted_and_only_by_a_superuser(admin_client, client, manager):
    draft = CampaignFactory(status=CampaignStatus.DRAFT)
    active = CampaignFactory(status=CampaignStatus.ACTIVE)

    assert client.get(reverse("admin:campaigns_campaign_delete", args=[draft.pk])).status_code == 403
    assert admin_client.get(reverse("admin:campaigns_campaign_delete", args=[active.pk])).status_code == 403
    delete = admin_client.post(reverse("admin:campaigns_campaign_delete", args=[draft.pk]), {"post": "yes"})
    assert delete.status_code == 302
    assert list(Campaign.objects.all()) == [active]


# The member list


def upload(client, campaign, content: str, replace="1"):
    file = SimpleUploadedFile("members.csv", content.encode(), content_type="text/csv")
    url = reverse("admin:campaigns_campaign_members", args=[campaign.pk])
    return client.post(url, {"file": file, "replace": replace}, follow=True)


def listed(campaign):
    return set(CampaignMember.objects.filter(campaign=campaign).values_list("member__member_number", flat=True))


def mistyped(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def test_a_csv_of_member_numbers_becomes_the_campaigns_list(client, manager):
    campaign = CampaignFactory()
    ada, bob, cy = MemberFactory(), MemberFactory(), MemberFactory()
    spaced = f"{bob.member_number[:3]} {bob.member_number[3:]}"

    response = upload(client, campaign, f"member_number\n{ada.member_number}\n\n{spaced}\n{ada.member_number}\n")

    assert messages_of(response) == ["The campaign's list holds 2 members."]
    assert listed(campaign) == {ada.member_number, bob.member_number}
    campaign.refresh_from_db()
    assert campaign.uses_member_list is True

    added = upload(client, campaign, f"{cy.member_number}\n", replace="0")
    assert messages_of(added) == ["The campaign's list holds 3 members."]
    replaced = upload(client, campaign, f"{cy.member_number}\n")
    assert messages_of(replaced) == ["The campaign's list holds 1 member."]
    assert listed(campaign) == {cy.member_number}


def test_a_list_with_a_bad_row_or_an_unknown_number_writes_nothing_and_says_which(client, manager):
    campaign = CampaignFactory()
    ada = MemberFactory()
    upload(client, campaign, f"{ada.member_number}\n")
    stranger = "1234567897"  # a valid number (check digit) that no member holds
    assert not MemberFactory._meta.model.objects.filter(member_number=stranger).exists()

    bad_rows = upload(client, campaign, f"{ada.member_number}\n12345\n{mistyped(ada.member_number)}\n")
    unknown = upload(client, campaign, f"{ada.member_number}\n{stranger}\n")

    assert messages_of(bad_rows) == [
        "CSV of member numbers: Row 2: 12345 is not a member number.",
        f"CSV of member numbers: Row 3: {mistyped(ada.member_number)} is not a member number.",
        "The member list is unchanged.",
    ]
    assert messages_of(unknown) == [
        f"CSV of member numbers: 1 number is not a member's: {stranger}",
        "The member list is unchanged.",
    ]
    assert listed(campaign) == {ada.member_number}


def test_an_analyst_cannot_upload_a_list(client, staff_in):
    client.force_login(staff_in("Analyst"))
    campaign = CampaignFactory()
    member = MemberFactory()

    response = upload(client, campaign, f"{member.member_number}\n")

    assert response.status_code == 403
    assert listed(campaign) == set()


# Event types


def test_a_builtin_event_type_keeps_its_code_and_cannot_be_deleted(client, manager):
    review = EventType.objects.get(code="review")
    url = reverse("admin:campaigns_eventtype_change", args=[review.pk])

    response = client.post(
        url,
        {
            "code": "critique",
            "name": "Review",
            "name_fr": "Avis",
            "points": "25",
            "limit": "per_day",
            "limit_period": "year",
            "per_day": "3",
            "requires_approval": "on",
            "active": "on",
        },
    )

    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.code, review.points) == ("review", 25)
    assert client.get(reverse("admin:campaigns_eventtype_delete", args=[review.pk])).status_code == 403
    changelist = client.get(reverse("admin:campaigns_eventtype_changelist"))
    assert changelist.context["action_form"] is None  # no bulk delete: it would not spare the built-in ones


def test_a_custom_event_type_is_added_and_only_a_superuser_deletes_it(admin_client, client, manager):
    response = client.post(
        reverse("admin:campaigns_eventtype_add"),
        {"code": "store_visit", "name": "Store visit", "name_fr": "Visite en magasin", "points": "5"}
        | {"limit": "per_day", "limit_period": "year", "per_day": "1", "active": "on"},
    )
    assert response.status_code == 302
    visit = EventType.objects.get(code="store_visit")
    assert visit.builtin is False

    delete_url = reverse("admin:campaigns_eventtype_delete", args=[visit.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403  # program managers deactivate it
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not EventType.objects.filter(code="store_visit").exists()


# Purchases and returns (read only)


def test_a_purchase_page_shows_its_lines_awards_and_returns_and_nothing_is_editable(client, manager):
    CampaignFactory(name="Weekend", rules=[{"kind": "multiplier", "multiplier": 2, "categories": ["bags"]}])
    purchase = purchase_post(MemberFactory(), item("SKU-1", "2", "50.00"), item("SKU-2", "1", "20.00", "bags"))
    return_post(purchase, items=[("SKU-1", 1)], external_id="R-1")

    response = client.get(reverse("admin:campaigns_purchase_change", args=[purchase.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert ("SKU-2" in html, "Weekend" in html, "R-1" in html) == (True, True, True)
    assert 'name="_save"' not in html
    assert client.post(reverse("admin:campaigns_purchase_change", args=[purchase.pk]), {}).status_code == 403
    assert client.get(reverse("admin:campaigns_purchase_add")).status_code == 403
    assert Award.objects.filter(purchase=purchase).count() == 3  # base on both lines, the campaign on the bags
    return_page = client.get(reverse("admin:campaigns_purchasereturn_change", args=[purchase.returns.get().pk]))
    assert return_page.status_code == 200


# List pages: a fixed number of queries


def list_queries(client, django_assert_num_queries, url, expected):
    client.get(url)
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("changelist", "expected"),
    [
        # session, user, the count, the page (the campaigns with their statistics and rule counts)
        ("campaigns_campaign", 4),
        # session, user, the partner filter's choices, the count, the page (with partners and members), channels
        ("campaigns_purchase", 6),
        # session, user, the event type filter's choices, the count, the page (with types, members, partners)
        ("campaigns_event", 5),
        ("campaigns_eventtype", 4),
        # session, user, the partner filter's choices, the count, the page (with partners)
        ("campaigns_rateoverride", 5),
        ("campaigns_purchasereturn", 5),
    ],
    ids=lambda value: str(value),
)
def test_the_list_pages_run_a_fixed_number_of_queries(client, db, django_assert_num_queries, changelist, expected):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root-123"))
    url = reverse(f"admin:{changelist}_changelist")

    def some_rows(n):
        for _ in range(n):
            returned = purchase_post(MemberFactory())  # at a partner of no campaign
            return_post(returned, amount="1.00")
            partner = PartnerFactory()
            multiplier_campaign(partners=[partner])
            purchase = purchase_post(MemberFactory(), partner=partner)
            RateOverride.objects.create(partner=purchase.partner, points_per_unit=2)

    some_rows(1)
    list_queries(client, django_assert_num_queries, url, expected)
    some_rows(5)
    list_queries(client, django_assert_num_queries, url, expected)


# Events: approve or decline those awaiting approval


@pytest.fixture
def awaiting(db):
    """Two reviews awaiting approval (the built-in type needs it) and one sign-up already decided."""
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.events import event_record

    now = timezone.now()
    ada, bob = MemberFactory(), MemberFactory()
    partner = PartnerFactory()

    def record(member, code, external_id):
        return event_record(
            member=member,
            event_type_code=code,
            external_id=external_id,
            occurred_at=now - timedelta(minutes=5),
            attributes={},
            partner=partner,
            now=now,
        )

    return record(ada, "review", "r-1"), record(bob, "review", "r-2"), record(ada, "app_installed", "a-1")


def event_act(client, action, events, **data):
    return client.post(
        reverse("admin:campaigns_event_changelist"),
        {"action": action, "_selected_action": [str(event.pk) for event in events], **data},
        follow=True,
    )


def outcomes():
    from campaigns.models import Event

    return dict(Event.objects.values_list("external_id", "outcome"))


def test_staff_approve_events_awaiting_approval_and_their_points_are_credited(client, staff_in, awaiting):
    client.force_login(staff_in("Support agent"))
    first, second, decided = awaiting
    assert outcomes() == {"r-1": "awaiting_approval", "r-2": "awaiting_approval", "a-1": "earned"}

    response = event_act(client, "approve", [first, decided])

    assert messages_of(response) == ["1 event was not awaiting approval: left as it was.", "1 event approved."]
    assert outcomes() == {"r-1": "earned", "r-2": "awaiting_approval", "a-1": "earned"}
    first.member.account.refresh_from_db()
    assert first.member.account.balance == 20 + 50  # the review, and the app installed before


def test_declining_asks_a_reason_then_declines_with_it(client, staff_in, awaiting):
    client.force_login(staff_in("Program manager"))
    first, second, _decided = awaiting

    confirm = event_act(client, "decline", [first, second])
    assert confirm.templates[0].name == "admin/campaigns/event/decline.html"
    assert outcomes()["r-1"] == "awaiting_approval"
    empty = event_act(client, "decline", [first, second], reason="  ")
    assert empty.templates[0].name == "admin/campaigns/event/decline.html"

    response = event_act(client, "decline", [first, second], reason="Off-topic review")

    assert messages_of(response) == ["2 events declined."]
    assert outcomes() == {"r-1": "declined", "r-2": "declined", "a-1": "earned"}
    first.refresh_from_db()
    assert (first.decision_reason, first.points) == ("Off-topic review", 0)


def test_an_analyst_cannot_approve_or_decline(client, staff_in, awaiting):
    client.force_login(staff_in("Analyst"))
    first, _second, _decided = awaiting

    response = event_act(client, "approve", [first])

    assert response.status_code == 200
    assert response.context["action_form"] is None  # no action is offered to them
    assert outcomes()["r-1"] == "awaiting_approval"
