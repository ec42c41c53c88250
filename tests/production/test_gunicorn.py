"""gunicorn.conf.py: settings from the environment; a real gunicorn writes JSON access lines with the request id."""

import itertools
import json
import os
import runpy
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings

CONFIG = settings.BASE_DIR / "gunicorn.conf.py"
VARIABLES = ("WEB_CONCURRENCY", "TRUSTED_PROXY_COUNT", "FORWARDED_ALLOW_IPS", "GUNICORN_BIND", "PORT", "LOG_FORMAT")


def config(monkeypatch, **env) -> dict:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_workers_default_to_two_a_core_plus_one_capped_at_twelve(monkeypatch):
    cores = len(os.sched_getaffinity(0))

    assert config(monkeypatch)["workers"] == min(2 * cores + 1, 12)
    assert config(monkeypatch, WEB_CONCURRENCY="3")["workers"] == 3


def test_it_binds_every_interface_on_port_8000_unless_told(monkeypatch):
    assert config(monkeypatch)["bind"] == "0.0.0.0:8000"
    assert config(monkeypatch, PORT="9000")["bind"] == "0.0.0.0:9000"
    assert config(monkeypatch, GUNICORN_BIND="127.0.0.1:8001")["bind"] == "127.0.0.1:8001"


@pytest.mark.parametrize(
    ("env", "allowed"),
    [
        pytest.param({}, "", id="no-proxy-no-one"),
        pytest.param({"TRUSTED_PROXY_COUNT": "0", "FORWARDED_ALLOW_IPS": "*"}, "", id="no-proxy-whatever-else-says"),
        pytest.param({"TRUSTED_PROXY_COUNT": "1"}, "*", id="behind-a-proxy"),
        pytest.param({"TRUSTED_PROXY_COUNT": "1", "FORWARDED_ALLOW_IPS": "10.0.0.0/8"}, "10.0.0.0/8", id="a-network"),
    ],
)
def test_forwarded_headers_are_believed_only_behind_configured_proxies(monkeypatch, env, allowed):
    values = config(monkeypatch, **env)

    assert values["forwarded_allow_ips"] == allowed
    assert values["secure_scheme_headers"] == {"X-FORWARDED-PROTO": "https"}
    assert values["forwarder_headers"] == ""


def test_text_logs_leave_gunicorn_its_own_format(monkeypatch):
    assert "logconfig_dict" in config(monkeypatch)
    assert "logconfig_dict" not in config(monkeypatch, LOG_FORMAT="text")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gunicorn_serves_with_the_config_and_logs_each_request_as_json(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "WEB_CONCURRENCY": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1",  # the host it is reached at (CI's production leg sets another)
        "LOG_FORMAT": "json",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG), "loyalty.wsgi"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        for attempt in itertools.count(1):  # each try its own id: a try that timed out may still be logged
            try:
                sent = f"gun-{attempt}"
                request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": sent})
                # Refused until gunicorn listens; then wait for the answer rather than send it twice: the socket
                # listens before the worker has loaded Django (under DEBUG=False whitenoise reads STATIC_ROOT too).
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = (response.status, response.headers["X-Request-ID"], response.read())
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        time.sleep(0.3)  # the access line follows the response
    finally:
        process.terminate()
        process.wait(timeout=20)

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "gunicorn.access" and line["request_id"] == sent]
    assert answer == (200, sent, b"ok")
    assert len(access) == 1
    assert {key: access[0][key] for key in ("method", "path", "status", "request_id", "remote_addr")} == {
        "method": "GET",
        "path": "/healthz",
        "status": 200,
        "request_id": sent,
        "remote_addr": "127.0.0.1",
    }
    assert access[0]["duration_ms"] >= 0
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
    assert len(lines) == len(log.read_text().splitlines()), "every line gunicorn wrote is JSON"
