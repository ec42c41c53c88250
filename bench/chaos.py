"""``python -m bench.chaos``: load through gunicorn while workers and Redis are killed; nothing lost or doubled.

Everything runs on loopback and stops by itself. The script starts its own ``redis-server``
(port ``CHAOS_REDIS_PORT``, 6390 by default, no persistence: a restart loses the queues), gunicorn
(2 workers, port ``CHAOS_PORT``, 8790 by default), two Celery workers (solo pool, ``acks_late``,
visibility timeout ``CHAOS_VISIBILITY_TIMEOUT`` = 30 s, queue ``chaos``), Celery beat with the
project's schedule,
and a webhook receiver (``http.server``) registered as both partners' endpoint.

For ``CHAOS_SECONDS`` (600 by default) four client threads, each with its own members, post from
two partners: purchases, points adjustments, redemptions of a reward (with the member's presence
code) and holds (create, then capture or void), each request its own ``Idempotency-Key``. A
request without an answer, or answered 5xx, is sent again with its key (up to 8 times, a second
apart at first, ``Retry-After`` honoured). Expiry and tier recalculation are also sent every 5 s
(beat runs them daily). A killer thread, at random moments (about every 15 s), SIGKILLs a
gunicorn worker (the master forks another), SIGKILLs a Celery worker while a task runs (and
starts another), or restarts Redis.

Afterwards: requests still without an answer are retried; the webhooks are left to drain (the
outbox sweep and the retry sweep run every minute, bounded by ``CHAOS_DRAIN_SECONDS``); then
``audit()`` must have 0 problems, every 2xx purchase, adjustment, redemption and hold be in the
database exactly once (by its external id, reason, or idempotency key), every capture or void
answered 2xx have closed its hold that way, a replay of 2xx requests with their keys return the
first result, and every outbox event due to the receiver's endpoints have been received at least
once, with a valid signature (duplicates are counted: receivers de-duplicate by id). The report
goes to bench/results/chaos-latest.json; the exit status is 1 on any violation.
"""

import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECONDS = int(os.environ.get("CHAOS_SECONDS", "600"))
REDIS_PORT = int(os.environ.get("CHAOS_REDIS_PORT", "6390"))
PORT = int(os.environ.get("CHAOS_PORT", "8790"))
VISIBILITY_TIMEOUT = int(os.environ.get("CHAOS_VISIBILITY_TIMEOUT", "30"))
DRAIN_SECONDS = int(os.environ.get("CHAOS_DRAIN_SECONDS", "600"))
REDIS = f"redis://127.0.0.1:{REDIS_PORT}"
CLIENTS = 4
MEMBERS = 500
WORKERS = 2  # Celery worker processes (solo pool: one task each at a time)
ATTEMPTS = 8  # sends of one request (the first and its retries) during the load
TASK_LOG = Path(tempfile.gettempdir()) / f"chaos-tasks-{os.getpid()}.log"
ENV = {
    "DEBUG": "false",
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "CELERY_BROKER_URL": f"{REDIS}/0",
    "CACHE_URL": f"{REDIS}/1",
    "CELERY_TASK_DEFAULT_QUEUE": "chaos",
    "CHAOS_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    "CHAOS_TASK_LOG": str(TASK_LOG),
    "LOYALTY_WEBHOOK_ALLOW_PRIVATE": "true",
    "LOYALTY_WEBHOOK_TIMEOUT": "5",
    "PRESENCE_CODE_TTL_MINUTES": "60",
}
OK = (200, 201)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Processes: the script's own Redis, the Celery worker and beat.


class Redis:
    """``redis-server`` on ``REDIS_PORT``, a child of this process (never the machine's shared one)."""

    def __init__(self):
        self.process = None

    def up(self) -> bool:
        ping = ["redis-cli", "-p", str(REDIS_PORT), "ping"]
        return subprocess.run(ping, capture_output=True, text=True).stdout.strip() == "PONG"

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            if self.up():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {REDIS_PORT}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.process.kill()  # as a crash: what was queued is gone (no persistence)
        self.process.wait()
        time.sleep(1)
        self.start()


