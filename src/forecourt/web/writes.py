"""How web requests share the database's single writer (SQLite) with ingest, detectors and the worker.

* A request that may write — POST, PUT, PATCH, DELETE, or a read that turned out to write — takes
  the write turn before its transaction begins (``web.deps.get_session`` through
  ``core.db.claim_write``) and waits for it at most ``FORECOURT_WRITE_WAIT_SECONDS``. Its body has
  been received whole by then, so no writer waits for a slow upload.
* A read (GET, HEAD) begins deferred and never waits while it reads. The access-log rows its reads
  produce are set aside (``consent.service.ACCESS_LOG_LATER``) and, after its transaction ends and
  before its answer is sent, handed to the app's ``AccessLogWriter``, which writes the rows of many
  reads in one short transaction and retries until they are stored: the answer waits a little on
  the event loop, and no read is ever shown without its row, even if the process is killed.
* Web writers queue on the event loop (``WriteGate``) before one of them waits for the turn in a
  worker thread, so waiting never fills the thread pool the turn's holder needs.
* A read that writes something else anyway, and finds another writer first, is run again from the
  start as a writer, unseen by the person: nothing of the first run was committed and no byte of it
  was sent.
* Only when the turn does not come within the wait is the request refused: 503 with Retry-After,
  logged and counted (``forecourt_web_refused_busy`` on ``/metrics``).

On PostgreSQL none of this waits: writers run side by side, and the access log is written in the
read's own transaction.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import weakref

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import OperationalError

from forecourt.consent import service as consent_service
from forecourt.core.db import WriteBusy, transaction
from forecourt.web.connections import of_this_loop

log = logging.getLogger(__name__)

WRITER = "forecourt.writer"  # scope key: run this request as a writer from the start
LATER = "forecourt.access_log_later"  # scope key: access-log rows to write before the answer is sent
RETRY_MARK = b"x-forecourt-write-again"  # an internal answer: "run me again as a writer"
RETRY_AFTER_SECONDS = 2
IDLE_SECONDS = 5.0


class WriteStats:
    """What this web process counted: refusals, reads run again as writers, access-log rows written later."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.refused_busy = 0
        self.reads_run_as_writers = 0
        self.access_log_rows_later = 0
        self.access_log_retries = 0
        self.access_log_rows_unwritten = 0

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + amount)


class WriteStatsCollector(Collector):
    COUNTERS = {
        "refused_busy": "Requests refused with 503 because the database's write turn did not come in time",
        "reads_run_as_writers": "Reads that wrote and were run again from the start as writers (nobody saw it)",
        "access_log_rows_later": "Access-log rows of reads written in batches just before the answer",
        "access_log_retries": "Attempts to write such rows that had to be repeated",
        "access_log_rows_unwritten": "Access-log rows that could not be written after every retry",
    }

    def __init__(self, stats: WriteStats):
        self.stats = stats

    def collect(self):
        for name, text in self.COUNTERS.items():
            family = CounterMetricFamily(f"forecourt_web_{name}", text)
            family.add_metric([], float(getattr(self.stats, name)))
            yield family


class AccessLogWriter:
    """One thread per app that writes the access-log rows of finished reads, many reads per transaction.

    One thread, not one per read: reads come faster than single-row writes could take turns with
    ingest, and threads waiting for the turn would fill the server's pool, in which the request that
    holds the turn needs a thread to finish. Each read's rows are acknowledged (a future) once
    committed; the middleware awaits that on the event loop before the answer goes out, so the
    request is complete only when its rows are stored, and no thread waits for it. Rows are retried
    until stored; only after ``give_up_after`` seconds of failures are they counted as unwritten."""

    def __init__(self, app, *, give_up_after: float = 300.0):
        self.app, self.give_up_after = app, give_up_after
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, rows: list[dict]) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        with self.lock:
            self.queue.put((rows, loop, done))
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="access-log-writer", daemon=True)
                self.thread.start()
        return done

    def _run(self) -> None:
        while True:
            try:
                first = self.queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self.lock:  # an idle writer ends; the next read starts another
                    if self.queue.empty():
                        self.thread = None
                        return
                continue
            batch = [first]
            while True:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            rows = [row for entry in batch for row in entry[0]]
            stored = self._write(rows)
            for _, loop, done in batch:
                loop.call_soon_threadsafe(_settle, done, stored)

    def _write(self, rows: list[dict]) -> bool:
        state = self.app.state
        stats: WriteStats = state.write_stats
        deadline, pause = time.monotonic() + self.give_up_after, 0.05
        while True:
            try:
                with transaction(state.sessionmaker, write=True, wait=state.settings.write_wait_seconds) as s:
                    consent_service.write_access_log(session=s, rows=rows)
                stats.add("access_log_rows_later", len(rows))
                return True
            except (WriteBusy, OperationalError) as error:
                stats.add("access_log_retries")
                if time.monotonic() + pause > deadline:
                    stats.add("access_log_rows_unwritten", len(rows))
                    log.error("%d access-log rows could not be written: %s", len(rows), error)
                    return False
                log.warning("access-log rows wait for the database (%s); trying again", error)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
            except Exception:
                stats.add("access_log_rows_unwritten", len(rows))
                log.exception("%d access-log rows could not be written", len(rows))
                return False


