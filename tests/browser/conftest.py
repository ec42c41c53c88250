"""Playwright driving Debian's headless Chromium (``/usr/bin/chromium``) against pytest-django's live server.

Screenshots go to ``test-output/browser/<test>/`` (or ``$TEST_OUTPUT_DIR/browser``). Without
Chromium the tests are skipped, unless ``REQUIRE_BROWSER=1`` (CI sets it) makes that a failure.

Every page a test opens is watched: a Content-Security-Policy violation or an error on the
console (a failed script, a blocked resource) fails the test at teardown, so every browser test
also proves that its pages pass the CSP. A test that expects an error (a 404 page, say) empties
``page.console_problems`` after checking it.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT_DIR = Path(os.environ.get("TEST_OUTPUT_DIR", Path(settings.BASE_DIR) / "test-output")) / "browser"

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server; in production mode its static files are served by whitenoise, as under
    gunicorn.

    pytest-django puts staticfiles' handler in front, which looks files up by their source names
    (the finders): right for the development settings. Under production settings (DEBUG=False in
    the environment) the pages name the hashed files of collectstatic's manifest
    (``portal.3f2a9c1e.css``), which only whitenoise serves, from STATIC_ROOT (CI collects first).
    """
    from django.conf import settings
    from pytest_django.live_server_helper import LiveServer

    addr = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(addr, start=False)
    if "Manifest" in settings.STORAGES["staticfiles"]["BACKEND"]:
        server.thread.static_handler = _served_by_the_app
    server.start()
    yield server
    server.stop()


def _served_by_the_app(handler):
    return handler


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server, request):
    context = chromium.new_context(base_url=live_server.url, accept_downloads=True, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    folder = OUTPUT_DIR / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    shots = iter(range(1, 100))
    page.screenshot_step = lambda name: page.screenshot(path=folder / f"{next(shots):02d}-{name}.png", full_page=True)
    page.console_problems = problems = []
    context.expose_binding(
        "reportCspViolation",
        lambda source, violation: problems.append(f"CSP violation on {source['frame'].url}: {violation}"),
    )
    context.add_init_script(CSP_VIOLATION_LISTENER)
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and problems.append(f"console error: {message.text} ({message.location.get('url')})")
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"uncaught error: {error}"))
    yield page
    context.close()
    assert not problems, "the browser reported:\n" + "\n".join(problems)


# Runs in every document before its own scripts: reports each blocked resource or inline code.
CSP_VIOLATION_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`
    + ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`
  );
});
"""
