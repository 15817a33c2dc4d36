"""One watcher per web process of the On Call case timeline, shared by every open console.

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

The watcher starts with the first stream and reads with its own connections (not a request's).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from forecourt.assist import cases as cases_service
from forecourt.core.db import get_engine

log = logging.getLogger(__name__)

CHANNEL = "forecourt_cases"
POLL_SECONDS = 0.05
RECONNECT_SECONDS = 1.0


class CaseWatch:
    def __init__(self, database_url: str):
        self.database_url = database_url
        self.current: int | None = None
        self.queries = 0  # reads of the database the watcher made (benchmarks, tests)
        self.notifications = 0
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def listens(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "postgresql"

    def start(self, timeout: float = 10.0) -> CaseWatch:
        """Idempotent; returns once ``current`` is known (or after ``timeout``)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._listen if self.listens else self._poll,
                                                name="forecourt-case-watch", daemon=True)
                self._thread.start()
        self._ready.wait(timeout)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _moved(self, value: int) -> None:
        if self.current is None or value > self.current:
            self.current = value
        self._ready.set()

    def _newest(self) -> int:
        self.queries += 1
        with Session(get_engine(self.database_url)) as session:
            return cases_service.last_event_id(session=session)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self._moved(self._newest())
            except Exception:  # the database is away for a moment: the consoles wait, then catch up
                log.exception("the case watcher could not read the timeline")
            self._stop.wait(POLL_SECONDS)

    def _listen(self) -> None:
        import psycopg

        conninfo = make_url(self.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        failing = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    failing = False
                    self._moved(self._newest())  # what happened while nobody listened
                    while not self._stop.is_set():
                        for notice in connection.notifies(timeout=1.0):
                            self.notifications += 1
                            self._moved(int(notice.payload or 0))
            except Exception as error:  # said once per outage, not at every attempt to come back
                if not failing:
                    log.warning("the case watcher lost its connection (%s); listening again", error)
                failing = True
                self._stop.wait(RECONNECT_SECONDS)


_MAKING = threading.Lock()


def case_watch(app) -> CaseWatch:
    """The app's watcher, started on first use."""
    with _MAKING:
        watch = getattr(app.state, "case_watch", None)
        if watch is None:
            watch = app.state.case_watch = CaseWatch(app.state.settings.database_url)
    return watch.start()