def _settle(done: asyncio.Future, stored: bool) -> None:
    if not done.done():
        done.set_result(stored)


class WriteGate:
    """The web process's writers queue here, on the event loop, before one of them waits for the
    database's write turn in a worker thread: waiting writers hold no thread, so the pool always has
    threads for the request that holds the turn to finish its work."""

    def __init__(self, *, single_writer: bool = True) -> None:
        # Only a database with one writer at a time (SQLite) needs the queue; on PostgreSQL writers
        # run side by side, and queueing them here would make each wait for the slowest before it.
        self.single_writer = single_writer
        self.locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one per event loop

    def lock(self) -> asyncio.Lock:
        return of_this_loop(self.locks, asyncio.Lock)


class WriteTurns:
    """ASGI middleware: runs a read again as a writer when it had to write, and writes the
    access-log rows of reads (batched by ``AccessLogWriter``) before their answer is sent."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] in ("GET", "HEAD"):
            await self._read(scope, receive, send)
        else:
            # The whole body is in before the request takes its write turn: a slow upload (a phone on
            # a poor network) must not hold the database's single writer while it trickles in.
            await self._write(scope, await _received(receive), send)
        rows = scope.get(LATER)
        if rows:
            await scope["app"].state.access_log_writer.submit(rows)

    async def _read(self, scope, receive, send) -> None:
        held: dict = {}

        async def watch(message):
            if message["type"] == "http.response.start" and any(k == RETRY_MARK for k, _ in message["headers"]):
                held["again"] = True
            if held.get("again"):
                return  # the first run's answer is dropped whole
            if message["type"] == "http.response.start" and scope.get(LATER):
                # The read committed: its rows are stored before the answer leaves, so a process
                # killed at any moment never showed a read that its customer cannot see in the log.
                # The wait is on the event loop, batched with other reads' rows; no thread is held.
                await scope["app"].state.access_log_writer.submit(scope.pop(LATER))
            await send(message)

        await self.app(scope, receive, watch)
        if held.get("again"):
            scope["app"].state.write_stats.add("reads_run_as_writers")
            scope[WRITER] = True
            scope.pop(LATER, None)
            await self._write(scope, _no_body(receive), send)

    async def _write(self, scope, receive, send) -> None:
        """One web writer at a time goes on to wait for the turn in a worker thread; the others wait
        here, on the event loop, holding no thread (``WriteGate``)."""
        state = scope["app"].state
        if not state.write_gate.single_writer:
            await self.app(scope, receive, send)
            return
        gate = state.write_gate.lock()
        try:
            async with asyncio.timeout(state.settings.write_wait_seconds):
                await gate.acquire()
        except TimeoutError:
            await _overloaded(scope, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            gate.release()


async def _overloaded(scope, send) -> None:
    """503 with Retry-After when even the queue of web writers did not move within the wait."""
    import json

    from forecourt.core.i18n import _

    state = scope["app"].state
    state.write_stats.add("refused_busy")
    log.warning("refused %s %s with 503: web writers queued longer than %g s", scope["method"], scope["path"],
                state.settings.write_wait_seconds)
    message = _("The service is very busy at this moment and nothing was changed. Please try again in a few "
                "seconds.")
    if scope["path"].startswith("/api/"):
        body, kind = json.dumps({"detail": message}).encode(), b"application/json"
    else:
        body, kind = f"<!doctype html><title>{_('Please try again')}</title><p>{message}</p>".encode(), \
            b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", kind), (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _no_body(receive):
    """A GET's (empty) body once more, then whatever the client sends (a disconnect)."""
    given = False

    async def replay():
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return replay


async def _received(receive):
    """Reads the request's body to its end (``BodyLimits``, outside, bounds it) and gives it again."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            break

    async def replay():
        if messages:
            return messages.pop(0)
        return await receive()

    return replay
