"""A webhook receiver on 127.0.0.1 that the tests start: it records what it is sent and answers as told."""

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Receiver:
    url: str
    answers: list = field(default_factory=list)  # (status, seconds to wait first), used in turn; then 200
    received: list = field(default_factory=list)  # (headers, body) of each request
    secret: str = ""  # when set, the receiver checks each signature: 401 if it does not verify
    verified: list = field(default_factory=list)  # the check of each request, when it checks

    def answer(self, status: int = 200, *, wait: float = 0) -> None:
        self.answers.append((status, wait))


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance: int = 300) -> bool:
    """An independent check of ``Loyalty-Signature: t=<unix>,v1=<hex>``, as a partner would write it."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(expected, parts["v1"])


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append((dict(self.headers), body))
            status, wait = state.answers.pop(0) if state.answers else (200, 0)
            if state.secret:
                good = verify(state.secret, self.headers.get("Loyalty-Signature", "t=0,v1="), body, now=time.time())
                state.verified.append(good)
                status = status if good else 401
            time.sleep(wait)
            try:
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", state.url + "elsewhere")
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok " * 300)
            except OSError:  # the client gave up (a timeout test)
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_private(settings):
    """The receiver listens on 127.0.0.1, which production refuses."""
    settings.LOYALTY_WEBHOOK_ALLOW_PRIVATE = True
    settings.LOYALTY_WEBHOOK_TIMEOUT = 2
