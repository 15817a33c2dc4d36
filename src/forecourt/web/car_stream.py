"""Server-sent events for pages that follow cars: the car pages and the hub's fleet map.

A stream watches a set of cars in the web process's one ``CarFeed`` (``web.live``), which costs no
query. Only when one of its cars changed does it call the page's ``read`` — in a worker thread, with
a session of its own — which applies the page's own access rules (consent door, subscription, the
renter's permission) exactly as the page does, and says what this viewer may see of those cars;
nothing else ever goes into the stream. A stream reads at most once per ``MIN_GAP_SECONDS`` however
often its cars report, and lives ``LIFETIME_SECONDS``; the browser's EventSource then reconnects,
naming the last batch it saw, and the stream reads only if it may have missed something.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

import anyio
from fastapi import Query
from fastapi.responses import StreamingResponse

from forecourt.web.live import CarFeed

POLL_SECONDS = 0.1
MIN_GAP_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
LIFETIME_SECONDS = 300.0
# How long the page asks its stream to live (tests and the access checks ask for a moment).
LIFETIME = Query(default=LIFETIME_SECONDS, gt=0, le=LIFETIME_SECONDS)
STREAM_DOC = {200: {"description": "Server-sent events: the cars this viewer may see, when they change",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}}}}


class Gone(Exception):
    """The viewer may no longer see this (consent withdrawn, On Call ended, car sold): the stream ends."""


def _event(name: str, mark: str, data: object) -> str:
    return f"event: {name}\nid: {mark}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def car_events(feed: CarFeed, *, cars: frozenset[int], read: Callable[[set[int]], object | None],
                     event: str, last_seen: str | None = None, lifetime: float = LIFETIME_SECONDS,
                     poll: float = POLL_SECONDS, gap: float = MIN_GAP_SECONDS,
                     heartbeat: float = HEARTBEAT_SECONDS,
                     disconnected: Callable[[], Awaitable[bool]] | None = None):
    """``event`` with ``read(changed cars)`` whenever it is not ``None``; ``event: gone`` and the end
    when ``read`` raises ``Gone``. A reconnecting page (``last_seen``) that may have missed a batch
    gets its cars read at once."""
    seen = feed.knows(last_seen)
    number = feed.number if seen is None else seen
    pending: set[int] = set(cars) if (last_seen and seen is None) else set()
    started = time.monotonic()
    next_read = beat = started
    beat += heartbeat
    yield f"retry: 1000\nid: {feed.mark(number)}\n\n"
    while time.monotonic() - started < lifetime:
        if disconnected is not None and await disconnected():
            return
        number, changed = feed.since(number)
        pending |= set(cars) if changed is None else (changed & cars)
        if pending and time.monotonic() >= next_read:
            asked, pending = pending, set()
            next_read = time.monotonic() + gap
            try:
                data = await anyio.to_thread.run_sync(read, asked)
            except Gone:
                yield _event("gone", feed.mark(number), {})
                return
            if data is not None:
                yield _event(event, feed.mark(number), data)
        if time.monotonic() >= beat:
            beat = time.monotonic() + heartbeat
            yield ": heartbeat\n\n"
        await anyio.sleep(poll)


def response(events) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
