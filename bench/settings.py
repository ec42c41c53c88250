"""Settings of the benchmark's gunicorn: the project's, plus the bare endpoint (``bench/urls.py``).

Only ``make bench`` loads this module (``DJANGO_SETTINGS_MODULE=bench.settings``); production
never has the bench's endpoint. The rate limit is off: the load client posts far more than a
partner may, through one key, on both endpoints alike.
"""

from loyalty.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
API_RATE_LIMIT = ""
SECURE_SSL_REDIRECT = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
