"""One watcher per web process of the On Call case timeline and of the cars' live state, shared by
every open console, car page and hub map.

An open console holds a server-sent event stream that must move the moment a case changes —
whichever process changed it (the ingest worker opens cases from crashes, another web process
takes an agent's action). Asking the database every 50 ms per console made 200 consoles 4,000
queries a second at rest. Instead each web process keeps the newest timeline id in memory
(``CaseWatch.current``) and every stream of that process compares against it, which costs no query:

* **PostgreSQL**: a trigger on ``assist_case_events`` (migration 0027) sends ``NOTIFY
  forecourt_cases, '<id>'`` with each committed timeline row; one connection per web process
  ``LISTEN``s and moves ``current``. A notification comes only after its transaction commits, so
  every web process — and every console on it — sees every case. When the listening connection
  drops, the watcher reconnects and reads the newest id once, so nothing missed meanwhile is lost.
* **SQLite** (one host, no notifications): one thread per process reads the newest id every 50 ms,
  whatever the number of consoles.

The same connection (one per web process) also ``LISTEN``s on ``forecourt_cars``: ingest names the
cars of each committed batch there (``core.changes``), and ``CaseWatch.cars`` (a ``CarFeed``) keeps
the recent batches in memory for the car pages' and hub maps' streams, which read a car only when it
changed, each through its page's own access rules. After a lost connection the feed says "anything
may have changed", so every stream reads its cars once. On SQLite the feed takes this process's own
commits at once (``core.changes.subscribe``) and the poller finds the other processes' new samples
and positions by id, every ``CAR_POLL_SECONDS``.

The watcher starts with the first stream and reads with its own connections (not a request's); it
stops when no stream has followed it for ``IDLE_SECONDS`` and the next stream starts it again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from contextlib import suppress

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from forecourt.assist import cases as cases_service
from forecourt.core import changes
from forecourt.core.db import get_engine

log = logging.getLogger(__name__)

CHANNEL = "forecourt_cases"
POLL_SECONDS = 0.05
CAR_POLL_SECONDS = 0.5
RECONNECT_SECONDS = 1.0
IDLE_SECONDS = 60.0  # a watcher nobody followed for this long stops; the next stream starts it again
KEEP_BATCHES = 4096


class Beacon:
    """Wakes the streams of every event loop of this process when the watcher hears something.

    A stream sleeps until it is woken (or its heartbeat is due) rather than looking at the watcher
    every 50 ms: 200 open consoles then cost no CPU at rest, and an alert reaches them the moment the
    watcher hears it instead of at their next look. The watcher's thread rings; each loop's waiters
    share one ``asyncio.Event``, replaced at every ring."""

    def __init__(self) -> None:
        self._events: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop -> its waiters' event
        self._lock = threading.Lock()
        self.waiting = 0  # streams asleep here now
        self.waited_at = 0.0  # time.monotonic() a stream last went to sleep here

    def ring(self) -> None:
        """From any thread."""
        with self._lock:
            loops = list(self._events.keys())
        for loop in loops:
            with suppress(RuntimeError):  # a loop that closed meanwhile has nobody waiting
                loop.call_soon_threadsafe(self._wake, loop)

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            event = self._events.pop(loop, None)
        if event is not None:
            event.set()

    async def until(self, changed: Callable[[], bool], timeout: float) -> bool:
        """Waits at most ``timeout`` seconds for ``changed()`` to hold; it is asked again at each ring.
        The event is taken before the first look, so a ring between the look and the wait is not lost."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        with self._lock:
            self.waiting += 1
            self.waited_at = time.monotonic()
        try:
            while True:
                with self._lock:
                    event = self._events.get(loop)
                    if event is None:
                        event = self._events[loop] = asyncio.Event()
                if changed():
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                with suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await event.wait()
        finally:
            with self._lock:
                self.waiting -= 1
                self.waited_at = time.monotonic()


class CarFeed:
    """The recent batches of changed cars, numbered; a stream remembers the number it has seen.

    ``epoch`` names this feed (a process restart, or another process, has another), so a page that
    reconnects with ``<epoch>-<number>`` of this very feed reads nothing it already has."""

    def __init__(self, keep: int = KEEP_BATCHES):
        self.epoch = uuid.uuid4().hex[:8]
        self.number = 0
        self.changed_at = 0.0  # time.monotonic() of the newest batch (benchmarks)
        self._batches: deque[tuple[int, frozenset[int] | None]] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self.beacon = Beacon()  # rung with every batch: the car streams sleep until then

    def add(self, vehicle_ids: frozenset[int] | None) -> None:
        """``None``: anything may have changed (a listener came back after losing its connection)."""
        if vehicle_ids is not None and not vehicle_ids:
            return
        with self._lock:
            self.number += 1
            self._batches.append((self.number, vehicle_ids))
            self.changed_at = time.monotonic()
        self.beacon.ring()

    def since(self, number: int) -> tuple[int, set[int] | None]:
        """(the newest number, the cars changed after ``number``); ``None`` for "read all yours"."""
        with self._lock:
            if number >= self.number:
                return self.number, set()
            if not self._batches or self._batches[0][0] > number + 1:
                return self.number, None  # fallen out of memory
            changed: set[int] = set()
            for batch_number, ids in self._batches:
                if batch_number <= number:
                    continue
                if ids is None:
                    return self.number, None
                changed |= ids
            return self.number, changed

    def mark(self, number: int) -> str:
        return f"{self.epoch}-{number}"

    def knows(self, mark: str | None) -> int | None:
        """The number a reconnecting page saw, if it saw it on this feed; else ``None``."""
        epoch, _, number = (mark or "").partition("-")
        if epoch != self.epoch or not number.isdigit() or int(number) > self.number:
            return None
        return int(number)


