"""Phone numbers in one form (E.164: ``+`` and 8 to 15 digits), so that two members can be compared."""

import re

from loyalty.exceptions import ValidationError

_SEPARATORS = re.compile(r"[\s.\-()/]")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def phone_normalize(raw: str) -> str:
    """``+33 6 12-34-56-78`` or ``0033612345678`` → ``+33612345678``; blank stays blank.

    Raises ``ValidationError`` (field ``phone``) for anything else: the number needs its
    country code, as a national number cannot be compared across countries.
    """
    compact = _SEPARATORS.sub("", raw or "")
    if not compact:
        return ""
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _E164.fullmatch(compact):
        raise ValidationError("Give the phone number with its country code, e.g. +33 6 12 34 56 78.", field="phone")
    return compact
