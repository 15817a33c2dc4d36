"""A stand-in for the card provider's API on 127.0.0.1, so the real ``stripe`` library makes its real
HTTP calls without the network. It answers the few endpoints Forecourt uses, in the provider's JSON
shapes, and keeps every request so a test can see what was asked and with which idempotency key.

Webhooks are the other direction: ``signed`` builds an event and signs it as the provider does
(HMAC-SHA256 over ``"{timestamp}.{body}"`` with the endpoint secret), written here from the
provider's documented scheme rather than with the library that verifies it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

SECRET_KEY = "sk_test_forecourt_local"
WEBHOOK_SECRET = "whsec_test_forecourt_local"


@dataclass
class Call:
    method: str
    path: str
    form: dict
    headers: dict


@dataclass
class CardServer:
    calls: list[Call] = field(default_factory=list)
    intents: dict[str, dict] = field(default_factory=dict)
    url: str = ""
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def answer(self, method: str, path: str, form: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/payment_intents":
            number = next(self._ids)
            intent = {"id": f"pi_test_{number}", "object": "payment_intent", "amount": int(form["amount"]),
                      "currency": form["currency"], "capture_method": form.get("capture_method", "automatic"),
                      "client_secret": f"pi_test_{number}_secret_{number * 7919}", "status": "requires_payment_method",
                      "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}}
            self.intents[intent["id"]] = intent
            return 200, intent
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 4 and parts[1] == "payment_intents" and parts[2] in self.intents:
            intent = self.intents[parts[2]]
            intent["status"] = {"capture": "succeeded", "cancel": "canceled"}[parts[3]]
            return 200, intent
        if method == "POST" and path == "/v1/refunds":
            number = next(self._ids)
            return 200, {"id": f"re_test_{number}", "object": "refund", "amount": int(form["amount"]),
                         "currency": "eur", "payment_intent": form["payment_intent"], "status": "succeeded"}
        return 404, {"error": {"type": "invalid_request_error", "message": f"No such route {method} {path}"}}

    def paths(self) -> list[str]:
        return [f"{c.method} {c.path}" for c in self.calls]


def start() -> tuple[CardServer, ThreadingHTTPServer]:
    state = CardServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the standard library's name
            length = int(self.headers.get("content-length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            state.calls.append(Call("POST", self.path, form, dict(self.headers)))
            status, body = state.answer("POST", self.path, form)
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("request-id", f"req_{len(state.calls)}")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


def event(kind: str, data: dict, *, event_id: str | None = None) -> str:
    return json.dumps({"id": event_id or f"evt_{kind.replace('.', '_')}_{data.get('id')}", "object": "event",
                       "api_version": "2025-01-01", "created": int(time.time()), "livemode": False, "type": kind,
                       "data": {"object": data}})


def signed(body: str, secret: str = WEBHOOK_SECRET, at: int | None = None) -> dict:
    """The ``Stripe-Signature`` header the provider would send with ``body``."""
    moment = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{moment}.{body}".encode(), hashlib.sha256).hexdigest()
    return {"stripe-signature": f"t={moment},v1={digest}", "content-type": "application/json"}


def succeeded(intent: dict, amount: int | None = None) -> str:
    return event("payment_intent.succeeded", intent | {"status": "succeeded",
                                                       "amount_received": amount or intent["amount"]})
