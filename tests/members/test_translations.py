"""The portal ships in English and French: every string is translated and the compiled catalog is current."""

from pathlib import Path

import polib
from django.conf import settings
from django.urls import reverse

CATALOG = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES"


def test_every_french_message_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(CATALOG / "django.po"))

    assert [entry.msgid for entry in po.untranslated_entries()] == []
    assert [entry.msgid for entry in po.fuzzy_entries()] == []
    assert po.metadata["Plural-Forms"] == "nplurals=2; plural=(n > 1);"


def test_the_compiled_catalog_matches_the_translations():
    po = polib.pofile(str(CATALOG / "django.po"))
    mo = polib.mofile(str(CATALOG / "django.mo"))

    def messages(catalog):
        return {(entry.msgid, entry.msgid_plural): (entry.msgstr, entry.msgstr_plural) for entry in catalog}

    translated = {key: value for key, value in messages(po).items() if key[0] and not po.find(key[0]).obsolete}
    assert {key: value for key, value in messages(mo).items() if key[0]} == translated


def test_a_member_reads_the_portal_in_french(member_client, member):
    member_client.post(reverse("portal:language"), {"language": "fr"})

    html = member_client.get(reverse("portal:dashboard")).content.decode()

    assert '<html lang="fr">' in html
    for french in ("Mes points", "Historique", "Calendrier d’expiration", "Se déconnecter", "Numéro de membre"):
        assert french in html
    for english in ("My points", "Expiry timeline", "Log out"):
        assert english not in html
