"""What a nickname may be: shown to other members, so it must not identify, impersonate or offend.

3 to 20 characters: letters (any alphabet), digits, spaces, ``-`` and ``_``; starting and ending
with a letter or a digit; at most 4 digits (no card or phone number); no ``@`` or ``.`` (no
e-mail address or web address). Names of the program's staff roles and a short list of
offensive words (English and French, also written with look-alike digits) are refused. A
list is a first line only: staff reset an abusive nickname from the admin.
"""

import re
import unicodedata

from django.utils.translation import gettext as _

from loyalty.exceptions import ValidationError

MIN_LENGTH, MAX_LENGTH, MAX_DIGITS = 3, 20, 4
_ALLOWED = re.compile(r"^[^\W_](?:[\w -]*[^\W_])?$")
_LOOK_ALIKES = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "!": "i"})
# Anywhere in the name (letters only, accents and separators removed).
_REFUSED_INSIDE = (
    "fuck", "shit", "cunt", "bitch", "nigg", "fagg", "whore", "slut", "rape", "nazi", "hitler",
    "merde", "putain", "salope", "connard", "connasse", "encul", "batard", "pedo",
    "admin", "moderat", "support", "staff", "official", "officiel",
)  # fmt: skip
# As a whole word only (they are inside innocent words).
_REFUSED_WORDS = {"ass", "dick", "cock", "pute", "con", "conne", "pd", "sex", "porn"}


def nickname_clean(value: str) -> str:
    """The nickname, spaces squeezed; raises ``ValidationError`` (field ``nickname``) with the reason."""
    nickname = " ".join((value or "").split())
    if not MIN_LENGTH <= len(nickname) <= MAX_LENGTH:
        raise ValidationError(
            _("A nickname has %(min)s to %(max)s characters.") % {"min": MIN_LENGTH, "max": MAX_LENGTH},
            field="nickname",
        )
    if "@" in nickname or "." in nickname or not _ALLOWED.match(nickname):
        raise ValidationError(
            _("Use letters, digits, spaces, - and _ only, starting and ending with a letter or a digit."),
            field="nickname",
        )
    if sum(character.isdigit() for character in nickname) > MAX_DIGITS:
        raise ValidationError(_("A nickname has at most %(count)s digits.") % {"count": MAX_DIGITS}, field="nickname")
    if _offensive(nickname):
        raise ValidationError(_("Choose another nickname: this one is not allowed."), field="nickname")
    return nickname


def _offensive(nickname: str) -> bool:
    plain = unicodedata.normalize("NFKD", nickname.lower().translate(_LOOK_ALIKES))
    plain = "".join(character for character in plain if not unicodedata.combining(character))
    words = re.split(r"[\s_-]+", plain)
    squeezed = re.sub(r"[^a-z]", "", plain)
    return any(word in squeezed for word in _REFUSED_INSIDE) or any(word in _REFUSED_WORDS for word in words)
