"""Settings for the loyalty platform.

Everything is read through django-environ. With no environment set the project runs
embedded: SQLite in WAL mode, a Celery broker on the filesystem, DEBUG on. Production
differs only by environment variables (see .env.example).
"""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # SQLite files, the embedded broker's folders
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-dev-only-change-me-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "loyalty.admin_site.LoyaltyAdminConfig",  # Django's admin, its list pages guarded (loyalty/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework_api_key",
    "django_htmx",
    "django_celery_beat",
    "import_export",
    "simple_history",
    "axes",
    "csp",
    "loyalty.ledger",
    "loyalty.reports",
    "members",
    "members.tiers",
    "members.referrals",
    "members.notifications",
    "rewards",
    "campaigns",
    "missions",
    "missions.badges",
    "missions.streaks",
    "missions.leaderboards",
    "loyalty.partners",
    "loyalty.outbox",
    "loyalty.webhooks",
    "loyalty.checks",
]

MIDDLEWARE = [
    "loyalty.request_id.RequestIdMiddleware",  # first: every response and log line of a request carries its id
    "django.middleware.security.SecurityMiddleware",
    "loyalty.csp.PathCSPMiddleware",
    "loyalty.partners.parsers.ChunkedBodyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # a history row names the staff user who saved
]

# Configuration history (loyalty/history.py): a History page needs the view permission of the
# historical model (the staff groups get it beside the model's own), and nothing is reverted
# from it: a change goes through the model's own form and services.
SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS = True
SIMPLE_HISTORY_REVERT_DISABLED = True

ROOT_URLCONF = "loyalty.urls"
WSGI_APPLICATION = "loyalty.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite (WAL, busy timeout, IMMEDIATE transactions so that the web server and
# the Celery worker can write side by side) unless DATABASE_URL names another one.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a Celery worker process started by a test sees it; one
    # per test process, so that parallel runs do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds the rate-limit counters (the API's per key, the portal's per client address,
# the e-mails per address; loyalty/ratelimit.py): per process in
# memory by default; production must share them between processes and machines with
# CACHE_URL=redis://host:6379/1 (`check --deploy` refuses a local cache: loyalty/checks).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A Redis that does not answer fails a request (and /readyz) within seconds, never hangs it.
    CACHES["default"].setdefault("OPTIONS", {})
    CACHES["default"]["OPTIONS"].setdefault("socket_connect_timeout", 2)
    CACHES["default"]["OPTIONS"].setdefault("socket_timeout", 2)

