import os
from collections.abc import Callable
from contextvars import Token

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.db import transaction

from loyalty import logging as _logging  # noqa: F401  (every log record of the worker carries the request id)
from loyalty import request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")

app = Celery("loyalty")
app.set_default()  # the current app of every thread, not only of the one that imported this module
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# The request id travels with each task enqueued during a request (a message header), and is
# the worker's current request id while the task runs: the task's log lines name the request.
@before_task_publish.connect
def _send_request_id(headers=None, **kwargs):
    current = request_id.current.get()
    if current is not None and headers is not None:
        headers.setdefault(request_id.TASK_HEADER, current)


# Per running task, what to restore after it (a task run eagerly inside a request keeps the request's id).
_before_task: dict[str, Token] = {}


@task_prerun.connect
def _receive_request_id(task_id=None, task=None, **kwargs):
    sent = task.request.get(request_id.TASK_HEADER) or (task.request.headers or {}).get(request_id.TASK_HEADER)
    _before_task[task_id] = request_id.current.set(request_id.sane(sent) or request_id.current.get())


@task_postrun.connect
def _forget_request_id(task_id=None, **kwargs):
    token = _before_task.pop(task_id, None)
    if token is not None:
        request_id.current.reset(token)


def on_commit_send(send: Callable[[], object]) -> None:
    """Run ``send`` (which enqueues tasks) once the caller's transaction commits; a broker that does not answer
    then is logged, not raised. The change is committed either way, so the client must not be told it failed:
    each such task has a periodic sweeper that sends what was not sent (``outbox.dispatch_pending``,
    ``webhooks.deliver_due``, ``notifications.send_pending_emails``)."""
    transaction.on_commit(send, robust=True)