def celery_start(command: str) -> subprocess.Popen:
    args = {
        "worker": ["worker", "--pool", "solo", "-Q", "chaos", "--without-gossip", "--without-mingle"],
        "beat": ["beat", "--pidfile=", "--schedule", str(TASK_LOG.with_suffix(".beat"))],
    }[command]
    with open(TASK_LOG.with_suffix(f".{command}.log"), "a", encoding="utf-8") as output:  # kept: the report names it
        return subprocess.Popen(
            [str(BIN / "celery"), "-A", "bench.chaos_worker", *args, "--loglevel", "warning"],
            cwd=ROOT, env={**os.environ, **ENV}, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop_process(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class TaskLog:
    """What bench/chaos_worker.py wrote: the task each worker process runs now, and every start."""

    def __init__(self, path: Path):
        self.path, self.offset, self.running, self.starts = path, 0, {}, []

    def read(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as file:
            file.seek(self.offset)
            chunk = file.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self.offset += len(complete.encode())
        for line in complete.splitlines():
            parts = line.split()
            pid, what, task_id, name = int(parts[0]), parts[1], parts[2], parts[3]
            if what == "start":
                self.running[pid] = (task_id, name)
                self.starts.append((pid, task_id, name, parts[4] == "1"))
            else:
                self.running.pop(pid, None)


# The webhook receiver.


class Receiver:
    """A threaded ``http.server`` on loopback: verifies each delivery's signature, counts each event id."""

    def __init__(self, failure_rate: float = 0.02):
        self.secrets, self.received, self.bad, self.refused = {}, {}, [], 0
        self.lock, self.rng, self.failure_rate = threading.Lock(), random.Random(7), failure_rate
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                endpoint = self.path.rstrip("/").rsplit("/", 1)[-1]
                status = receiver.take(endpoint, self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, partner_id: int) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{partner_id}/"

    def take(self, endpoint: str, headers, body: bytes) -> int:
        secret = self.secrets.get(endpoint)
        try:
            parts = dict(item.split("=", 1) for item in headers.get("Loyalty-Signature", "").split(","))
            timestamp = int(parts["t"])
            expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
            valid = abs(time.time() - timestamp) <= 300 and hmac.compare_digest(expected, parts["v1"])
            event_id = json.loads(body)["id"]
            valid = valid and headers.get("Loyalty-Event-Id") == event_id
        except (AttributeError, KeyError, ValueError):
            valid, event_id = False, None
        with self.lock:
            if not valid:
                self.bad.append({"endpoint": endpoint, "event": event_id})
                return 400
            if self.rng.random() < self.failure_rate:  # a receiver that is down for a moment: retried later
                self.refused += 1
                return 503
            key = (endpoint, event_id)
            self.received[key] = self.received.get(key, 0) + 1
        return 200

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _first_id(answer: str):
    """The id of what a 2xx answer created (its other fields, e.g. a balance, may have moved since)."""
    try:
        data = json.loads(answer)
    except ValueError:
        return answer
    if not isinstance(data, dict):
        return answer
    if isinstance(data.get("entry"), dict):
        return data["entry"].get("id", answer)
    return data.get("id", data.get("entry_id", answer))


def _retry_after(headers: dict) -> float:
    try:
        return min(float(headers.get("retry-after", 1)), 5.0)
    except ValueError:
        return 1.0


def main() -> int:
    os.environ.update(ENV)
    from .setup import django_setup

    redis = Redis()
    redis.start()
    django_setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("The chaos test needs PostgreSQL: set DATABASE_URL=postgres://.../loyalty_chaos")
        redis.stop()
        return 1
    try:
        return run(redis)
    finally:
        redis.stop()
        TASK_LOG.unlink(missing_ok=True)
        TASK_LOG.with_suffix(".beat").unlink(missing_ok=True)
        log(f"Celery's output: {TASK_LOG.with_suffix('.worker.log')}, {TASK_LOG.with_suffix('.beat.log')}")


def run(redis: Redis) -> int:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import close_old_connections
    from django.utils import timezone

    from loyalty.outbox.models import EventType
    from loyalty.partners.services import partner_create, presence_code_issue
    from loyalty.webhooks.services import endpoint_create
    from members.models import Member
    from members.tiers.models import Tier
    from rewards.models import Reward

    from . import api, db, earning, seed

    log("migrating, seeding")
    call_command("migrate", interactive=False, verbosity=0)
    now = timezone.now()
    today = timezone.localdate(now)
    db.execute("TRUNCATE rewards_reward RESTART IDENTITY CASCADE")
    earning.reset_earning()  # first: a partner's rows cascade to the members it enrolled
    # Two lots a member: the first past its last day (the first expiry run takes it), the second for the load.
    seed.seed(accounts=MEMBERS, lots_per_account=2, amount=1_000, now=now, first_created=now - timedelta(days=30),
              expires_on=today - timedelta(days=1))  # fmt: skip
    earning.fix_member_numbers()
    db.execute("DELETE FROM tiers_tier")
    for rank, (name, threshold) in enumerate((("Silver", 20), ("Gold", 80)), start=1):
        Tier.objects.create(name=name, rank=rank, threshold=threshold)
    scopes = ["transactions:write", "transactions:read", "points:adjust", "members:read", "rewards:redeem"]
    partners = [partner_create(name=f"Chaos shop {n}", scopes=scopes) for n in range(2)]
    # Each partner enrolled half the members: it hears of their expiry and tier changes too.
    db.execute(
        "UPDATE members_member SET enrolled_by_id = CASE WHEN id %% 2 = 0 THEN %s ELSE %s END",
        [partners[0][0].pk, partners[1][0].pk],
    )
    reward = Reward.objects.create(code="chaos-coffee", kind="fixed_discount", name="Chaos coffee", points_cost=50,
                                   value_amount="1.00", stock=10**9, validity_days=30)  # fmt: skip
    members = {member_id: earning.member_number(member_id) for member_id in range(1, MEMBERS + 1)}
    settings.PRESENCE_CODE_TTL_MINUTES = 60  # this process issues the codes: long enough for any retry

    receiver = Receiver()
    endpoints = {}
    for partner, _key in partners:
        endpoint = endpoint_create(partner=partner, url=receiver.url(partner.pk), event_types=list(EventType.values))
        receiver.secrets[str(partner.pk)] = endpoint.secret
        endpoints[endpoint.pk] = partner.pk

    requests, lock = [], threading.Lock()  # dicts: kind, id, path, body, headers, attempts, status, answer
    faults = {"gunicorn_worker": 0, "celery_worker": 0, "celery_worker_idle": 0, "redis_restart": 0}
    killed_tasks = []  # (task id, name, when) running when its worker was SIGKILLed
    restarts = []  # when Redis was restarted
    sent = {"tasks_sent": 0, "send_failures": 0}
    stop = threading.Event()
    processes = {}
    tasks = TaskLog(TASK_LOG)

    def once(port, request):
        try:
            status, data, headers = _send(port, request)
            return status, data.decode(errors="replace"), headers
        except OSError as error:
            return None, repr(error), {}

    def send(port, request, attempts=ATTEMPTS):
        """Send until an answer below 500 (or ``attempts`` sends), with the same key; record each status."""
        request.setdefault("statuses", [])
        for attempt in range(attempts):
            status, answer, headers = once(port, request)
            request["statuses"].append(status)
            request.setdefault("first_answer", answer)
            request["status"], request["answer"] = status, answer
            if status is not None and status < 500:
                break
            if attempt + 1 < attempts:
                time.sleep(_retry_after(headers) if status is not None else min(2**attempt * 0.25, 4))
        with lock:
            requests.append(request)
        return request

    def new_request(kind, key, path, body, ident, partner):
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Idempotency-Key": ident}
        return {"kind": kind, "path": path, "body": json.dumps(body).encode(), "headers": headers,
                "partner": partner.pk}  # fmt: skip

    def code_for(member_id):
        member = Member.objects.get(pk=member_id)
        return presence_code_issue(member=member)[1]

    def client(port, n):
        rng = random.Random(n)
        mine = [member_id for member_id in members if member_id % CLIENTS == n]
        while not stop.is_set():
            partner, key = partners[rng.randrange(len(partners))]
            member_id = rng.choice(mine)
            member = members[member_id]
            ident = uuid.uuid4().hex
            roll = rng.random()
            if roll < 0.45:
                body = api.purchase_body(rng.randrange(10**6), member, timezone.now())
                body["external_id"] = f"chaos-{ident[:20]}"
                request = new_request("purchase", key, api.PURCHASES_PATH, body, ident, partner)
                request["id"] = body["external_id"]
            elif roll < 0.60:
                body = {"points": rng.randrange(1, 50), "reason": f"Chaos {ident}"}
                path = f"/api/v1/members/{member}/adjustments/"
                request = new_request("adjustment", key, path, body, ident, partner)
                request["id"] = body["reason"]
            elif roll < 0.75:
                body = {"member": member, "reward": reward.pk, "quantity": 1, "presence_code": code_for(member_id)}
                request = new_request("redemption", key, "/api/v1/redemptions/", body, ident, partner)
                request["id"] = ident
            else:
                points = rng.randrange(10, 200)
                body = {"basket_amount": "20.00", "currency": "EUR", "external_id": f"chaos-h-{ident[:20]}",
                        "points": points, "presence_code": code_for(member_id)}  # fmt: skip
                request = new_request("hold", key, f"/api/v1/members/{member}/holds/", body, ident, partner)
                request["id"] = body["external_id"]
            request["member"] = member_id
            send(port, request)
            close_old_connections()
            if request["kind"] != "hold" or request["status"] not in OK or stop.is_set():
                continue
            hold_id = json.loads(request["answer"])["id"]
            time.sleep(rng.random() * 0.2)  # the till's sale goes on
            verb = "capture" if rng.random() < 0.6 else "void"
            held = json.loads(request["answer"])["points"]
            body = {"points": rng.randrange(1, held + 1)} if verb == "capture" else {}
            follow = new_request(verb, key, f"/api/v1/holds/{hold_id}/{verb}/", body, uuid.uuid4().hex, partner)
            follow["id"], follow["hold"] = follow["headers"]["Idempotency-Key"], hold_id
            send(port, follow)

    def killer(server, rng):
        from loyalty.celery import app

        next_task = time.monotonic()
        while not stop.wait(0.5):
            if time.monotonic() >= next_task:
                next_task = time.monotonic() + 5
                try:
                    app.send_task("ledger.expire_points", queue="chaos")
                    app.send_task("tiers.recalculate_tiers", queue="chaos")
                    sent["tasks_sent"] += 2
                except Exception as error:  # Redis down: the next round sends again
                    sent["send_failures"] += 1
                    log(f"send_task failed: {error!r}")
            if rng.random() > 0.5 / 15:  # one fault every ~15 s
                continue
            fault = rng.choice(["gunicorn_worker", "celery_worker", "redis_restart"])
            if fault == "gunicorn_worker":
                workers = children(server.process.pid)
                if workers:
                    os.kill(rng.choice(workers), signal.SIGKILL)
            elif fault == "celery_worker":
                slot = rng.randrange(WORKERS)
                worker = processes["workers"][slot]
                running = None
                deadline = time.monotonic() + 10  # wait for a task to be running, then kill mid-task
                while time.monotonic() < deadline and not stop.is_set():
                    tasks.read()
                    running = tasks.running.get(worker.pid)
                    if running:
                        break
                    time.sleep(0.02)
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                if running:
                    killed_tasks.append((*running, time.monotonic()))
                else:
                    fault = "celery_worker_idle"
                processes["workers"][slot] = celery_start("worker")
            else:
                redis.restart()
                restarts.append(time.monotonic())
            faults[fault] += 1
            log(f"fault: {fault}" + (f" during {killed_tasks[-1][1]}" if fault == "celery_worker" else ""))

    drained = {}
    try:
        processes["workers"] = [celery_start("worker") for _ in range(WORKERS)]
        processes["beat"] = celery_start("beat")
        with receiver, api.Server(2, port=PORT, quiet=True) as server:
            log(f"load: {CLIENTS} clients, {SECONDS} s; gunicorn on {PORT}, Redis on {REDIS_PORT}")
            threads = [threading.Thread(target=client, args=(server.port, n)) for n in range(CLIENTS)]
            threads.append(threading.Thread(target=killer, args=(server, random.Random(42))))
            for thread in threads:
                thread.start()
            try:
                stop.wait(SECONDS)
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
            redis.start()
            for slot, worker in enumerate(processes["workers"]):
                if worker.poll() is not None:
                    processes["workers"][slot] = celery_start("worker")
            time.sleep(3)
            log("retrying the requests that still have no answer")
            unresolved = [r for r in requests if r["status"] is None or r["status"] >= 500]
            for request in unresolved:
                request["retry_status"], request["retry_answer"], _headers = once(server.port, request)
            # a 2xx answered earlier answers the same on a replay with its key
            replay_mismatch, replayed = [], 0
            for request in [r for r in requests if r["status"] in OK][:: max(1, len(requests) // 400)]:
                status, answer, _headers = once(server.port, request)
                replayed += 1
                if (status, _first_id(answer)) != (request["status"], _first_id(request["answer"])):
                    replay_mismatch.append({"kind": request["kind"], "id": request["id"], "first": request["status"],
                                            "replay": status, "answer": answer[:200]})  # fmt: skip
            drained = drain(endpoints, tasks, processes)
            tasks.read()
            drained["beat_running_at_end"] = processes["beat"].poll() is None
    finally:
        for process in [processes.get("beat"), *processes.get("workers", [])]:
            stop_process(process)

    from campaigns.models import Purchase
    from loyalty.ledger.audit import audit
    from loyalty.ledger.models import Adjustment, HoldStatus
    from rewards.models import PointsPayment, Redemption

    problems = audit(now=timezone.now() + timedelta(minutes=5))

    def final(r):
        return r.get("retry_status") if r["status"] is None or r["status"] >= 500 else r["status"]

    ok = [r for r in requests if final(r) in OK]
    counted = {
        "purchase": Purchase.objects.filter(external_id__startswith="chaos-").values_list("external_id", flat=True),
        "adjustment": Adjustment.objects.filter(reason__startswith="Chaos ").values_list("reason", flat=True),
        "redemption": Redemption.objects.values_list("idempotency_key", flat=True),
        "hold": PointsPayment.objects.filter(external_id__startswith="chaos-h-").values_list("external_id", flat=True),
    }
    found = {}
    for kind, values in counted.items():
        for value in values:
            found[(kind, value)] = found.get((kind, value), 0) + 1
    missing = [(r["kind"], r["id"]) for r in ok if r["kind"] in counted and found.get((r["kind"], r["id"]), 0) != 1]
    doubled = [key for key, count in found.items() if count > 1]
    # a capture or a void answered 2xx closed its hold that way, once
    holds = {p.hold_id: p.hold for p in PointsPayment.objects.select_related("hold")}  # the API's id is the hold's
    closing = {"capture": HoldStatus.CAPTURED, "void": HoldStatus.VOIDED}
    wrong_close = [
        {"hold": r["hold"], "verb": r["kind"], "status": holds[r["hold"]].status}
        for r in ok
        if r["kind"] in closing and holds[r["hold"]].status != closing[r["kind"]]
    ]
    # requests without a final answer: present at most once (a commit whose answer was lost), or absent
    no_answer = [r for r in requests if final(r) is None or final(r) >= 500]
    no_answer_present = sum(found.get((r["kind"], r.get("id")), 0) == 1 for r in no_answer)

    kinds = sorted({r["kind"] for r in requests})
    by_kind = {kind: {} for kind in kinds}
    for r in requests:
        statuses = by_kind[r["kind"]]
        statuses[str(final(r))] = statuses.get(str(final(r)), 0) + 1
    first_no_answer = [r for r in requests if r["statuses"][0] is None or r["statuses"][0] >= 500]
    resolution = {}
    for r in first_no_answer:
        resolution[str(final(r))] = resolution.get(str(final(r)), 0) + 1
    statuses_seen = {}
    for r in requests:
        for status in r["statuses"]:
            statuses_seen[str(status)] = statuses_seen.get(str(status), 0) + 1

    redelivered = redelivery(tasks, killed_tasks, restarts)
    report = {
        "seconds": SECONDS,
        "requests": len(requests),
        "by_kind_final_status": by_kind,
        "every_answer_status": statuses_seen,
        "sends": sum(len(r["statuses"]) for r in requests),
        "requests_retried": len(first_no_answer),
        "retried_resolution": resolution,
        "first_failures": [(r["kind"], r["statuses"], r["first_answer"][:160]) for r in first_no_answer[:8]],
        "client_errors_4xx": [
            (r["kind"], r["status"], r["answer"][:160]) for r in requests if r["status"] and 400 <= r["status"] < 500
        ][:8],
        "unanswered_after_load": len(unresolved),
        "unanswered_retry_statuses": _count(str(r.get("retry_status")) for r in unresolved),
        "no_final_answer": len(no_answer),
        "no_final_answer_present_once": no_answer_present,
        "faults": faults,
        "killed_mid_task": _count(name for _id, name, _when in killed_tasks),
        "tasks": {**sent, **redelivered},
        "replayed_2xx": replayed,
        "replay_mismatch": replay_mismatch[:10],
        "audit_problems": len(problems),
        "first_problems": problems[:10],
        "answered_2xx_not_in_db_once": len(missing),
        "first_missing": missing[:10],
        "in_db_more_than_once": len(doubled),
        "capture_or_void_not_closing_its_hold": wrong_close[:10],
        "webhooks": webhook_report(endpoints, receiver, drained),
    }
    hooks = report["webhooks"]
    failed = bool(problems or missing or doubled or wrong_close or replay_mismatch or hooks["lost"] or hooks["bad"])
    report["verdict"] = "FAIL" if failed else "PASS"
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "chaos-latest.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(report, indent=2, default=str))
    return 1 if failed else 0


def _send(port: int, request: dict) -> tuple[int, bytes, dict]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", request["path"], body=request["body"], headers=request["headers"])
        response = connection.getresponse()
        data = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    return response.status, data, headers


def _count(values) -> dict:
    counts = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def drain(endpoints: dict, tasks: TaskLog, processes: dict) -> dict:
    """Wait (at most ``DRAIN_SECONDS``) until no outbox event is undispatched and no delivery pending."""
    from loyalty.outbox.models import OutboxEvent
    from loyalty.webhooks.models import DeliveryStatus, WebhookDelivery

    log(f"waiting for the outbox and the deliveries to drain (at most {DRAIN_SECONDS} s)")
    began = last_log = time.monotonic()
    while True:
        undispatched = OutboxEvent.objects.filter(dispatched_at__isnull=True).count()
        pending = WebhookDelivery.objects.filter(endpoint__in=endpoints, status=DeliveryStatus.PENDING).count()
        tasks.read()
        running = [tasks.running.get(worker.pid) for worker in processes["workers"]]
        if (undispatched == 0 and pending == 0) or time.monotonic() - began > DRAIN_SECONDS:
            return {"seconds": round(time.monotonic() - began), "undispatched": undispatched, "pending": pending,
                    "worker_running_at_end": running, "task_runs_at_end": len(tasks.starts)}  # fmt: skip
        if time.monotonic() - last_log > 30:
            last_log = time.monotonic()
            log(f"drain: {undispatched} undispatched, {pending} pending, {len(tasks.starts)} task runs, now {running}")
        time.sleep(2)


def webhook_report(endpoints: dict, receiver: Receiver, drained: dict) -> dict:
    """Every (endpoint, event) the outbox owes the receiver, against what it received."""
    from django.db.models import Count

    from loyalty.outbox.models import OutboxEvent
    from loyalty.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

    subscribed = {e.pk: (e.partner_id, set(e.event_types)) for e in WebhookEndpoint.objects.filter(pk__in=endpoints)}
    expected = set()
    by_type = {}
    rows = OutboxEvent.objects.values_list("pk", "type", "partner_id", "member__enrolled_by")
    for event_id, event_type, partner_id, enrolled_by in rows.iterator():
        for endpoint_partner, types in subscribed.values():
            if event_type in types and endpoint_partner in (partner_id, enrolled_by):
                expected.add((str(endpoint_partner), str(event_id)))
                by_type[event_type] = by_type.get(event_type, 0) + 1
    received = receiver.received
    lost = expected - set(received)
    deliveries = WebhookDelivery.objects.filter(endpoint__in=endpoints)
    partner_of = {endpoint_id: str(partner_id) for endpoint_id, partner_id in endpoints.items()}
    pending = {
        (partner_of[endpoint_id], str(event_id))
        for endpoint_id, event_id in deliveries.filter(status=DeliveryStatus.PENDING).values_list("endpoint", "event")
    }
    return {
        "drain": drained,
        "events_expected": len(expected),
        "expected_by_type": by_type,
        "received_distinct": len(set(received) & expected),
        "received_unexpected": len(set(received) - expected),
        "deliveries_received": sum(received.values()),
        "duplicates": sum(count - 1 for count in received.values()),
        "receiver_refused_503": receiver.refused,
        "bad": len(receiver.bad),
        "lost": len(lost),
        "lost_but_delivery_still_pending": len(lost & pending),
        "first_lost": sorted(lost)[:10],
        "deliveries_by_status": dict(
            deliveries.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
        ),
        "deliveries_failed": deliveries.filter(status=DeliveryStatus.FAILED).count(),
    }


def redelivery(tasks: TaskLog, killed: list, restarts: list) -> dict:
    """Of the tasks running when their worker was killed: how many started again (a redelivery), by name.

    A task killed less than the visibility timeout (plus the restore sweep) before a Redis restart
    cannot come back: its unacknowledged message was in Redis, which keeps nothing across a restart
    here; the periodic sweeps (outbox, deliveries due) redo what it left.
    """
    starts = {}
    for _pid, task_id, _name, _flag in tasks.starts:
        starts[task_id] = starts.get(task_id, 0) + 1
    again = [name for task_id, name, _when in killed if starts.get(task_id, 0) > 1]
    lost_with_redis, other = [], []
    for task_id, name, when in killed:
        if starts.get(task_id, 0) > 1:
            continue
        window = when + VISIBILITY_TIMEOUT + 10
        (lost_with_redis if any(when <= at <= window for at in restarts) else other).append(name)
    return {
        "task_runs": len(tasks.starts),
        "killed_mid_task": len(killed),
        "killed_then_redelivered": len(again),
        "redelivered_by_task": _count(again),
        "killed_not_redelivered_redis_restarted_before_timeout": _count(lost_with_redis),
        "killed_not_redelivered_otherwise": _count(other),
        "runs_flagged_redelivered": sum(flag for *_rest, flag in tasks.starts),
        "tasks_run_more_than_once": sum(count > 1 for count in starts.values()),
        "runs_by_task": _count(name for _pid, _task_id, name, _flag in tasks.starts),
    }


if __name__ == "__main__":
    sys.exit(main())
