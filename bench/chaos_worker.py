"""The chaos test's Celery app: the project's (``loyalty.celery``), plus a line per task start and end.

``celery -A bench.chaos_worker worker`` (bench/chaos.py) appends ``<pid> start <task id> <name>
<redelivered>`` before each task and ``<pid> end <task id> <name>`` after it to the file
``CHAOS_TASK_LOG``, flushed at once: the killer reads it to SIGKILL the worker while a task runs,
and the report counts the tasks started again after their worker was killed (acks_late: the message
was not acknowledged, so Redis gives it again once the visibility timeout is over).
"""

import os

from celery.signals import task_postrun, task_prerun

from loyalty.celery import app

__all__ = ["app"]

_LOG = os.environ.get("CHAOS_TASK_LOG", "")


def _write(line: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:  # one short append: lines of two processes never mix
            log.write(f"{os.getpid()} {line}\n")


@task_prerun.connect
def _started(task_id=None, task=None, **kwargs):
    redelivered = bool((task.request.delivery_info or {}).get("redelivered"))
    _write(f"start {task_id} {task.name} {int(redelivered)}")


@task_postrun.connect
def _ended(task_id=None, task=None, **kwargs):
    _write(f"end {task_id} {task.name}")
