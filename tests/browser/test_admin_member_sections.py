"""The member page's sections in Chromium: a program manager cancels a voucher and resends a webhook from it."""

from django.contrib.auth.models import User
from playwright.sync_api import expect

from loyalty.ledger.models import EntryKind
from loyalty.webhooks.models import WebhookDelivery
from rewards.models import Voucher, VoucherStatus
from tests.admin.test_member_page_sections import history, rich_member
from tests.factories.campaigns import multiplier_campaign
from tests.factories.partners import PartnerFactory


def test_a_program_manager_cancels_a_voucher_and_resends_a_webhook_from_the_member_page(page, settings):
    from loyalty.webhooks import services as webhooks

    settings.LOYALTY_WEBHOOK_ALLOW_PRIVATE = True
    manager = User.objects.create_superuser("pat", password="a-long-staff-secret", first_name="Pat")
    partner = PartnerFactory(name="Corner Shop")
    webhooks.endpoint_create(partner=partner, url="http://127.0.0.1:9/hooks/", event_types=["voucher.issued"])
    multiplier_campaign(2, name="Double points")
    member = rich_member(partner, first_name="Ada", last_name="Lovelace")
    history(member, partner)
    voucher = Voucher.objects.get(member=member)

    page.goto("/admin/")
    page.get_by_label("Username").fill("pat")
    page.get_by_label("Password").fill("a-long-staff-secret")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/admin/members/member/{member.pk}/change/")
    expect(page.get_by_test_id("staff-purchases")).to_contain_text("Double points")
    page.screenshot_step("sections")

    vouchers = page.get_by_test_id("staff-vouchers")
    vouchers.get_by_role("button", name="Cancel the voucher").click()  # the box is not ticked: the browser refuses
    assert Voucher.objects.get(pk=voucher.pk).status == VoucherStatus.ISSUED
    vouchers.get_by_label("Sure: 100 points back").check()
    vouchers.get_by_role("button", name="Cancel the voucher").click()
    expect(page.get_by_text("is cancelled: 100 points are back.")).to_be_visible()
    voucher.refresh_from_db()
    assert (voucher.status, voucher.reversal.kind, voucher.reversal.actor) == ("cancelled", EntryKind.REVERSE, manager)

    deliveries = page.get_by_test_id("staff-deliveries")
    deliveries.get_by_label("Sure: send the event again").first.check()
    deliveries.get_by_role("button", name="Resend").first.click()
    expect(page.get_by_text("The event is resent to http://127.0.0.1:9/hooks/")).to_be_visible()
    expect(page.get_by_test_id("staff-deliveries")).to_contain_text("Pat")
    page.screenshot_step("resent")
    assert WebhookDelivery.objects.get(resend_of__isnull=False).resent_by == manager
    assert page.console_problems == []
