"""Under DEBUG=False static files have hashed names from collectstatic's manifest, served by whitenoise."""

import json
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.templatetags.static import static
from django.test import override_settings

MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def _storages_in_a_fresh_process(**env) -> dict:
    code = "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps(s.STORAGES))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "loyalty.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("debug", "backend"),
    [
        pytest.param("False", MANIFEST_STORAGE, id="production-hashed"),
        pytest.param("True", "whitenoise.storage.CompressedStaticFilesStorage", id="development-plain"),
    ],
)
def test_the_static_storage_follows_debug(debug, backend):
    assert _storages_in_a_fresh_process(DEBUG=debug)["staticfiles"]["BACKEND"] == backend


def _production_static(root) -> dict:
    return {
        "DEBUG": False,
        "STATIC_ROOT": root,
        "STORAGES": {**django_settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}},
    }


@pytest.fixture(scope="module")
def collected_root(tmp_path_factory):
    """What `collectstatic` writes in production, once, into a folder of the tests' own."""
    root = tmp_path_factory.mktemp("staticfiles")
    with override_settings(**_production_static(root)):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture
def collected(settings, collected_root):
    for name, value in _production_static(collected_root).items():
        setattr(settings, name, value)
    return collected_root


def test_a_page_links_the_hashed_name_that_whitenoise_serves_for_ever(client, db, collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    hashed = manifest["portal.css"]

    page = client.get("/login/")
    served = client.get(f"/static/{hashed}")

    assert hashed != "portal.css"
    assert re.fullmatch(r"portal\.[0-9a-f]{12}\.css", hashed)
    assert static("portal.css") == f"/static/{hashed}"
    assert f'href="/static/{hashed}"'.encode() in page.content
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == (django_settings.BASE_DIR / "static" / "portal.css").read_bytes()
    assert served["Cache-Control"] == "max-age=315360000, public, immutable"


def test_a_compressed_copy_is_served_to_who_accepts_it(client, db, collected):
    hashed = static("portal.js")

    served = client.get(hashed, HTTP_ACCEPT_ENCODING="gzip")

    assert served.status_code == 200
    assert served["Content-Encoding"] == "gzip"