# The member portal (members/views.py) and the admin share Django's sessions; django-axes
# throttles both login forms: after AXES_FAILURE_LIMIT failures for one e-mail from one
# address, that pair is refused until the cool-off has passed.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "members.forms.login_username"
AXES_LOCKOUT_TEMPLATE = "portal/auth/locked.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Behind reverse proxies every client would share the proxy's address: set how many proxies
# append to X-Forwarded-For, and axes reads the client's address from it (loyalty/proxies.py).
# X-Forwarded-Proto is believed only then (see SECURE_PROXY_SSL_HEADER below).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "loyalty.proxies.client_ip"
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:login"
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)
PASSWORD_RESET_EMAILS_PER_HOUR = env.int("PASSWORD_RESET_EMAILS_PER_HOUR", default=3)
# Sign-ups and password-reset requests (form submissions) from one client address an hour
# (loyalty/ratelimit.py; 429 with Retry-After over it, 0: no limit). Generous: an office or a
# school shares one address.
SIGNUP_PER_IP_PER_HOUR = env.int("SIGNUP_PER_IP_PER_HOUR", default=20)
PASSWORD_RESET_PER_IP_PER_HOUR = env.int("PASSWORD_RESET_PER_IP_PER_HOUR", default=20)
# The portal's e-mailed links (confirm the e-mail, activate an account): how long one works
# (seconds), and how many such e-mails one address may receive in an hour.
ACCOUNT_LINK_MAX_AGE = env.int("ACCOUNT_LINK_MAX_AGE", default=3 * 24 * 3600)
ACCOUNT_EMAILS_PER_HOUR = env.int("ACCOUNT_EMAILS_PER_HOUR", default=3)
# Where members write with questions (the portal's footer).
LOYALTY_SUPPORT_EMAIL = env("LOYALTY_SUPPORT_EMAIL", default="support@example.com")
# The portal's address as members reach it: e-mails sent by the workers (notifications) link there.
LOYALTY_PORTAL_URL = env("LOYALTY_PORTAL_URL", default="http://127.0.0.1:8000/")
# The weekly expiry reminder tells members of the points that expire within this many days.
LOYALTY_EXPIRY_REMINDER_DAYS = env.int("LOYALTY_EXPIRY_REMINDER_DAYS", default=30)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The program's time zone: expiry dates ("end of month", "365 days") are counted in it.
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads (rewards' images). In production put them on a volume, or serve MEDIA_URL from the proxy.
MEDIA_URL = env("MEDIA_URL", default="media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Served by whitenoise. Under DEBUG=False with hashed names (portal.3f2a9c1e.css, cached for ever by
# browsers) from the manifest that `manage.py collectstatic` writes: production runs it at each deploy.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="loyalty@localhost")

# Security: strict unless DEBUG is on; each can be set on its own.
# A client could send X-Forwarded-Proto itself: believe it only from configured proxies.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain HTTP to the app
# Content-Security-Policy (django-csp, enforced): everything from our own origin, no inline
# script or style, no eval. A path that needs more gets it in CSP_PATH_UPDATES (loyalty/csp.py),
# e.g. {"/admin/": {"script-src": [UNSAFE_EVAL]}}: the sources are added for that prefix only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
CSP_PATH_UPDATES: dict[str, dict[str, list[str]]] = {}

# Celery. The embedded default is kombu's filesystem transport: no server needed.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in (_broker_dir, VAR_DIR / "celery-control"):
        _folder.mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "celery-control"),
    }
