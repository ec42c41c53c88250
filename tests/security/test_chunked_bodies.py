"""A JSON body sent with ``Transfer-Encoding: chunked`` (no Content-Length), through real servers.

gunicorn decodes the chunks and says so (``wsgi.input_terminated``): the body is read, within
the API's size limit. Django's own server cannot: it refuses with 411 instead of reading the
body as empty. The test client cannot send chunked bodies, hence real servers and http.client.
"""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection

from members.models import Member
from tests.factories.partners import partner_key


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """A gunicorn process serving the project on the test database; yields (host, port)."""
    log = tmp_path / "gunicorn.log"
    # Reached at 127.0.0.1, the host it allows (CI's production leg sets ALLOWED_HOSTS to another).
    env = {**os.environ, "DATABASE_URL": _database_url(), "DEBUG": "True", "ALLOWED_HOSTS": "127.0.0.1"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "loyalty.wsgi", "--bind", "127.0.0.1:0", "--workers", "1"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not (match := re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", log.read_text())):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start within 30 s"
            time.sleep(0.1)
        yield "127.0.0.1", int(match.group(1))
    finally:
        process.terminate()
        process.wait(timeout=20)


def post_chunked(host: str, port: int, path: str, body: bytes, key: str) -> tuple[int, dict]:
    """POST ``body`` in chunks of 1 KiB with Transfer-Encoding: chunked and no Content-Length."""
    chunks = (body[start : start + 1024] for start in range(0, len(body), 1024))
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request(
            "POST",
            path,
            body=chunks,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "Idempotency-Key": "chunked-1",
            },
            encode_chunked=True,
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


ENROL = json.dumps({"email": "chunked@example.com", "first_name": "Chunked", "last_name": "Body"}).encode()


def test_gunicorn_reads_a_chunked_json_body(gunicorn):
    _, key = partner_key()

    status, body = post_chunked(*gunicorn, "/api/v1/members/", ENROL, key)

    assert status == 201, body
    assert body["email"] == "chunked@example.com"
    assert Member.objects.get().user.email == "chunked@example.com"


def test_a_chunked_body_over_the_api_limit_gets_413(gunicorn):
    _, key = partner_key()
    body = json.dumps({"email": "big@example.com", "first_name": "x" * 70_000, "last_name": "B"}).encode()

    status, answer = post_chunked(*gunicorn, "/api/v1/members/", body, key)

    assert status == 413
    assert answer["error"]["code"] == "payload_too_large"
    assert Member.objects.count() == 0


def test_a_chunked_body_over_djangos_upload_limit_gets_413(gunicorn):
    _, key = partner_key()
    body = json.dumps({"email": "big@example.com", "first_name": "x" * 2_700_000}).encode()

    status, answer = post_chunked(*gunicorn, "/api/v1/members/", body, key)

    assert status == 413
    assert answer["error"] == {
        "code": "payload_too_large",
        "message": "The request body is larger than 2621440 bytes.",
        "fields": {},
    }
    assert Member.objects.count() == 0


def test_djangos_own_server_refuses_a_chunked_body_with_411(live_server):
    _, key = partner_key()
    address = urlsplit(live_server.url)
    # One write, so the server has the whole request before it answers (http.client would still
    # be sending the last chunk when the server closes).
    request = (
        (
            f"POST /api/v1/members/ HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nIdempotency-Key: chunked-2\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        + f"{len(ENROL):x}\r\n".encode()
        + ENROL
        + b"\r\n0\r\n\r\n"
    )

    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        status, answer = response.status, json.loads(response.read())

    assert status == 411
    assert answer == {
        "error": {
            "code": "length_required",
            "message": "This server cannot read a chunked request body: send Content-Length.",
            "fields": {},
        }
    }
    assert Member.objects.count() == 0
