"""Values kept in Django's cache that the database can always give again (configuration read on every
purchase, standings): a cache that does not answer is logged and read past, never raised, so a purchase
never fails for it."""

import logging
from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


def kept(key: str, load: Callable[[], object], seconds: int):
    """What the cache keeps under ``key``, else ``load()`` (then kept for ``seconds``)."""
    try:
        found = cache.get(key)
    except Exception:
        logger.warning("the cache did not answer: %s read from the database", key, exc_info=True)
        return load()
    if found is None:
        found = load()
        try:
            cache.set(key, found, seconds)
        except Exception:
            logger.warning("the cache did not answer: %s not kept", key, exc_info=True)
    return found


def forget(*keys: str) -> None:
    """Drop ``keys`` now (the caller's own transaction reads its change) and again once that transaction commits
    (another process may have kept the old values meanwhile). A cache that does not answer lets them expire."""

    def drop():
        try:
            cache.delete_many(list(keys))
        except Exception:
            logger.warning("the cache did not answer: %s expire by themselves", ", ".join(keys), exc_info=True)

    drop()
    transaction.on_commit(drop)
