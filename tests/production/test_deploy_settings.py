"""The production settings (DEBUG=False and the services of .ci/run) pass `check --deploy` and log JSON."""

import json
import os
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "loyalty.settings",
    "DEBUG": "False",
    "SECRET_KEY": "a-production-secret-" + "x" * 50,
    "ALLOWED_HOSTS": "loyalty.example.com",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def _run(*args: str, **env) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("LOG_FORMAT", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env={**environment, **PRODUCTION, **env},
        capture_output=True,
        text=True,
    )


def test_check_deploy_passes_with_production_settings():
    result = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert (result.returncode, result.stdout.strip()) == (0, "System check identified no issues (0 silenced)."), (
        result.stderr
    )


def test_production_logs_are_json_lines_with_the_request_id():
    code = (
        "import django, logging; django.setup(); from loyalty import request_id; "
        "request_id.current.set('req-9'); logging.getLogger('loyalty').warning('points %s', 5)"
    )

    result = _run("-c", code)

    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert (line["level"], line["logger"], line["message"], line["request_id"]) == (
        "WARNING",
        "loyalty",
        "points 5",
        "req-9",
    )
