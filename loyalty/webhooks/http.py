"""Sending one signed request to a partner's URL, to a public address only.

The host is resolved once; every address it resolves to must be public (not loopback,
link-local, private, multicast, reserved or unspecified, IPv4-mapped IPv6 read as its IPv4)
unless ``LOYALTY_WEBHOOK_ALLOW_PRIVATE``; the connection is then made to the address that was
checked (TLS still verifies the host name), so a DNS answer that changes between the check
and the connect cannot point the request at the server's own network. Redirects are not
followed: a 3xx is an answer that is not 2xx.
"""

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from loyalty.exceptions import ValidationError

EXCERPT_CHARS = 500


class BlockedAddress(ValidationError):
    code = "invalid"
    default_message = "This URL does not lead to a public address."


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    latency_ms: int
    excerpt: str = ""
    error: str = ""


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def address_blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def target_resolve(url: str) -> Target:
    """The URL's parts and the one address to connect to; ``BlockedAddress`` (a ``ValidationError`` on ``url``)
    for another scheme, a host that does not resolve, or any resolved address that is not public."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BlockedAddress("This URL is not valid.", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress("Only http and https URLs are accepted.", field="url")
    if parts.username or parts.password:
        raise BlockedAddress("A URL with credentials is not accepted.", field="url")
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise BlockedAddress("This URL's host does not resolve.", field="url") from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise BlockedAddress("This URL's host does not resolve.", field="url")
    if not settings.LOYALTY_WEBHOOK_ALLOW_PRIVATE and any(address_blocked(address) for address in addresses):
        raise BlockedAddress(field="url")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=parts.scheme, host=parts.hostname, port=port, path=path, address=addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``url`` (checked again now) within ``LOYALTY_WEBHOOK_TIMEOUT`` seconds per step."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = target_resolve(url)
    except BlockedAddress as exc:
        return Answer(None, elapsed(), error=exc.message)
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout=settings.LOYALTY_WEBHOOK_TIMEOUT)
    try:
        connection.request("POST", target.path, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_CHARS * 4).decode("utf-8", errors="replace")[:EXCERPT_CHARS]
        return Answer(response.status, elapsed(), excerpt=excerpt)
    except TimeoutError:
        return Answer(None, elapsed(), error=f"No answer within {settings.LOYALTY_WEBHOOK_TIMEOUT} s.")
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, elapsed(), error=f"{type(exc).__name__}: {exc}"[:EXCERPT_CHARS])
    finally:
        connection.close()
