"""Settings of the benchmark's gunicorn: the project's, plus the bare endpoint (``bench/urls.py``).

Only ``make bench`` loads this module (``DJANGO_SETTINGS_MODULE=bench.settings``); production
never has the bench's endpoint. The rate limit is off: the load client posts far more than a
partner may, through one key, on both endpoints alike.
"""

import os

from loyalty.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
API_RATE_LIMIT = ""
SECURE_SSL_REDIRECT = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

# The chaos test (bench/chaos.py): a short visibility timeout, so that a task whose worker was killed
# before it acknowledged the message (acks_late) is delivered again within the run, not after an hour.
if CELERY_BROKER_URL.startswith("redis://") and os.environ.get("CHAOS_VISIBILITY_TIMEOUT"):  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ["CHAOS_VISIBILITY_TIMEOUT"]),
        "unacked_restore_throttle": 1,
        "unacked_restore_interval": 5,
    }
