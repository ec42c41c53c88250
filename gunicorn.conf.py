"""gunicorn's settings for production: `gunicorn -c gunicorn.conf.py loyalty.wsgi` (Procfile.prod, compose.yaml).

Each setting can be changed by the environment: GUNICORN_BIND (or PORT), WEB_CONCURRENCY,
GUNICORN_TIMEOUT, GUNICORN_KEEPALIVE, LOG_FORMAT, TRUSTED_PROXY_COUNT, FORWARDED_ALLOW_IPS.
"""

import os

_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Sync workers, one request each: 2 per core + 1, at most 12 (each holds a PostgreSQL connection).
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * _cores + 1, 12)))
# A request running longer is killed (its worker restarted); a restart lets requests finish for as long.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = timeout
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then, apart from each other, so a slow leak never grows.
max_requests = 1000
max_requests_jitter = 100
# The workers' heartbeat files in memory: a container's /tmp on overlayfs can stall them.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# X-Forwarded-Proto is believed from proxies only when TRUSTED_PROXY_COUNT says there are some,
# as Django does (settings.SECURE_PROXY_SSL_HEADER); without, from no one. gunicorn takes no
# other header from a proxy (SCRIPT_NAME, PATH_INFO): the app reads X-Forwarded-For itself
# (loyalty/proxies.py).
_proxies = int(os.environ.get("TRUSTED_PROXY_COUNT", "0") or 0)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*") if _proxies > 0 else ""
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
forwarder_headers = ""

# Logs on stdout, one JSON object a line (loyalty/logging.py); LOG_FORMAT=text keeps gunicorn's own.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'
_level = os.environ.get("LOG_LEVEL", "INFO")
if os.environ.get("LOG_FORMAT", "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "loyalty.logging.JsonFormatter"}},
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
        },
        "root": {"handlers": ["stdout"], "level": _level},
        "loggers": {
            "gunicorn.error": {"handlers": ["stdout"], "level": _level, "propagate": False},
            "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        },
    }
