"""Purchases posted through the API, against a bare endpoint, on one gunicorn in one run.

gunicorn (2 sync workers, ``DJANGO_SETTINGS_MODULE=bench.settings``, the production code
with ``DEBUG`` off) serves the project; a load client on loopback (threads, ``http.client``,
each request its own ``Idempotency-Key``) posts baskets of five items to
``POST /api/v1/transactions/`` and, alternately in rounds of the same length, an empty
body to the bare endpoint (``bench/urls.py``: the same key authenticated and its scope
checked, then a constant). Until the transactions API exists the harness posts a points
adjustment (``/api/v1/members/<number>/adjustments/``) instead and says so.

Statements per purchase are counted in this process with ``connection.execute_wrapper``
around the Django test client's POST of the same body, for 10 active campaigns and again
for 2 (the 2 that match): they must be equal. Each count follows a purchase that warms the
process (the key's last use, the content types, the earning rules it keeps until they change).
"""

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from . import earning

PURCHASES_PATH = "/api/v1/transactions/"
BARE_PATH = "/api/v1/bench/bare/"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with ``workers`` sync workers on ``port`` (by default a free one) of loopback, for a ``with``.

    ``quiet``: its standard output (the access log) is dropped.
    """

    def __init__(self, workers: int, port: int | None = None, quiet: bool = False):
        self.workers, self.port, self.process, self.quiet = workers, port or _free_port(), None, quiet

    def __enter__(self):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DEBUG": "false"}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [str(gunicorn), "loyalty.wsgi:application", "--workers", str(self.workers), "--bind",
             f"127.0.0.1:{self.port}", "--log-level", "warning", "--preload"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL if self.quiet else None,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _body, _seconds = _request(self.port, "GET", "/healthz", None, {})
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _request(port: int, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, bytes, float]:
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return response.status, data, time.perf_counter() - began


def _load(port: int, make_request, *, clients: int, seconds: float) -> dict:
    """``clients`` threads posting ``make_request(n) -> (path, body)`` for ``seconds``; latencies and errors."""
    latencies, errors, lock = [], [], threading.Lock()
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    def client():
        mine, failed = [], []
        while time.perf_counter() < deadline:
            with lock:
                n = next(counter)
            path, body, headers = make_request(n)
            status, data, elapsed = _request(port, "POST", path, body, headers)
            if status in (200, 201):
                mine.append(elapsed)
            else:
                failed.append((status, data[:300]))
        with lock:
            latencies.extend(mine)
            errors.extend(failed)

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"seconds": time.perf_counter() - began, "latencies": latencies, "errors": errors}


def _summary(rounds: list[dict]) -> dict:
    latencies = sorted(latency for r in rounds for latency in r["latencies"])
    seconds = sum(r["seconds"] for r in rounds)
    errors = [error for r in rounds for error in r["errors"]]
    if not latencies:
        return {"requests": 0, "errors": len(errors), "first_errors": [str(e) for e in errors[:3]]}
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "first_errors": [str(e) for e in errors[:3]],
        "seconds": round(seconds, 2),
        "requests_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
    }


def purchase_body(n: int, member: str, now: datetime) -> dict:
    lines = earning.basket(n)
    return {
        "external_id": f"api-{n}-{uuid.uuid4().hex[:12]}",
        "member": member,
        "occurred_at": (now - timedelta(seconds=n % 600)).isoformat(),
        "amount": str(earning.basket_amount(lines)),
        "currency": "EUR",
        "channel": "store",
        "store": "Bench 1",
        "items": [
            {"sku": line["sku"], "category": line["category"], "quantity": str(line["quantity"]),
             "unit_price": str(line["unit_price"])}
            for line in lines
        ],
    }  # fmt: skip


def transactions_api_exists() -> bool:
    from django.urls import Resolver404, resolve

    try:
        return resolve(PURCHASES_PATH, urlconf="bench.urls").url_name != "api-not-found"
    except Resolver404:
        return False


def run(*, now: datetime, members: list[str], key: str, workers: int, clients: int, rounds: int, seconds: float):
    """The load test; ``members``' numbers are spread over the requests."""
    real = transactions_api_exists()
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def bare(n):
        return BARE_PATH, b"{}", {**auth, "Idempotency-Key": f"bare-{n}-{uuid.uuid4().hex}"}

    def purchase(n):
        member = members[n % len(members)]
        headers = {**auth, "Idempotency-Key": f"p-{n}-{uuid.uuid4().hex}"}
        if real:
            return PURCHASES_PATH, json.dumps(purchase_body(n, member, now)).encode(), headers
        body = {"points": 10, "reason": "Bench placeholder"}
        return f"/api/v1/members/{member}/adjustments/", json.dumps(body).encode(), headers

    bare_rounds, purchase_rounds = [], []
    with Server(workers) as server:
        _load(server.port, bare, clients=clients, seconds=2)  # warm both paths in both workers
        _load(server.port, purchase, clients=clients, seconds=2)
        for _ in range(rounds):
            bare_rounds.append(_load(server.port, bare, clients=clients, seconds=seconds))
            purchase_rounds.append(_load(server.port, purchase, clients=clients, seconds=seconds))
    result = {
        "workers": workers,
        "clients": clients,
        "endpoint": PURCHASES_PATH if real else "/api/v1/members/<number>/adjustments/ (placeholder)",
        "bare": _summary(bare_rounds),
        "purchases": _summary(purchase_rounds),
    }
    if result["bare"].get("requests_per_second") and result["purchases"].get("requests_per_second"):
        result["ratio"] = round(result["purchases"]["requests_per_second"] / result["bare"]["requests_per_second"], 3)
    return result


