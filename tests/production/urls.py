"""A page that enqueues a task, as the portal and the API will: the request id must follow it to the worker."""

import logging

from django.http import HttpResponse
from django.urls import include, path
from kombu import Connection

from loyalty.celery import app

logger = logging.getLogger("tests.production")


def enqueue(request):
    logger.info("enqueuing")
    with Connection(request.GET["broker"]) as connection:
        app.send_task("ledger.expire_points", queue=request.GET["queue"], connection=connection)
    return HttpResponse("sent")


urlpatterns = [path("enqueue/", enqueue), path("", include("loyalty.urls"))]
