"""The Celery tasks, run by a real worker process on Redis against the test database."""

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection

from loyalty.ledger import services as ledger
from loyalty.ledger.models import Entry, EntryKind
from tests.factories.members import MemberFactory

REDIS_URL = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def redis_broker():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        if os.environ.get("REQUIRE_REDIS"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL} (REQUIRE_REDIS=1 makes this a failure)")
    return REDIS_URL


def worker_ready(broker_url: str, queue: str, process, timeout: float = 90) -> None:
    """Wait until the worker has bound its queue: a task sent before would be dropped (no queue to route to)."""
    client, deadline = redis.Redis.from_url(broker_url), time.monotonic() + timeout
    while not client.exists(f"_kombu.binding.{queue}"):
        assert process.poll() is None, "the worker stopped"
        assert time.monotonic() < deadline, f"the worker did not bind its queue within {timeout} s"
        time.sleep(0.2)


@pytest.fixture
def worker(redis_broker, tmp_path):
    """A `celery worker` process on its own queue, using the test database."""
    queue = f"test-{uuid.uuid4().hex}"
    env = {**os.environ, "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": redis_broker}
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "--app", "loyalty", "worker", "--pool", "solo", "--queues", queue],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker_ready(redis_broker, queue, process)
    yield queue
    process.terminate()
    process.wait(timeout=20)
    print(log.read_text())  # noqa: T201  (shown by pytest only when the test fails)


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_runs_expire_points_end_to_end(worker, redis_broker):
    # given a member whose 70 points' last day was yesterday
    account = MemberFactory().account
    ledger.credit(account, 70, expires_on=date(2020, 1, 31), now=datetime(2020, 1, 1, tzinfo=UTC))

    # when the scheduled task is sent through Redis to a worker
    Celery(broker=redis_broker, set_as_current=False).send_task("ledger.expire_points", queue=worker)

    # then the worker expires them
    deadline = time.monotonic() + 60
    while not Entry.objects.filter(account=account, kind=EntryKind.EXPIRE).exists():
        assert time.monotonic() < deadline, "the worker did not expire the points within 60 s"
        time.sleep(0.2)
    account.refresh_from_db()
    assert account.balance == 0
    assert list(account.entries.values_list("kind", "amount")) == [(EntryKind.EXPIRE, -70), (EntryKind.EARN, 70)]


@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_runs_recalculate_tiers_end_to_end(worker, redis_broker):
    from members.tiers.models import MemberTier
    from tests.factories.tiers import TierFactory

    # given a base tier every member qualifies for, and a member who has none yet
    member = MemberFactory()
    base = TierFactory(name="Member", rank=1, threshold=0)

    # when the scheduled task is sent through Redis to a worker
    Celery(broker=redis_broker, set_as_current=False).send_task("tiers.recalculate_tiers", queue=worker)

    # then the worker gives the member its tier
    deadline = time.monotonic() + 60
    while not MemberTier.objects.filter(member=member, tier=base).exists():
        assert time.monotonic() < deadline, "the worker did not recalculate the tiers within 60 s"
        time.sleep(0.2)
