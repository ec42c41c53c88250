"""Every path that takes a member number checks it (digits, Luhn check digit) before any lookup."""

import pytest

from loyalty.ledger.models import Entry
from tests.factories.members import MemberFactory

PATHS = [
    pytest.param("get", "/api/v1/members/{number}/", id="read"),
    pytest.param("get", "/api/v1/members/{number}/entries/", id="entries"),
    pytest.param("get", "/api/v1/members/{number}/entries/1/", id="entry"),
    pytest.param("post", "/api/v1/members/{number}/adjustments/", id="adjust"),
]
MISTYPED = {
    "error": {
        "code": "invalid_member_number",
        "message": "This is not a valid member number: a digit is mistyped.",
        "fields": {"member_number": ["This is not a valid member number: a digit is mistyped."]},
    }
}
NOT_DIGITS = {
    "error": {
        "code": "invalid_member_number",
        "message": "A member number has 10 digits.",
        "fields": {"member_number": ["A member number has 10 digits."]},
    }
}


def call(api, method, path, number):
    url = path.format(number=number)
    if method == "post":
        return api.post(url, {"points": 5, "reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    return api.get(url)


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_a_wrong_check_digit_gets_400_not_404(api, method, path):
    member = MemberFactory()
    typo = member.member_number[:-1] + str((int(member.member_number[-1]) + 1) % 10)

    response = call(api, method, path, typo)

    assert response.status_code == 400
    assert response.json() == MISTYPED
    assert Entry.objects.count() == 0


@pytest.mark.parametrize(("method", "path"), PATHS)
@pytest.mark.parametrize(
    "number",
    [
        pytest.param("%00", id="nul"),
        pytest.param("12345678%0097", id="nul-inside"),
        pytest.param("abcdefghij", id="letters"),
        pytest.param("%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6%D9%A7%D9%A8%D9%A9%D9%A7", id="arabic-digits"),
        pytest.param("123", id="short"),
    ],
)
def test_a_number_that_is_not_ten_digits_gets_400(api, method, path, number):
    response = call(api, method, path, number)

    assert response.status_code == 400
    assert response.json() == NOT_DIGITS
    assert Entry.objects.count() == 0


def test_spaces_and_dashes_a_person_typed_are_ignored(api):
    member = MemberFactory()
    n = member.member_number

    response = api.get(f"/api/v1/members/{n[:4]}-{n[4:7]}%20{n[7:]}/")

    assert response.status_code == 200
    assert response.json()["member_number"] == n
