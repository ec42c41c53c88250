"""The client's address, behind ``TRUSTED_PROXY_COUNT`` reverse proxies (django-axes counts login failures by it).

Each trusted proxy appends the address it received the connection from to ``X-Forwarded-For``,
so behind N proxies the client's address is the N-th entry from the right: whatever stands
left of it was written by the client and is not believed. With no proxy configured the header
is ignored and the connection's own address (``REMOTE_ADDR``) is the client's. A header
shorter than N entries, or an entry that is not an IP address (a port is dropped), means the request did not come
through every proxy: the connection's address is used, never a value the client chose.

(django-ipware's ``proxy_count`` counts the proxies *listed in* the header and answers no
address at all when the count differs, so behind one nginx every client would share one
address, and a left-most choice would believe the client: hence this function.)
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    candidate = forwarded[-count]
    if candidate.startswith("["):  # [IPv6]:port
        candidate = candidate[1:].partition("]")[0]
    elif candidate.count(":") == 1:  # IPv4:port
        candidate = candidate.partition(":")[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
