"""How web requests share the database's single writer (SQLite) with ingest, detectors and the worker.

* A request that may write — POST, PUT, PATCH, DELETE, or a read that turned out to write — takes
  the write turn before its transaction begins (``web.deps.get_session`` through
  ``core.db.claim_write``) and waits for it at most ``FORECOURT_WRITE_WAIT_SECONDS``.
* A read (GET, HEAD) begins deferred and never waits. The access-log rows its reads produce are set
  aside (``consent.service.ACCESS_LOG_LATER``) and written by ``WriteTurns`` once the answer is on
  its way, in a short write transaction of their own, retried until they are stored.
* A read that writes something else anyway, and finds another writer first, is run again from the
  start as a writer, unseen by the person: nothing of the first run was committed and no byte of it
  was sent.
* Only when the turn does not come within the wait is the request refused: 503 with Retry-After,
  logged and counted (``forecourt_web_refused_busy`` on ``/metrics``).

On PostgreSQL none of this waits: writers run side by side, and the access log is written in the
read's own transaction.
"""

from __future__ import annotations

import logging
import threading
import time

import anyio
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import OperationalError

from forecourt.consent import service as consent_service
from forecourt.core.db import WriteBusy, transaction

log = logging.getLogger(__name__)

WRITER = "forecourt.writer"  # scope key: run this request as a writer from the start
LATER = "forecourt.access_log_later"  # scope key: access-log rows to write after the answer
RETRY_MARK = b"x-forecourt-write-again"  # an internal answer: "run me again as a writer"
RETRY_AFTER_SECONDS = 2


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
        "access_log_rows_later": "Access-log rows of reads written just after the answer",
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


def write_later(app, rows: list[dict], *, give_up_after: float = 120.0) -> None:
    """Stores the access-log rows of a finished read; waits and tries again while the database is busy."""
    stats: WriteStats = app.state.write_stats
    deadline, pause = time.monotonic() + give_up_after, 0.05
    while True:
        try:
            with transaction(app.state.sessionmaker, write=True, wait=app.state.settings.write_wait_seconds) as s:
                consent_service.write_access_log(session=s, rows=rows)
            stats.add("access_log_rows_later", len(rows))
            return
        except (WriteBusy, OperationalError) as error:
            stats.add("access_log_retries")
            if time.monotonic() + pause > deadline:
                stats.add("access_log_rows_unwritten", len(rows))
                log.error("%d access-log rows could not be written: %s", len(rows), error)
                return
            log.warning("access-log rows wait for the database (%s); trying again", error)
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


class WriteTurns:
    """ASGI middleware: runs a read again as a writer when it had to write, and writes the
    access-log rows of reads once their answer has been sent."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] in ("GET", "HEAD"):
            await self._read(scope, receive, send)
        else:
            await self.app(scope, receive, send)
        rows = scope.get(LATER)
        if rows:
            await anyio.to_thread.run_sync(write_later, scope["app"], rows)

    async def _read(self, scope, receive, send) -> None:
        held: dict = {}

        async def watch(message):
            if message["type"] == "http.response.start" and any(k == RETRY_MARK for k, _ in message["headers"]):
                held["again"] = True
            if held.get("again"):
                return  # the first run's answer is dropped whole
            await send(message)

        await self.app(scope, receive, watch)
        if held.get("again"):
            scope["app"].state.write_stats.add("reads_run_as_writers")
            scope[WRITER] = True
            scope.pop(LATER, None)
            await self.app(scope, _no_body(receive), send)


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
