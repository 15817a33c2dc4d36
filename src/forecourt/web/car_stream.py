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

from forecourt.web.connections import ConnectionGate
from forecourt.web import live
from forecourt.web.live import CarFeed

MIN_GAP_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
LIFETIME_SECONDS = 300.0
# How long the page asks its stream to live (tests and the access checks ask for a moment).
LIFETIME = Query(default=LIFETIME_SECONDS, gt=0, le=LIFETIME_SECONDS)
STREAM_DOC = {200: {"description": "Server-sent events: the cars this viewer may see, when they change",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}}}}


class Gone(Exception):
    """The viewer may no longer see this (consent withdrawn, On Call ended, car sold): the stream ends."""


def sse_event(name: str, mark: str, data: object) -> str:
    """One server-sent event: its name, the mark a reconnecting page sends back, and its JSON."""
    return f"event: {name}\nid: {mark}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def car_events(feed: CarFeed, *, cars: frozenset[int], read: Callable[[set[int]], object | None],
                     event: str, last_seen: str | None = None, lifetime: float = LIFETIME_SECONDS,
                     gap: float = MIN_GAP_SECONDS,
                     heartbeat: float = HEARTBEAT_SECONDS,
                     disconnected: Callable[[], Awaitable[bool]] | None = None,
                     gate: ConnectionGate | None = None):
    """``event`` with ``read(changed cars)`` whenever it is not ``None``; ``event: gone`` and the end
    when ``read`` raises ``Gone``. A reconnecting page (``last_seen``) that may have missed a batch
    gets its cars read at once. With ``gate`` (the app's) each read waits for its turn at the
    database on the event loop before it takes a thread (``web.connections``)."""
    seen = feed.knows(last_seen)
    follow = _Following(feed, cars, feed.number if seen is None else seen)
    if last_seen and seen is None:
        follow.pending = set(cars)
    started = time.monotonic()
    next_read = beat = started
    beat += heartbeat
    ends = started + lifetime
    yield f"retry: 1000\nid: {feed.mark(follow.number)}\n\n"
    while time.monotonic() < ends:
        if disconnected is not None and await disconnected():
            return
        follow.look()
        if follow.pending and time.monotonic() >= next_read:
            asked, follow.pending = follow.pending, set()
            next_read = time.monotonic() + gap
            try:
                data = await (gate.reading(read, asked) if gate is not None
                              else anyio.to_thread.run_sync(read, asked))
            except Gone:
                yield sse_event("gone", feed.mark(follow.number), {})
                return
            if data is not None:
                yield sse_event(event, feed.mark(follow.number), data)
        if time.monotonic() >= beat:
            beat = time.monotonic() + heartbeat
            yield ": heartbeat\n\n"
        if follow.pending:  # a read held back by the gap
            await anyio.sleep(max(min(next_read, beat, ends) - time.monotonic(), 0.0))
        else:  # asleep until a batch names one of its cars, the heartbeat or the end
            await feed.beacon.until(follow.look, min(beat, ends) - time.monotonic())


class _Following:
    """Where one stream is in the feed and which of its cars changed since it last read. Each look
    takes in only the batches after the last one, however many other cars' batches arrive."""

    def __init__(self, feed: CarFeed, cars: frozenset[int], number: int):
        self.feed, self.cars, self.number = feed, cars, number
        self.pending: set[int] = set()

    def look(self) -> bool:
        self.number, changed = self.feed.since(self.number)
        self.pending |= set(self.cars) if changed is None else (changed & self.cars)
        return bool(self.pending)


def for_request(request, *, cars: frozenset[int], read: Callable[[set[int]], object | None], event: str,
                seconds: float) -> StreamingResponse:
    """The stream a page opens: on its process's watcher, resumed from the page's Last-Event-ID, each
    read with a turn at the database."""
    return response(car_events(live.case_watch(request.app).cars, cars=cars, read=read, event=event,
                               last_seen=request.headers.get("last-event-id"), lifetime=seconds,
                               disconnected=request.is_disconnected, gate=request.app.state.connection_gate))


def response(events) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
