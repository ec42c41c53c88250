"""The pure rules of referrals: codes, and the e-mail comparison that catches a self-referral.

``email_canonical`` is the one place that says which providers ignore what, so the guard
compares what the mailbox really is: ``Ada.Lovelace+shop@gmail.com`` and
``adalovelace@googlemail.com`` reach one inbox.
"""

import secrets

# No 0/O, 1/I/L, U: read aloud or typed from a phone, no two characters look alike.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8  # 30^8 ≈ 6.6e11 codes: guessing one that exists is out of reach of rate-limited sign-ups

# Providers whose mailboxes ignore dots in the local part (and their alias domain).
DOTS_IGNORED = {"gmail.com", "googlemail.com"}
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
# Providers that deliver user+anything@ to user@ (sub-addressing with "+").
PLUS_TAGS_IGNORED = DOTS_IGNORED | {
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "fastmail.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "yandex.com",
    "yandex.ru",
}


def code_new() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_clean(raw: str) -> str:
    """A code as typed: case, spaces and dashes do not matter."""
    return "".join(raw.split()).replace("-", "").upper()


def email_canonical(email: str) -> str:
    """The mailbox an address reaches: lower case; dots and ``+tags`` dropped where the provider ignores them."""
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    if domain in PLUS_TAGS_IGNORED:
        local = local.split("+", 1)[0]
    if domain in DOTS_IGNORED:
        local = local.replace(".", "")
    return f"{local}@{DOMAIN_ALIASES.get(domain, domain)}"
