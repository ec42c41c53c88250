"""System entries store a memo code and its parameters; every door renders them in the reader's language."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from django.utils import translation

from loyalty.exceptions import ValidationError
from loyalty.ledger import services as ledger
from loyalty.ledger.memos import entry_memo_display
from loyalty.ledger.models import Entry, EntryKind
from tests.factories.partners import partner_key
from tests.helpers import ledger_state

NOW = datetime(2027, 1, 10, 12, tzinfo=UTC)
AFTER = datetime(2027, 2, 1, 1, tzinfo=UTC)


@pytest.fixture
def expired(account):
    """1,945 points credited with a last day of 31 January, expired by the daily run on 1 February."""
    ledger.credit(account, 1945, expires_on=date(2027, 1, 31), cause=account.member, now=NOW)
    ledger.expire_due(now=AFTER)
    return Entry.objects.get(account=account, kind=EntryKind.EXPIRE)


@pytest.mark.parametrize("path", ["expire_due", "settling a debit"])
def test_an_expiry_stores_a_code_and_its_points_not_english(account, path):
    ledger.credit(account, 100, expires_on=date(2027, 1, 31), cause=account.member, now=NOW)
    ledger.credit(account, 5, expires_on=None, cause=account.member, now=NOW)
    if path == "expire_due":
        ledger.expire_due(now=AFTER)
    else:
        ledger.debit(account, 1, cause=account.member, now=AFTER)

    expiry = Entry.objects.get(kind=EntryKind.EXPIRE)
    assert (expiry.memo, expiry.memo_code, expiry.memo_params) == ("", "expired", {"points": 100})


def test_the_memo_renders_in_the_active_language_with_grouped_digits(expired):
    with translation.override("en"):
        assert entry_memo_display(expired) == "1,945 points reached their expiry date"
        assert expired.memo_display == "1,945 points reached their expiry date"


def test_the_french_reader_reads_french_grouped_as_the_portal_groups(expired):
    with translation.override("fr"):
        assert entry_memo_display(expired) == "1\xa0945 points ont atteint leur date d'expiration"


def test_one_point_is_singular(account):
    ledger.credit(account, 1, expires_on=date(2027, 1, 31), cause=account.member, now=NOW)
    ledger.expire_due(now=AFTER)

    with translation.override("en"):
        assert Entry.objects.get(kind=EntryKind.EXPIRE).memo_display == "1 point reached its expiry date"


def test_a_persons_memo_is_shown_as_written(account):
    entry = ledger.adjust(account, 20, reason="Geste commercial", now=NOW)

    with translation.override("en"):
        assert entry.memo_display == "Geste commercial"


def test_a_credit_may_carry_a_known_code_and_refuses_an_unknown_one(account):
    entry = ledger.credit(account, 10, memo_code="expired", memo_params={"points": 10}, now=NOW)
    assert (entry.memo_code, entry.memo_params) == ("expired", {"points": 10})
    before = ledger_state(account)

    for code, params in [("no-such-code", {}), ("expired", {"points": 1.5}), ("", {"points": 1})]:
        with pytest.raises(ValidationError):
            ledger.credit(account, 10, memo_code=code, memo_params=params, now=NOW)

    assert ledger_state(account) == before


def test_a_reversal_may_carry_a_known_code_and_refuses_an_unknown_one(account):
    ledger.credit(account, 100, now=NOW)
    debit = ledger.debit(account, 40, now=NOW)
    before = ledger_state(account)

    with pytest.raises(ValidationError):
        ledger.reverse(debit, memo_code="no-such-code", now=NOW)
    assert ledger_state(account) == before
    params = {"name": "Free coffee", "name_fr": "Café offert"}
    reversal = ledger.reverse(debit, memo_code="reward_cancelled", memo_params=params, now=NOW)

    assert (reversal.memo_code, reversal.memo_params, reversal.memo) == ("reward_cancelled", params, "")
    with translation.override("en"):
        assert reversal.memo_display == "Voucher cancelled, points back: Free coffee"


def test_the_portal_history_and_its_csv_show_the_rendered_memo(client, expired):
    client.force_login(expired.account.member.user)

    page = client.get(reverse("portal:history"), HTTP_ACCEPT_LANGUAGE="en")
    export = client.get(reverse("portal:history_csv"), HTTP_ACCEPT_LANGUAGE="en")

    assert "1,945 points reached their expiry date" in page.content.decode()
    assert "1,945 points reached their expiry date" in b"".join(export.streaming_content).decode("utf-8-sig")


def test_the_api_shows_the_rendered_memo(expired):
    from rest_framework.test import APIClient

    # given the partner that enrolled the member (it reads the whole history)
    member = expired.account.member
    api_key, clear_key = partner_key()
    member.enrolled_by = api_key.partner
    member.save(update_fields=["enrolled_by"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {clear_key}")

    response = client.get(f"/api/v1/members/{member.member_number}/entries/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    memos = [entry["memo"] for entry in response.json()["results"]]
    assert memos[0] == "1,945 points reached their expiry date"


def test_the_admin_entry_list_shows_the_rendered_memo(admin_client, expired):
    response = admin_client.get(reverse("admin:ledger_entry_changelist"), HTTP_ACCEPT_LANGUAGE="en")

    assert "1,945 points reached their expiry date" in response.content.decode()
