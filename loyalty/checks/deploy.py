"""Checks that ``manage.py check --deploy`` runs on production settings.

Counters that limit abuse live in the default cache: the partner API's rate limit per key
(``loyalty/partners/throttling.py``), the portal's sign-ups and password resets per client
address and the e-mails per address (``loyalty/ratelimit.py``). A local-memory cache counts them per
process (two gunicorn workers let 40 requests through a limit of 20), a file cache is neither
atomic nor shared between machines, and a dummy cache counts nothing. Only a shared cache
with atomic increments holds them: Redis (the one production already runs for Celery) or
Memcached. Any other backend is refused: fail closed.
"""

from django.conf import settings
from django.core import checks

SHARED_CACHE_BACKENDS = {
    "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache",
    "django.core.cache.backends.memcached.PyLibMCCache",
    "django_redis.cache.RedisCache",
}


@checks.register(checks.Tags.caches, deploy=True)
def check_shared_cache(app_configs=None, **kwargs):
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in SHARED_CACHE_BACKENDS:
        return []
    return [
        checks.Error(
            f"The default cache ({backend or 'none'}) is not shared by every process: the API's rate limit "
            "and the password-reset cap would be counted per process, and each worker would allow the whole "
            "limit again.",
            hint="Set CACHE_URL to Redis, e.g. CACHE_URL=redis://127.0.0.1:6379/1 (the same server as Celery's "
            "broker will do, on another database number).",
            id="loyalty.E001",
        )
    ]
