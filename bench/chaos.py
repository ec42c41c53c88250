"""``python -m bench.chaos``: load through gunicorn while workers and Redis are killed; nothing lost or doubled.

For ``CHAOS_SECONDS`` (600 by default) client threads on loopback post purchases and points
adjustments (each its own ``Idempotency-Key``) from two partners through gunicorn (PostgreSQL,
Redis as broker and cache), while a Celery worker (``acks_late``) runs expiry and tier
recalculation sent every few seconds, and a killer thread, at random moments, SIGKILLs a
gunicorn worker (the master respawns it), SIGKILLs the Celery worker and starts another, or
restarts Redis. Afterwards every request that got no answer is retried with its key; then:
``audit()`` has 0 problems, every purchase answered 2xx is in the ledger exactly once (by the
partner's ``external_id``), every adjustment answered 2xx exactly once (by its unique reason),
and a retried request returned the first result. The report goes to bench/results/chaos-latest.json;
the exit status is 1 on any violation. Every process started is stopped at the end, Redis restarted
if it is down.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECONDS = int(os.environ.get("CHAOS_SECONDS", "600"))
REDIS = os.environ.get("CHAOS_REDIS", "redis://127.0.0.1:6379")
CLIENTS = 4
MEMBERS = 500
ENV = {
    "DEBUG": "false",
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "CELERY_BROKER_URL": f"{REDIS}/5",
    "CACHE_URL": f"{REDIS}/6",
    "CELERY_TASK_DEFAULT_QUEUE": "chaos",
    "LOYALTY_WEBHOOK_ALLOW_PRIVATE": "true",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def redis_up() -> bool:
    return subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True, text=True).stdout.strip() == "PONG"


def redis_start() -> None:
    if not redis_up():
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "",
                        "--appendonly", "no"], check=False, capture_output=True)  # fmt: skip
        for _ in range(50):
            if redis_up():
                return
            time.sleep(0.1)


def redis_restart() -> None:
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True)
    time.sleep(1)
    redis_start()


def celery_start() -> subprocess.Popen:
    env = {**os.environ, **ENV}
    return subprocess.Popen(
        [str(BIN / "celery"), "-A", "loyalty", "worker", "--pool", "solo", "-Q", "chaos", "--loglevel", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _first_id(answer: str):
    """The id of what a 2xx answer created (its other fields, e.g. a balance, may have moved since)."""
    try:
        data = json.loads(answer)
    except ValueError:
        return answer
    return data.get("id", data.get("entry_id", answer)) if isinstance(data, dict) else answer


def main() -> int:
    os.environ.update(ENV)
    from .setup import django_setup

    redis_start()
    django_setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from loyalty.partners.services import partner_create

    from . import api, earning, seed

    if connection.vendor != "postgresql":
        print("The chaos test needs PostgreSQL: set DATABASE_URL=postgres://.../loyalty_chaos")
        return 1
    log("migrating, seeding")
    call_command("migrate", interactive=False, verbosity=0)
    now = timezone.now()
    today = timezone.localdate(now)
    earning.reset_earning()
    seed.seed(accounts=MEMBERS, lots_per_account=1, amount=1_000, now=now, first_created=now - timedelta(days=30),
              expires_on=today + timedelta(days=730))  # fmt: skip
    earning.fix_member_numbers()
    scopes = ["transactions:write", "transactions:read", "points:adjust", "members:read"]
    partners = [partner_create(name=f"Chaos shop {n}", scopes=scopes) for n in range(2)]
    members = [earning.member_number(member_id) for member_id in range(1, MEMBERS + 1)]

    requests, lock = [], threading.Lock()  # dicts: kind, partner, key, path, body, status, answer
    kills = {"gunicorn_worker": 0, "celery_worker": 0, "redis_restart": 0, "tasks_sent": 0}
    stop = threading.Event()
    processes = {}

    def one(port, request):
        try:
            status, data, _seconds = api._request(port, "POST", request["path"], request["body"], request["headers"])
            return status, data.decode(errors="replace")
        except OSError as error:
            return None, repr(error)

    def client(port, seed_):
        rng = random.Random(seed_)
        while not stop.is_set():
            partner, key = partners[rng.randrange(len(partners))]
            member = rng.choice(members)
            ident = uuid.uuid4().hex
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Idempotency-Key": ident}
            if rng.random() < 0.7:
                body = api.purchase_body(rng.randrange(10**6), member, timezone.now())
                body["external_id"] = f"chaos-{ident[:20]}"
                request = {"kind": "purchase", "path": api.PURCHASES_PATH, "id": body["external_id"]}
            else:
                body = {"points": rng.randrange(1, 50), "reason": f"Chaos {ident}"}
                request = {
                    "kind": "adjustment",
                    "path": f"/api/v1/members/{member}/adjustments/",
                    "id": body["reason"],
                }
            request.update(partner=partner.pk, body=json.dumps(body).encode(), headers=headers)
            request["status"], request["answer"] = one(port, request)
            with lock:
                requests.append(request)

    def killer(server, rng):
        from loyalty.celery import app
        from loyalty.ledger import tasks as ledger_tasks  # noqa: F401

        next_task = time.monotonic()
        while not stop.wait(0.5):
            if time.monotonic() >= next_task:
                next_task = time.monotonic() + 5
                try:
                    app.send_task("ledger.expire_points", queue="chaos")
                    app.send_task("tiers.recalculate_tiers", queue="chaos")
                    kills["tasks_sent"] += 2
                except Exception as error:  # Redis down: the next round sends again
                    log(f"send_task failed: {error!r}")
            if rng.random() > 0.5 / 15:  # one fault every ~15 s
                continue
            fault = rng.choice(["gunicorn_worker", "celery_worker", "redis_restart"])
            if fault == "gunicorn_worker":
                workers = children(server.process.pid)
                if workers:
                    os.kill(rng.choice(workers), signal.SIGKILL)
            elif fault == "celery_worker":
                worker = processes["celery"]
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                processes["celery"] = celery_start()
            else:
                redis_restart()
            kills[fault] += 1
            log(f"fault: {fault}")

    try:
        processes["celery"] = celery_start()
        with api.Server(2) as server:
            log(f"load: {CLIENTS} clients, {SECONDS} s")
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
            redis_start()
            time.sleep(3)
            log("retrying the requests that got no answer")
            retried = [r for r in requests if r["status"] is None or r["status"] >= 500]
            retry_mismatch = []
            for request in retried:
                request["retry_status"], request["retry_answer"] = one(server.port, request)
            # a 2xx answered earlier must answer the same on a retry with its key
            sample = [r for r in requests if r["status"] in (200, 201)][:200]
            for request in sample:
                status, answer = one(server.port, request)
                if (status, _first_id(answer)) != (request["status"], _first_id(request["answer"])):
                    retry_mismatch.append({"id": request["id"], "first": request["status"], "retry": status})
    finally:
        worker = processes.get("celery")
        if worker and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        redis_start()

    from campaigns.models import Purchase
    from loyalty.ledger.audit import audit
    from loyalty.ledger.models import Adjustment

    problems = audit(now=timezone.now() + timedelta(minutes=5))
    ok_ids = {r["id"]: r["kind"] for r in requests if r["status"] in (200, 201)}
    ok_ids.update({r["id"]: r["kind"] for r in requests if r.get("retry_status") in (200, 201)})
    purchases = {}
    for external_id in Purchase.objects.filter(external_id__startswith="chaos-").values_list("external_id", flat=True):
        purchases[external_id] = purchases.get(external_id, 0) + 1
    adjustments = {}
    for reason in Adjustment.objects.filter(reason__startswith="Chaos ").values_list("reason", flat=True):
        adjustments[reason] = adjustments.get(reason, 0) + 1
    found = {**purchases, **adjustments}
    missing = [i for i in ok_ids if found.get(i, 0) != 1]
    doubled = [i for i, count in found.items() if count > 1]
    unanswered = [r for r in requests if r["status"] is None]
    server_errors = [r for r in requests if r["status"] is not None and r["status"] >= 500]
    by_status = {}
    for r in requests:
        by_status[str(r["status"])] = by_status.get(str(r["status"]), 0) + 1
    report = {
        "seconds": SECONDS,
        "requests": len(requests),
        "by_status": by_status,
        "purchases": sum(r["kind"] == "purchase" for r in requests),
        "adjustments": sum(r["kind"] == "adjustment" for r in requests),
        "faults": kills,
        "unanswered": len(unanswered),
        "server_errors": len(server_errors),
        "first_errors": [(r["status"], r["answer"][:200]) for r in (unanswered + server_errors)[:5]],
        "retried": len(retried),
        "retry_statuses": {
            str(s): sum(r.get("retry_status") == s for r in retried) for s in {r.get("retry_status") for r in retried}
        },
        "retry_same_answer_checked": len(sample),
        "retry_mismatch": retry_mismatch[:10],
        "audit_problems": len(problems),
        "first_problems": problems[:10],
        "answered_2xx_not_in_ledger_once": len(missing),
        "in_ledger_more_than_once": len(doubled),
        "webhooks_checked": False,
    }
    failed = bool(problems or missing or doubled or retry_mismatch)
    report["verdict"] = "FAIL" if failed else "PASS"
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "chaos-latest.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(json.dumps(report, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
