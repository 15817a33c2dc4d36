"""Server-sent events for the carmaker's fleet health page: the per-status counts and the cars
needing attention, pushed when a car's health changes.

The page describes every car, so it cannot follow a set of cars the way a car page does
(``web.car_stream``); and with a million cars an ingest batch commits every moment. So each web
process keeps one ``FleetBoard``: the fleet's health as last read, read again only after the
process's one ``CarFeed`` (``web.live``) moved — a report, or a changed judgement, which
``telematics.health.record_health`` names on commit — and at most once per ``GAP_SECONDS``
however many pages are open (less often when a read is slow: ``READ_SHARE``). A read that finds
what the last one found changes nothing, so the streams send only when what the page shows changed. Health is stored after the report it is
judged from, in a transaction of its own: one more read follows a gap after the last change, so
a judgement committed a moment after its report (by an ingest process on SQLite, whose commits
this process does not hear) is not left waiting for the next report.

Each stream sends the board's latest version, in its viewer's words and clock, whenever it is not
the version the page has; the page names the last version it got when it reconnects
(``Last-Event-ID``) and is sent nothing until the fleet changes again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace

import anyio

from forecourt.telematics.health import FleetHealth
from forecourt.web.car_stream import sse_event
from forecourt.web.connections import ConnectionGate
from forecourt.web.live import CarFeed

log = logging.getLogger(__name__)

GAP_SECONDS = 2.0
READ_SHARE = 0.25  # a slow read (a million cars) spaces the next: reading takes at most this share of the time
HEARTBEAT_SECONDS = 15.0


class FleetBoard:
    """The fleet's health as this web process last read it, shared by every open fleet page."""

    def __init__(self, feed: CarFeed, read: Callable[[], FleetHealth], *, gap: float = GAP_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.feed, self._read, self.gap, self.clock = feed, read, gap, clock
        self.epoch = uuid.uuid4().hex[:8]
        self.latest: tuple[int, FleetHealth] | None = None  # (version, fleet)
        self.reads = 0  # tests and benchmarks
        self._seen = -1  # the feed's number the latest read began at
        self._next = 0.0
        self._settle = False  # one more read is owed a gap after the last change
        self._reading = threading.Lock()

    def mark(self, version: int) -> str:
        return f"{self.epoch}-{version}"

    def owed(self) -> bool:
        """Nothing read yet, a car changed since the last read, or the read a gap after a change."""
        return self.latest is None or self.feed.number != self._seen or self._settle

    def due(self) -> bool:
        """A read is owed and the gap is over."""
        return self.owed() and self.clock() >= self._next

    def wait_for_read(self) -> float:
        """Seconds until an owed read may be made (``inf`` when none is owed)."""
        return max(self._next - self.clock(), 0.0) if self.owed() else float("inf")

    def refresh(self) -> None:
        """Read again if due. One read at a time: a stream that finds another's read under way waits
        for its answer instead of reading too. Blocking: call it from a worker thread."""
        if not self._reading.acquire(blocking=False):
            return
        try:
            if not self.due():
                return
            number = self.feed.number  # taken first: a batch arriving during the read is read next time
            self._settle = number != self._seen and self.latest is not None
            began = self.clock()
            self._next = began + self.gap
            try:
                fleet = self._read()
            except Exception:  # the database is away for a moment: the pages keep what they show, then catch up
                log.exception("the fleet board could not read the fleet's health")
                return
            finally:
                self._next = max(self._next, began + (self.clock() - began) / READ_SHARE)
            self.reads += 1
            self._seen = number
            if self.latest is None or _as_shown(fleet) != _as_shown(self.latest[1]):
                version = self.latest[0] + 1 if self.latest else 1
                self.latest = (version, fleet)
                self.feed.beacon.ring()  # the other pages' streams, asleep on the feed, send it now
        finally:
            self._reading.release()


def _as_shown(fleet: FleetHealth) -> FleetHealth:
    """The page shows when a car was checked to the minute: a car checked again within it looks the same."""
    return replace(fleet, needing_attention=[replace(car, checked_at=car.checked_at.replace(second=0, microsecond=0))
                                             for car in fleet.needing_attention])


_MAKING = threading.Lock()


def board_of(app, feed: CarFeed, read: Callable[[], FleetHealth]) -> FleetBoard:
    """The app's one board (``read`` is used by the first caller only)."""
    with _MAKING:
        board = getattr(app.state, "fleet_board", None)
        if board is None:
            board = app.state.fleet_board = FleetBoard(feed, read)
    return board


async def fleet_events(board: FleetBoard, *, render: Callable[[FleetHealth], object],
                       last_seen: str | None = None, lifetime: float, heartbeat: float = HEARTBEAT_SECONDS,
                       disconnected: Callable[[], Awaitable[bool]] | None = None,
                       gate: ConnectionGate | None = None):
    """``event: fleet`` with ``render(fleet)`` whenever the board holds a version this page has not
    got; the first at once, unless the page reconnects naming the board's latest. Between sends the
    stream sleeps on the feed's beacon (``web.live``) until a read is due or another stream's read
    made a version; with ``gate`` (the app's) a read waits for its turn at the database on the event
    loop before it takes a thread (``web.connections``)."""
    sent = last_seen
    started = time.monotonic()
    beat, ends = started + heartbeat, started + lifetime

    def news(owed_before: bool) -> Callable[[], bool]:
        """Wake for a version this page has not got, or to set its alarm when a car changed: while a
        read is owed already, the alarm (the sleep's end) is set for when it may be made."""
        return lambda: ((not owed_before and board.owed())
                        or (board.latest is not None and board.mark(board.latest[0]) != sent))

    yield "retry: 1000\n\n"
    while time.monotonic() < ends:
        if disconnected is not None and await disconnected():
            return
        if board.due():
            await (gate.reading(board.refresh) if gate is not None else anyio.to_thread.run_sync(board.refresh))
        latest = board.latest
        if latest is not None and board.mark(latest[0]) != sent:
            sent = board.mark(latest[0])
            yield sse_event("fleet", sent, await anyio.to_thread.run_sync(render, latest[1]))
        if time.monotonic() >= beat:
            beat = time.monotonic() + heartbeat
            yield ": heartbeat\n\n"
        wake = min(beat, ends) - time.monotonic()
        await board.feed.beacon.until(news(board.owed()), min(wake, board.wait_for_read()))
