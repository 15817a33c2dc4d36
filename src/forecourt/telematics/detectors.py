"""Trips and vehicle health in a process of their own, beside the ingest worker.

The MQTT worker's job is to receive, store, commit and acknowledge; everything it does holds the
interpreter lock its network thread needs too. Rebuilding trips and judging health for the cars a
batch touched was a fifth of its time, so ``forecourt ingest`` hands those cars to this process,
which runs the same ``Refresher`` on the machine's other core. Safety events (SOS, crash) never
wait for it: they are published by the worker at commit.

Derived data only: if this process dies, readings are safe and the worker starts a new one; the
next report of each car brings its trips and health up to date again.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Iterable

from forecourt.telematics import children

log = logging.getLogger(__name__)

_STOP = None


def _run(database_url: str, inbox, done, ready, setup: Callable | None, health_every: float, trips_every: float,
         write_turn) -> None:
    """The child's loop: coalesce whatever is waiting into one refresh, so a backlog costs less."""
    from forecourt.telematics.insights import Refresher

    sessions = children.begin(database_url, setup, ready)  # e.g. the workshop's handlers: a new fault proposes a slot
    refresher = Refresher(sessions, health_every=health_every, trips_every=trips_every, write_turn=write_turn)
    stopping = False
    while not stopping:
        try:
            item = inbox.get(timeout=1.0)
        except queue.Empty:
            if children.orphaned():
                return  # the worker was killed: a new one starts its own
            continue
        vehicle_ids: set[int] = set()
        taken = 0
        while True:
            if item is _STOP:
                stopping = True
            else:
                vehicle_ids.update(item)
                taken += 1
            try:
                item = inbox.get_nowait()
            except queue.Empty:
                break
        if vehicle_ids:
            refresher.after_batch(vehicle_ids)
        with done.get_lock():
            done.value += taken
    refresher.flush()


class DetectorProcess:
    """``after_batch`` for listeners, doing its work in a child process.

    ``setup`` runs in the child with its session factory; it must be a module-level function
    (the child is spawned, so it is passed by name).
    """

    def __init__(self, database_url: str, *, setup: Callable | None = None, health_every: float = 30.0,
                 trips_every: float = 120.0, write_turn=None):
        """``write_turn``: the ingest stores' SQLite lock (``store.write_turns``), taken around each refresh."""
        self.database_url, self.setup, self.write_turn = database_url, setup, write_turn
        self.health_every, self.trips_every = health_every, trips_every
        self._context = children.spawner()
        self._inbox = self._context.Queue()
        self._done = self._context.Value("q", 0)
        self.sent = 0
        self._process = None
        self._ready = None

    def start(self) -> DetectorProcess:
        self._ready = self._context.Event()
        self._process = self._context.Process(
            target=_run, name="forecourt-detectors", daemon=True,
            args=(self.database_url, self._inbox, self._done, self._ready, self.setup, self.health_every,
                  self.trips_every, self.write_turn))
        self._process.start()
        return self

    def wait_ready(self, timeout: float = 120) -> None:
        children.wait_ready(self._process, self._ready, name="detector", timeout=timeout)

    def after_batch(self, vehicle_ids: Iterable[int]) -> None:
        if self._process is None or not self._process.is_alive():
            if self._process is not None:
                log.warning("the detector process exited (code %s); starting a new one", self._process.exitcode)
                if self.write_turn is not None:
                    self.write_turn.release_for(self._process.pid)
                self._inbox = self._context.Queue()  # what the dead one held is lost; later reports refill it
                self._done.value = self.sent = 0
            self.start()
        self._inbox.put(sorted(vehicle_ids))
        self.sent += 1

    def caught_up(self) -> bool:
        return self._done.value >= self.sent

    def wait_until_caught_up(self, timeout: float = 600) -> None:
        """For benchmarks and tests: every batch handed over so far has been refreshed."""
        deadline = time.monotonic() + timeout
        while not self.caught_up():
            if time.monotonic() > deadline or not self._process.is_alive():
                raise RuntimeError(f"the detector process refreshed {self._done.value} of {self.sent} batches")
            time.sleep(0.01)

    def close(self, timeout: float = 120) -> None:
        """Rebuild what is still pending, then stop."""
        if self._process is None:
            return
        if self._process.is_alive():
            self._inbox.put(_STOP)
        children.stop(self._process, timeout)
        self._process = None
