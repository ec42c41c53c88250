"""The request id: taken from X-Request-ID when sane, else new; on the response, in the logs, in the tasks enqueued."""

import json
import logging
import os
import subprocess
import sys
import time
import uuid

import pytest
from celery.signals import before_task_publish
from django.conf import settings
from django.db import connection

from loyalty import request_id
from loyalty.celery import app
from loyalty.logging import JsonFormatter
from tests.ledger.test_tasks import worker_ready

pytestmark = pytest.mark.urls("tests.production.urls")


def is_uuid4(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def test_a_request_without_an_id_gets_a_new_uuid4_on_the_response(client, db):
    first = client.get("/healthz")
    second = client.get("/healthz")

    assert is_uuid4(first["X-Request-ID"])
    assert is_uuid4(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param("3f2c1a9e-8b7d-4c6e-a5f4-0123456789ab", id="uuid"),
        pytest.param("d0c3d1f1b9a24e4c8f00a1b2c3d4e5f6", id="nginx-request-id"),
        pytest.param("web-1.req:42_a", id="letters-digits-and-._:-"),
        pytest.param("x" * 128, id="128-characters"),
    ],
)
def test_a_sane_request_id_is_kept(client, db, sent):
    assert client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"] == sent


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * 129, id="too-long"),
        pytest.param("abc def", id="space"),
        pytest.param('abc"}, "level": "CRITICAL', id="json-injection"),
        pytest.param("abc\tdef", id="tab"),
        pytest.param("<script>", id="markup"),
        pytest.param("été", id="not-ascii"),
    ],
)
def test_a_malformed_request_id_is_replaced_by_a_new_one(client, db, sent):
    answered = client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]

    assert answered != sent
    assert is_uuid4(answered)


def test_every_log_record_of_the_request_carries_its_id_and_none_after(client, db, caplog):
    caplog.set_level(logging.INFO, logger="tests.production")

    client.get("/enqueue/", {"broker": "memory://", "queue": "test"}, HTTP_X_REQUEST_ID="req-1")
    logging.getLogger("tests.production").info("after the request")

    assert [(r.getMessage(), r.request_id) for r in caplog.records if r.name == "tests.production"] == [
        ("enqueuing", "req-1"),
        ("after the request", None),
    ]
    assert request_id.current.get() is None


def test_django_s_log_of_a_failed_request_carries_its_id(client, db, caplog):
    client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-404")

    assert [(r.getMessage(), r.request_id) for r in caplog.records if r.name == "django.request"] == [
        ("Not Found: /no-such-page/", "req-404")
    ]


def test_a_task_enqueued_during_a_request_carries_its_id_in_a_header(client, db):
    published = []

    def spy(headers=None, **kwargs):
        published.append(dict(headers))

    before_task_publish.connect(spy, weak=False)
    try:
        response = client.get("/enqueue/", {"broker": "memory://", "queue": "test"}, HTTP_X_REQUEST_ID="req-42")
    finally:
        before_task_publish.disconnect(spy)

    assert response.status_code == 200
    assert [(headers["task"], headers["request_id"]) for headers in published] == [("ledger.expire_points", "req-42")]


def test_a_task_published_outside_a_request_has_no_request_id_header():
    published = []
    before_task_publish.connect(lambda headers=None, **kwargs: published.append(dict(headers)), weak=False)
    from kombu import Connection

    with Connection("memory://") as memory:
        app.send_task("ledger.expire_points", queue="test", connection=memory)
    before_task_publish.receivers.pop()

    assert "request_id" not in published[0]


def test_a_task_runs_under_the_request_id_of_its_header_and_restores_the_one_before():
    @app.task(name="tests.production.current_request_id", shared=False)
    def current_request_id():
        logging.getLogger("tests.production").warning("in the task")
        return request_id.current.get()

    token = request_id.current.set("the-request")
    try:
        from_header = current_request_id.apply(headers={"request_id": "from-the-header"}).get()
        malformed = current_request_id.apply(headers={"request_id": "not sane"}).get()
        eager = current_request_id.apply().get()
        after = request_id.current.get()
    finally:
        request_id.current.reset(token)

    assert (from_header, malformed, eager, after) == ("from-the-header", "the-request", "the-request", "the-request")


# A real worker on Redis: the task's log lines name the request that enqueued it.


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def json_worker(redis_url, tmp_path):
    queue = f"test-{uuid.uuid4().hex}"
    env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": redis_url, "LOG_FORMAT": "json"}
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "--app",
                "loyalty",
                "worker",
                "--pool",
                "solo",
                "--queues",
                queue,
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker_ready(redis_url, queue, process)  # a task sent before the worker binds its queue is lost
    yield queue, log
    process.terminate()
    process.wait(timeout=20)
    print(log.read_text())  # noqa: T201  (shown by pytest only when the test fails)


def _json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


@pytest.mark.django_db(transaction=True)
def test_a_worker_logs_the_task_under_the_id_of_the_request_that_enqueued_it(client, json_worker, redis_url):
    queue, log = json_worker

    response = client.get("/enqueue/", {"broker": redis_url, "queue": queue}, HTTP_X_REQUEST_ID="req-to-worker")

    assert response.status_code == 200
    deadline = time.monotonic() + 60
    while not any("succeeded" in line["message"] for line in _json_lines(log.read_text())):
        assert time.monotonic() < deadline, "the worker did not run the task within 60 s"
        time.sleep(0.2)
    succeeded = [line for line in _json_lines(log.read_text()) if "succeeded" in line["message"]]
    assert [(line["logger"], line["request_id"]) for line in succeeded] == [("celery.app.trace", "req-to-worker")]
    assert "ledger.expire_points" in succeeded[0]["message"]


def test_the_formatter_writes_one_json_object_with_the_request_id():
    token = request_id.current.set("req-7")
    try:
        record = logging.getLogger("loyalty.test").makeRecord(
            "loyalty.test", logging.WARNING, __file__, 1, "points %s for %s", (40, "ada"), None, extra={"member": 12}
        )
    finally:
        request_id.current.reset(token)

    line = json.loads(JsonFormatter().format(record))

    assert set(line) == {"time", "level", "logger", "message", "request_id", "member"}
    assert (line["level"], line["logger"], line["message"], line["request_id"], line["member"]) == (
        "WARNING",
        "loyalty.test",
        "points 40 for ada",
        "req-7",
        12,
    )
    assert line["time"].endswith("+00:00")
