"""How many bytes a request body may have, enforced before anything reads it.

A body is counted as it arrives, before authentication and before it is parsed: a declared
``Content-Length`` over the limit is answered 413 without reading a byte, and a body that streams
past the limit (chunked, or lying about its length) is answered 413 the moment it does. The route
never sees it, so nothing is stored — not even a refusal row, which would let anyone fill the
database with large bodies.

An eCall is the exception: a crash alert is never refused for its size, so its route gets the first
bytes, up to its limit, and ``body_truncated(request)`` says that the rest was cut.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.requests import Request

from forecourt.core.i18n import _
from forecourt.sharing.photos import BODY_LIMIT as PHOTO_BODY_LIMIT
from forecourt.telematics.decoders import osmand, vss_json

KIB = 1024


@dataclass(frozen=True)
class BodyLimit:
    path_prefix: str
    limit: int
    # Cut the body at the limit instead of refusing it (the route reads what arrived).
    truncate: bool = False
    # Only paths ending in one of these (a booking's check-out, return or photos), when given.
    path_suffixes: tuple[str, ...] = ()


PHOTO_PATHS = ("/check-out", "/return", "/photos")
# The first match wins. Vehicles and phones get what their decoders read (a batch of samples or
# positions); an eCall is a few kilobytes at most, so its limit is generous. Logins are small.
LIMITS = (
    BodyLimit("/api/telemetry/", vss_json.MAX_PAYLOAD_BYTES),
    BodyLimit("/osmand", osmand.MAX_BODY_BYTES),
    BodyLimit("/api/assist/ecall/", 64 * KIB, truncate=True),
    BodyLimit("/api/auth/", 16 * KIB),
    # Photos of a shared car from a phone, at pick-up and return: several pictures of a few megabytes.
    BodyLimit("/me/sharing/", PHOTO_BODY_LIMIT, path_suffixes=PHOTO_PATHS),
    BodyLimit("/api/me/sharing/reservations/", PHOTO_BODY_LIMIT, path_suffixes=("/photos",)),
)
FORM_LIMIT = 64 * KIB  # HTML forms (urlencoded or multipart): a page never posts more
DEFAULT_LIMIT = 128 * KIB  # any other JSON body: the largest (a full work order) is a few tens of kilobytes
FORMS = (b"application/x-www-form-urlencoded", b"multipart/form-data")


class BodyTooLarge(Exception):
    """Raised into whoever reads past the limit; the 413 has already been sent."""


def limit_for(path: str, content_type: bytes) -> BodyLimit:
    for rule in LIMITS:
        if path.startswith(rule.path_prefix) and (not rule.path_suffixes or path.endswith(rule.path_suffixes)):
            return rule
    if content_type.split(b";")[0].strip().lower() in FORMS:
        return BodyLimit("", FORM_LIMIT)
    return BodyLimit("", DEFAULT_LIMIT)


def body_truncated(request: Request) -> bool:
    """True when a truncating route's body was cut at its limit."""
    return bool(request.scope.get("state", {}).get("body_truncated"))


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def too_large_message(limit: int) -> str:
    return _("The request body is larger than %(size)s KB, the most this address accepts. Nothing was stored.",
             size=limit // KIB)


async def _answer_too_large(send, limit: int) -> None:
    body = json.dumps({"detail": too_large_message(limit)}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    """Plain ASGI middleware: it must sit between the server and whatever reads the body."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = scope.get("headers", [])
        content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
        rule = limit_for(scope["path"], content_type)
        declared = _declared_length(headers)
        if rule.truncate:
            return await self.app(scope, _cutting(receive, scope, rule.limit), send)
        if declared is not None and declared > rule.limit:
            return await _answer_too_large(send, rule.limit)
        await self._counted(scope, receive, send, rule.limit)

    async def _counted(self, scope, receive, send, limit: int) -> None:
        received = 0
        answered = False

        async def counting_receive():
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not answered:
                        answered = True
                        await _answer_too_large(send, limit)
                    raise BodyTooLarge()
            return message

        async def guarded_send(message):
            if not answered:  # whatever the app makes of the interrupted read, the client has its 413
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not answered:
                raise  # a fault of its own; once the 413 is out, whatever the interrupted read raised is moot


def _cutting(receive, scope, limit: int):
    """A ``receive`` that ends the body at ``limit`` bytes and marks the request as cut."""
    received = 0
    done = False

    async def cutting_receive():
        nonlocal received, done
        if done:  # the rest of an over-long body is dropped, never handed on
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message
        message = await receive()
        if message["type"] != "http.request":
            return message
        chunk = message.get("body", b"")
        room = limit - received
        if len(chunk) > room:
            scope.setdefault("state", {})["body_truncated"] = True
            done = True
            return {"type": "http.request", "body": chunk[:room], "more_body": False}
        received += len(chunk)
        if not message.get("more_body", False):
            done = True
        return message

    return cutting_receive
