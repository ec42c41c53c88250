"""Member numbers: 9 random digits and a Luhn check digit, checked wherever one is typed."""

import secrets

from loyalty.exceptions import InvalidMemberNumber

MEMBER_NUMBER_LENGTH = 10


def luhn_check_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def member_number_new() -> str:
    """A random 10-digit member number whose last digit is a Luhn check digit."""
    body = str(secrets.randbelow(9 * 10**8) + 10**8)
    return body + luhn_check_digit(body)


def member_number_clean(value: str) -> str:
    """``value`` as a member number (spaces and dashes a person typed are dropped).

    Raises ``InvalidMemberNumber`` when it is not 10 ASCII digits or its check digit is
    wrong, before any lookup: a mistyped number is told apart from an unknown member.
    """
    number = str(value).replace(" ", "").replace("-", "")
    if len(number) != MEMBER_NUMBER_LENGTH or not (number.isascii() and number.isdigit()):
        raise InvalidMemberNumber("A member number has 10 digits.", field="member_number")
    if luhn_check_digit(number[:-1]) != number[-1]:
        raise InvalidMemberNumber(field="member_number")
    return number


def member_number_grouped(number: str) -> str:
    """``"1234567890"`` as ``"123 456 789 0"`` for reading: three groups of three, then the check digit alone."""
    body, check = number[:-1], number[-1]
    return " ".join([body[start : start + 3] for start in range(0, len(body), 3)] + [check])