CELERY_TASK_IGNORE_RESULT = True
# The queue tasks are sent to (and a worker started without --queues reads).
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# The worker logs through LOGGING below (JSON, with the request id of the task: loyalty/celery.py).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ACKS_LATE = True
# With acks_late, a task still running when the broker connection drops is cancelled and delivered again
# (Celery 6's default; every task here is safe to run twice): its message cannot be acknowledged anyway.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# The schedule below is each task's first schedule only: beat creates a missing task from
# it, and staff edits in the admin win after that (loyalty/beat.py).
CELERY_BEAT_SCHEDULER = "loyalty.beat:DefaultsOnceScheduler"
CELERY_BEAT_SCHEDULE = {
    # Points count until the end of their last day: expire them just after midnight.
    "expire-points-daily": {"task": "ledger.expire_points", "schedule": crontab(hour=0, minute=5)},
    # Tiers after expiry (members/tiers/tasks.py): downgrades and tiers set by hand end at the day's start.
    "recalculate-tiers-daily": {"task": "tiers.recalculate_tiers", "schedule": crontab(hour=0, minute=30)},
    # The dashboard's rollups and snapshots (loyalty/reports): hourly, today up to now (the page reads the rest
    # live); at 00:50, after expiry and tiers, the day that ended in full.
    "roll-up-report-days-hourly": {"task": "reports.close_days", "schedule": crontab(minute=50)},
    "release-pending-points-hourly": {"task": "ledger.release_pending_points", "schedule": crontab(minute=0)},
    # Pay with points: holds a till did not capture in time give their points back.
    "release-expired-holds-every-minute": {"task": "ledger.release_expired_holds", "schedule": crontab()},
    "purge-idempotent-responses-daily": {
        "task": "partners.purge_idempotent_responses",
        "schedule": crontab(hour=3, minute=15),
    },
    # Birthday points (campaigns/tasks.py) in the morning of the member's birthday, program time.
    "birthday-events-daily": {"task": "campaigns.birthday_events", "schedule": crontab(hour=6, minute=0)},
    # Badges for years as a member, and milestones reached before their badge existed (missions/badges/tasks.py).
    "award-milestone-badges-daily": {"task": "badges.award_milestones", "schedule": crontab(hour=6, minute=30)},
    # Vouchers past their expiry (rewards/tasks.py), some with their points back: hourly, as they expire by the hour.
    "expire-vouchers-hourly": {"task": "rewards.expire_vouchers", "schedule": crontab(minute=10)},
    # Outbox events whose commit hook did not run (a process died after its commit): loyalty/outbox.
    "dispatch-outbox-events-minutely": {"task": "outbox.dispatch_pending", "schedule": crontab()},
    # Members' notifications (members/notifications): the expiry reminder on Monday mornings, program time;
    # e-mails a lost enqueue or a failed send left, every ten minutes.
    "expiry-reminders-weekly": {
        "task": "notifications.expiry_reminders",
        "schedule": crontab(day_of_week="mon", hour=7, minute=0),
    },
    "send-pending-notification-emails": {
        "task": "notifications.send_pending_emails",
        "schedule": crontab(minute="*/10"),
    },
    # Webhook deliveries whose retry is due (loyalty/webhooks).
    "deliver-due-webhooks-minutely": {"task": "webhooks.deliver_due", "schedule": crontab()},
}
# Who hears of outbox events (loyalty/outbox): functions taking a list of events, run in the dispatch's transaction.
LOYALTY_OUTBOX_CONSUMERS = env.list(
    "LOYALTY_OUTBOX_CONSUMERS",
    default=[
        "loyalty.webhooks.services.deliveries_create",
        "members.notifications.services.notifications_from_events",
    ],
)
# Webhooks to partners (loyalty/webhooks): seconds a receiver has to connect and to answer, hours a delivery is
# retried, and whether URLs may lead to loopback/private/link-local addresses (never in production).
LOYALTY_WEBHOOK_TIMEOUT = env.float("LOYALTY_WEBHOOK_TIMEOUT", default=10.0)
LOYALTY_WEBHOOK_RETRY_HOURS = env.int("LOYALTY_WEBHOOK_RETRY_HOURS", default=24)
LOYALTY_WEBHOOK_ALLOW_PRIVATE = env.bool("LOYALTY_WEBHOOK_ALLOW_PRIVATE", default=False)

# The points program.
# How long a leaderboard's standings are kept in the cache (missions/leaderboards/selectors.py), in seconds.
LOYALTY_LEADERBOARD_CACHE_SECONDS = env.int("LOYALTY_LEADERBOARD_CACHE_SECONDS", default=60)
LOYALTY_CURRENCY = env("LOYALTY_CURRENCY", default="EUR")
# What one point is worth in LOYALTY_CURRENCY (money per point): the liability a campaign's dry run reports.
LOYALTY_POINT_VALUE = Decimal(env.str("LOYALTY_POINT_VALUE", default="0.01"))
# never | days | end_of_month | end_of_year ; the period is in days for "days",
# in months for the two others (e.g. end_of_month + 12: the end of the month a year on).
LOYALTY_POINTS_EXPIRY_POLICY = env("LOYALTY_POINTS_EXPIRY_POLICY", default="end_of_month")
LOYALTY_POINTS_EXPIRY_PERIOD = env.int("LOYALTY_POINTS_EXPIRY_PERIOD", default=12)
LOYALTY_EXPIRY_BATCH_SIZE = env.int("LOYALTY_EXPIRY_BATCH_SIZE", default=2000)
# Members per transaction of the daily tier recalculation (members/tiers/services.py).
LOYALTY_TIER_BATCH_SIZE = env.int("LOYALTY_TIER_BATCH_SIZE", default=10000)
# Pay with points at a till (rewards/payments.py): the share of a basket points may pay (0 to 1),
# and the minutes a hold lasts before the scheduled task gives its points back.
LOYALTY_HOLD_MIN_SHARE = Decimal(env.str("LOYALTY_HOLD_MIN_SHARE", default="0"))
LOYALTY_HOLD_MAX_SHARE = Decimal(env.str("LOYALTY_HOLD_MAX_SHARE", default="1"))
LOYALTY_HOLD_MINUTES = env.int("LOYALTY_HOLD_MINUTES", default=15)
# Vouchers per transaction of the hourly voucher expiry (rewards/services.py vouchers_expire).
REWARDS_EXPIRY_BATCH_SIZE = env.int("REWARDS_EXPIRY_BATCH_SIZE", default=1000)

