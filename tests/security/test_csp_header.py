"""Every response carries the enforced Content-Security-Policy; a path prefix can add sources."""

import pytest
from django.templatetags.static import static

POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def _directives(header: str) -> set[str]:
    return {part.strip() for part in header.split(";")}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/login/", id="portal"),
        pytest.param("/admin/login/", id="admin"),
        pytest.param("/api/v1/docs/", id="api-docs"),
        pytest.param("/api/v1/docs/?script=", id="api-docs-script"),
        pytest.param("/api/v1/schema/", id="api-schema"),
        pytest.param("/api/v1/members/0000000000/", id="api-error"),
    ],
)
def test_every_door_sends_the_enforced_policy(client, db, path):
    response = client.get(path)

    assert set(POLICY) <= _directives(response["Content-Security-Policy"])
    assert "Content-Security-Policy-Report-Only" not in response


def test_the_docs_page_has_no_inline_script_or_style_and_no_cdn(client, db):
    html = client.get("/api/v1/docs/").content.decode()

    assert "<style" not in html
    assert "<script>" not in html
    # Served from our own static files: the name the storage gives it (hashed from the manifest under DEBUG=False).
    assert f'src="{static("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")}"' in html
    assert "cdn" not in html.lower()


def test_a_path_prefix_adds_sources_for_its_pages_only(client, db, settings):
    settings.CSP_PATH_UPDATES = {"/admin/": {"script-src": ["'unsafe-eval'"]}}

    admin = _directives(client.get("/admin/login/")["Content-Security-Policy"])
    portal = _directives(client.get("/login/")["Content-Security-Policy"])

    assert "script-src 'self' 'unsafe-eval'" in admin
    assert "script-src 'self'" in portal