class CaseWatch:
    def __init__(self, database_url: str):
        self.database_url = database_url
        self.current: int | None = None
        self.beacon = Beacon()  # rung when ``current`` moves: the consoles sleep until then
        self.cars = CarFeed()
        self._car_marks: tuple[int, int] | None = None  # SQLite: the newest sample and position ids seen
        self.queries = 0  # reads of the database the watcher made (benchmarks, tests)
        self.notifications = 0
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._asked_at = 0.0  # time.monotonic() of the last ``start``
        self._retiring = False

    @property
    def listens(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "postgresql"

    def start(self, timeout: float = 10.0) -> CaseWatch:
        """Idempotent; returns once ``current`` is known (or after ``timeout``)."""
        with self._lock:
            self._asked_at = time.monotonic()
            if self._retiring and self._thread is not None:
                self._thread.join()  # it found itself idle just before this call: it ends, a new one begins
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._retiring = False
                self._thread = threading.Thread(target=self._listen if self.listens else self._poll,
                                                name="forecourt-case-watch", daemon=True)
                self._thread.start()
        self._ready.wait(timeout)
        return self

    def stop(self) -> None:
        self._stop.set()
        changes.unsubscribe(self.cars.add)
        if self._thread is not None:
            self._thread.join(5)

    def _retire_if_idle(self) -> bool:
        """True (and the thread then ends) when no stream has followed this watcher for ``IDLE_SECONDS``:
        an app that is gone (a test's, a reloaded one's) must not leave a thread asking its database
        every 50 ms, or a connection listening, for the life of the process."""
        with self._lock:
            quiet_since = max(self.beacon.waited_at, self.cars.beacon.waited_at, self._asked_at)
            if self.beacon.waiting or self.cars.beacon.waiting or time.monotonic() - quiet_since < IDLE_SECONDS:
                return False
            self._retiring = True
            self._ready.clear()  # the next start waits for a fresh newest id
            return True

    def _moved(self, value: int) -> None:
        if self.current is None or value > self.current:
            self.current = value
            self.beacon.ring()
        self._ready.set()

    def _newest(self) -> int:
        self.queries += 1
        with Session(get_engine(self.database_url)) as session:
            return cases_service.last_event_id(session=session)

    def _new_cars(self) -> None:
        """SQLite: the cars of samples and positions written since the last look (by any process)."""
        self.queries += 1
        with get_engine(self.database_url).connect() as connection:
            if self._car_marks is None:
                self._car_marks = tuple(connection.execute(text(
                    f"SELECT coalesce(max(id), 0) FROM {table}")).scalar() for table in _CAR_TABLES)
                return
            marks, ids = [], set()
            for table, mark in zip(_CAR_TABLES, self._car_marks, strict=True):
                rows = connection.execute(text(f"SELECT id, vehicle_id FROM {table} WHERE id > :mark"),
                                          {"mark": mark}).all()
                ids.update(vehicle for _, vehicle in rows)
                marks.append(max((row_id for row_id, _ in rows), default=mark))
            self._car_marks = tuple(marks)
        self.cars.add(frozenset(ids))

    def _poll(self) -> None:
        changes.subscribe(self.cars.add)  # this process's own commits, at once
        self.cars.add(None)  # after a pause nobody followed: anything may have changed
        try:
            self._poll_until_idle()
        finally:
            changes.unsubscribe(self.cars.add)
            self._car_marks = None

    def _poll_until_idle(self) -> None:
        next_cars = 0.0
        while not self._stop.is_set() and not self._retire_if_idle():
            try:
                self._moved(self._newest())
                if time.monotonic() >= next_cars:
                    next_cars = time.monotonic() + CAR_POLL_SECONDS
                    self._new_cars()
            except Exception:  # the database is away for a moment: the consoles wait, then catch up
                log.exception("the case watcher could not read the timeline")
            self._stop.wait(POLL_SECONDS)

    def _listen(self) -> None:
        import psycopg

        conninfo = make_url(self.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        failing = False
        while not self._stop.is_set() and not self._retire_if_idle():
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    connection.execute(f"LISTEN {changes.CHANNEL}")
                    failing = False
                    self._moved(self._newest())  # what happened while nobody listened
                    self.cars.add(None)
                    while not self._stop.is_set():
                        for notice in connection.notifies(timeout=1.0):
                            self.notifications += 1
                            self._heard(notice.channel, notice.payload)
                        if self._retire_if_idle():
                            return
            except Exception as error:  # said once per outage, not at every attempt to come back
                if not failing:
                    log.warning("the case watcher lost its connection (%s); listening again", error)
                failing = True
                self._stop.wait(RECONNECT_SECONDS)

    def _heard(self, channel: str, payload: str | None) -> None:
        try:
            if channel == changes.CHANNEL:
                self.cars.add(changes.parse(payload))
            else:
                self._moved(int(payload or 0))
        except ValueError:  # not ours to fail on: the next notification or reconnect catches up
            log.warning("ignored a notification on %s that could not be read", channel)


_CAR_TABLES = ("telematics_samples", "telematics_positions")
_MAKING = threading.Lock()


def case_watch(app) -> CaseWatch:
    """The app's watcher, started on first use."""
    with _MAKING:
        watch = getattr(app.state, "case_watch", None)
        if watch is None:
            watch = app.state.case_watch = CaseWatch(app.state.settings.database_url)
    return watch.start()