# The partner API (loyalty/api.py, loyalty/partners/rest.py): partner keys, JSON errors, capped bodies and pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["loyalty.partners.authentication.PartnerKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["loyalty.partners.authentication.HasScope"],
    "DEFAULT_PARSER_CLASSES": ["loyalty.partners.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["loyalty.partners.throttling.PartnerKeyRateThrottle"],
    "EXCEPTION_HANDLER": "loyalty.partners.rest.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=100)
# Lists and objects nested deeper than this in a JSON body get 400.
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
# Requests per API key: "<n>/second|minute|hour|day"; empty turns the limit off.
API_RATE_LIMIT = env("API_RATE_LIMIT", default="1200/minute")
# How long a POST's stored response answers a repeat of its Idempotency-Key (purged daily after that).
IDEMPOTENCY_KEY_RETENTION_DAYS = env.int("IDEMPOTENCY_KEY_RETENTION_DAYS", default=7)
# A member's presence code (shown by the portal, passed by a till to take points): lifetime, wrong tries.
PRESENCE_CODE_TTL_MINUTES = env.int("PRESENCE_CODE_TTL_MINUTES", default=5)
PRESENCE_CODE_MAX_ATTEMPTS = env.int("PRESENCE_CODE_MAX_ATTEMPTS", default=5)
SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty partner API",
    "DESCRIPTION": (
        "Enrol members, read their points, credit and debit them.\n\n"
        "**Keys.** The program's staff create a partner's API keys (in the admin, or with "
        "`manage.py partner_create`) and hand each over once; send it as `Authorization: Bearer <key>`. "
        "A key holds scopes: `members:read`, `members:write`, `points:adjust`.\n\n"
        f"**Rate limit.** Each key may make {API_RATE_LIMIT or 'unlimited'} requests; every answer carries "
        "`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the oldest counted "
        "request leaves the window); over the limit, 429 `throttled` with `Retry-After`.\n\n"
        "**Idempotency.** Every POST needs an `Idempotency-Key` header; a repeat with the same key and body "
        f"gets the first answer for {IDEMPOTENCY_KEY_RETENTION_DAYS} days.\n\n"
        "**Who sees what.** The partner that enrolled a member reads its profile; any other partner that "
        "names the member by card number reads what a till needs (`view: till`). Any partner may credit a "
        "member; taking points needs the enrolling partner or the member's presence code."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files (drf-spectacular-sidecar): no CDN, works offline, CSP-clean.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None},
    # Two choice sets share the field name "kind" (entries, rewards): each gets its own enum.
    "ENUM_NAME_OVERRIDES": {
        "RewardKindEnum": "rewards.models.RewardKind",
        "MemberStatusEnum": "members.models.MemberStatus",
        "VoucherStatusEnum": "rewards.models.VoucherStatus",
        "HoldStatusEnum": "loyalty.ledger.models.HoldStatus",
        "DeliveryStatusEnum": "loyalty.webhooks.models.DeliveryStatus",
    },
}

# Logs on stdout: one JSON object a line with the request id (loyalty/logging.py), or text
# (the default under DEBUG). Every record carries the id of the request, or of the request that
# enqueued the running task.
LOG_FORMAT = env("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "loyalty.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
