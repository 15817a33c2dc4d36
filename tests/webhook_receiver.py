"""A provider's dispatch system for the tests: a real HTTP server on a free port that receives webhooks and
checks their Standard Webhooks signature itself (HMAC-SHA256 with the provider's secret over
"id.timestamp.body", a five-minute window), independently of the code that signed them. It also signs
the provider's callbacks the same way."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WINDOW_SECONDS = 300


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(_key(secret), f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed(secret: str, body: bytes, *, message_id: str = "callback-1", timestamp: int | None = None) -> dict:
    """Headers for a callback signed with ``secret`` (now, unless ``timestamp`` says otherwise)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {"content-type": "application/json", "webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, message_id, timestamp, body)}


@dataclass
class Delivery:
    path: str
    headers: dict
    body: bytes
    verified: bool

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``answers``: the HTTP status for each request in turn (the last one repeats)."""

    secret: str = ""
    answers: list[int] = field(default_factory=lambda: [200])
    deliveries: list[Delivery] = field(default_factory=list)
    url: str = ""

    def verify(self, headers: dict, body: bytes) -> bool:
        try:
            timestamp = int(headers["webhook-timestamp"])
            expected = signature(self.secret, headers["webhook-id"], timestamp, body)
        except (KeyError, ValueError):
            return False
        fresh = abs(time.time() - timestamp) <= WINDOW_SECONDS
        return fresh and any(hmac.compare_digest(expected, given) for given in headers["webhook-signature"].split())


@contextmanager
def webhook_receiver(secret: str = "", answers: list[int] | None = None):
    receiver = Receiver(secret=secret, answers=list(answers or [200]))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the standard library's name
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.deliveries.append(Delivery(path=self.path, headers=headers, body=body,
                                                verified=receiver.verify(headers, body)))
            status = receiver.answers[min(len(receiver.deliveries), len(receiver.answers)) - 1]
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/forecourt/dispatch"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
