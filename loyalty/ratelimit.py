"""Fixed-window counters in Django's cache (Redis in production), and the portal's limits per client address.

One counter per scope, identity and window: the window is the current multiple of
``window`` seconds since the epoch (so every process and machine agrees on it without
sharing a clock beyond NTP), its key expires with it, and ``cache.add`` + ``cache.incr``
count atomically on Redis and Memcached (``check --deploy`` refuses any other cache,
loyalty/checks/deploy.py). A client can spend the limit at the end of one window and again
at the start of the next: at most twice the limit in a short burst, never more.

Used by the e-mail budget per address (``members.services.email_budget_take``) and by
``limit_per_client_ip`` (sign-up and password reset). The partner API's limit per key is
DRF's throttle (loyalty/partners/throttling.py), which needs the request history for its
``RateLimit-*`` headers.
"""

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from loyalty.proxies import client_ip

clock = time.time  # seconds since the epoch; tests move it


@dataclass(frozen=True)
class Count:
    allowed: bool
    count: int  # this hit included
    retry_after: int  # whole seconds until the window ends


def rate_count(*, scope: str, ident: str, limit: int, window: int, now: float | None = None) -> Count:
    """Count one hit of ``ident`` in ``scope``'s current window; allowed while at most ``limit`` were counted.

    Refused hits are counted too (they are still attempts). ``now`` (seconds since the epoch)
    defaults to ``clock()``; the cache's own expiry removes the key after the window.
    """
    now = clock() if now is None else now
    window_index = int(now // window)
    key = f"ratelimit:{scope}:{ident}:{window_index}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    retry_after = max(math.ceil((window_index + 1) * window - now), 1)
    return Count(allowed=count <= limit, count=count, retry_after=retry_after)


def client_bucket(address: str | None) -> str:
    """The identity a client address is counted under: an IPv4 address, or an IPv6 address's /64.

    One IPv6 subscriber gets a whole /64 and can pick any address in it; an unreadable or
    missing address shares one bucket (fail closed).
    """
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is 192.0.2.1
        return str(ip.ipv4_mapped)
    return f"{ipaddress.ip_network(f'{ip}/64', strict=False).network_address}/64"


def limit_per_client_ip(*, scope: str, setting: str, window: int = 3600) -> Callable:
    """Decorate a portal view: at most ``settings.<setting>`` POSTs an hour from one client address.

    The address is ``loyalty.proxies.client_ip`` (``X-Forwarded-For`` only behind
    ``TRUSTED_PROXY_COUNT`` proxies). Over the limit the view is not called: 429 with
    ``Retry-After`` and the portal's *Too many requests* page. A setting of 0 turns the limit
    off. Reading a form (GET) is never counted.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            limit = getattr(settings, setting)
            if request.method != "POST" or limit <= 0:
                return view(request, *args, **kwargs)
            counted = rate_count(scope=scope, ident=client_bucket(client_ip(request)), limit=limit, window=window)
            if counted.allowed:
                return view(request, *args, **kwargs)
            minutes = math.ceil(counted.retry_after / 60)
            response = render(request, "portal/rate_limited.html", {"minutes": minutes}, status=429)
            response["Retry-After"] = str(counted.retry_after)
            return response

        return wrapper

    return decorator