def statements_per_purchase(*, now: datetime, members: list[str], key: str) -> dict:
    """SQL statements of one purchase POST, counted in-process (the test client, the bench's URLs)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    if not transactions_api_exists():
        return {}
    counted = []

    def count(execute, sql, params, many, context):
        counted.append(sql)
        return execute(sql, params, many, context)

    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    with override_settings(
        ROOT_URLCONF="bench.urls", API_RATE_LIMIT="", SECURE_SSL_REDIRECT=False, ALLOWED_HOSTS=["testserver"]
    ):
        for n, member in enumerate(members[:3]):  # warm: content types, the key's last use, the rules kept
            client.post(PURCHASES_PATH, purchase_body(10**6 + n, member, now), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY=f"warm-{uuid.uuid4().hex}", **auth)  # fmt: skip
        with connection.execute_wrapper(count):
            response = client.post(
                PURCHASES_PATH,
                purchase_body(2 * 10**6, members[3], now),
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"count-{uuid.uuid4().hex}",
                **auth,
            )
    result = {"status": response.status_code, "statements": len(counted), "sql": [sql[:160] for sql in counted]}
    # The same with only the campaigns that match: the eight others must cost no statement.
    from campaigns.campaign_services import earning_rules_changed
    from campaigns.models import Campaign, CampaignStatus

    others = list(
        Campaign.objects.filter(status=CampaignStatus.ACTIVE)
        .exclude(name__in=earning.MATCHING)
        .values_list("pk", flat=True)
    )
    Campaign.objects.filter(pk__in=others).update(status=CampaignStatus.PAUSED)
    earning_rules_changed()  # an update() sends no signal
    counted.clear()
    settings = {"ROOT_URLCONF": "bench.urls", "API_RATE_LIMIT": "", "SECURE_SSL_REDIRECT": False}
    try:
        with override_settings(**settings, ALLOWED_HOSTS=["testserver"]):
            # warm again: the rules changed, the first purchase reads them (then kept, as before the first count)
            client.post(PURCHASES_PATH, purchase_body(3 * 10**6 - 1, members[5], now), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY=f"warm-{uuid.uuid4().hex}", **auth)  # fmt: skip
            with connection.execute_wrapper(count):
                client.post(
                    PURCHASES_PATH,
                    purchase_body(3 * 10**6, members[4], now),
                    content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY=f"count-{uuid.uuid4().hex}",
                    **auth,
                )
    finally:
        Campaign.objects.filter(pk__in=others).update(status=CampaignStatus.ACTIVE)
        earning_rules_changed()
    result["statements_matching_only"] = len(counted)
    result["campaigns"] = len(others) + len(earning.MATCHING)
    return result
