"""Storing a batch of MQTT messages, in the worker's process or in one of its own.

``BatchStore`` decodes a batch, stores it in one transaction and returns only once it is
committed; the worker then acknowledges. ``StoreProcess`` runs a ``BatchStore`` in a second
process: receiving and storing then no longer take turns on one interpreter lock, so the worker
receives the next batches while this one is being stored, and several store processes decode
side by side. Acknowledgement still waits for the commit, so what the broker holds is exactly
what is not yet stored. Each result names the cars it touched; the worker hands them to the one
detector process that rebuilds trips and health.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from sqlalchemy.orm import Session, sessionmaker

from forecourt.core.db import transaction
from forecourt.telematics import children
from forecourt.telematics import ingest as pipeline
from forecourt.telematics.decoders import vss_json
from forecourt.telematics.readings import DecodeError, Reading

log = logging.getLogger(__name__)

Message = tuple[str, bytes]  # (topic, payload)


@dataclass(frozen=True)
class BatchResult:
    readings: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    vehicle_ids: tuple[int, ...] = ()  # the cars whose readings were stored


def decode_message(topic: str, payload: bytes) -> list[Reading]:
    return vss_json.decode(vss_json.topic_vin(topic), payload)


def _device_of(topic: str) -> str | None:
    parts = topic.split("/")
    return parts[1] if len(parts) > 2 else None


class BatchStore:
    """Decode, store, commit. Other domains' topics ("vehicles/+/ecall" -> handler(session=, topic=,
    payload=)) are passed in by the CLI, because telematics may not import them; each such message
    is stored in its own transaction. The result names the cars whose readings were stored."""

    telemetry_suffix = "/telemetry"

    def __init__(self, *, sessions: sessionmaker[Session], topic_handlers: dict | None = None,
                 write_turn=None):
        """``write_turn``: a lock shared with the other store processes on SQLite (see ``write_turns``)."""
        self.sessions = sessions
        self.topic_handlers = dict(topic_handlers or {})
        self.topic_patterns = list(self.topic_handlers)
        self.write_turn = write_turn if write_turn is not None else contextlib.nullcontext()

    def __call__(self, batch: list[Message]) -> BatchResult:
        readings: list[Reading] = []
        refused: list[tuple[Message, str]] = []
        for topic, payload in batch:
            handler = None if topic.endswith(self.telemetry_suffix) else self._handler_for(topic)
            if handler is not None:
                self._handle_other(handler, topic, payload)
                continue
            try:
                readings.extend(decode_message(topic, payload))
            except DecodeError as error:
                refused.append(((topic, payload), str(error)))
        report = self._store(readings, refused)
        return BatchResult(readings=len(readings), stored=report.stored, duplicates=report.duplicates,
                           rejected=len(refused) + len(report.rejected), vehicle_ids=tuple(sorted(report.vehicle_ids)))

    def _handler_for(self, topic: str):
        for pattern, handler in self.topic_handlers.items():
            if mqtt.topic_matches_sub(pattern, topic):
                return handler
        return None

    def _handle_other(self, handler, topic: str, payload: bytes) -> None:
        """One message of another domain, committed before its ack; a refusal is recorded, not retried."""
        for attempt in range(1, 6):
            try:
                with self.write_turn, transaction(self.sessions, write=True) as session:
                    handler(session=session, topic=topic, payload=payload)
                return
            except Exception as error:
                if "OperationalError" not in type(error).__name__ or attempt == 5:
                    log.exception("message on %s could not be handled", topic)
                    with transaction(self.sessions) as session:
                        pipeline.reject(session=session, channel="mqtt", device_id=_device_of(topic),
                                        reason=f"{topic}: {error}"[:500], excerpt=payload)
                    return
                time.sleep(0.1 * attempt)

    def _store(self, readings: list[Reading], refused: list) -> pipeline.IngestReport:
        """Retries until the database takes the batch; nothing is acknowledged before that.

        The batch is planned (looked up and turned into rows) in a read transaction, and only its
        writes wait for SQLite's single write lock. After a few failed attempts the batch is stored
        reading by reading, so one reading that breaks something cannot hold back the rest: it is
        recorded as a rejection instead.
        """
        delay, attempt = 0.1, 0
        while True:
            attempt += 1
            try:
                plan = None
                if attempt <= 3:
                    with transaction(self.sessions) as session:
                        plan = pipeline.plan_batch(session=session, readings=readings)
                with self.write_turn, transaction(self.sessions, write=True) as session:
                    for (topic, payload), reason in refused:
                        pipeline.reject(session=session, channel="mqtt", device_id=_device_of(topic),
                                        reason=reason, excerpt=payload)
                    return (pipeline.store_plan(session=session, plan=plan, channel="mqtt") if plan is not None
                            else self._one_by_one(session, readings))
            except Exception:  # the database is down or busy: keep the messages, try again
                log.exception("storing a batch of %d readings failed; retrying in %.1fs", len(readings), delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    @staticmethod
    def _one_by_one(session: Session, readings: list[Reading]) -> pipeline.IngestReport:
        total = pipeline.IngestReport()
        for reading in readings:
            savepoint = session.begin_nested()
            try:
                report = pipeline.ingest(session=session, readings=[reading], channel="mqtt")
                savepoint.commit()
            except Exception as error:
                savepoint.rollback()
                if "OperationalError" in type(error).__name__:
                    raise  # the database itself is failing: retry the batch later
                pipeline.reject(session=session, channel="mqtt", device_id=reading.device_id,
                                reason=f"could not be stored: {type(error).__name__}: {error}"[:500])
                total.rejected.append((reading.device_id, "could not be stored"))
                continue
            total.stored += report.stored
            total.duplicates += report.duplicates
            total.rejected.extend(report.rejected)
            total.vehicle_ids |= report.vehicle_ids
        return total


# --- the same, in a process of its own ------------------------------------------------------------

class WriteTurn:
    """A lock shared by a worker's processes, which knows who holds it.

    A process killed while it holds the turn (SIGKILL, the out-of-memory killer) would hold it for
    ever, and every other store would wait on it; whoever replaces the dead process gives its turn
    back (``release_for``)."""

    def __init__(self, context):
        self.lock = context.Lock()
        self.holder = context.Value("q", 0, lock=False)

    def __enter__(self):
        self.lock.acquire()
        self.holder.value = os.getpid()
        return self

    def __exit__(self, *exc) -> None:
        self.holder.value = 0
        self.lock.release()

    def release_for(self, pid: int | None) -> None:
        """The process ``pid`` died: if it held the turn, the turn is free again."""
        if pid and self.holder.value == pid:
            self.holder.value = 0
            self.lock.release()
            log.warning("process %s died holding the write turn; released it", pid)


def write_turns(database_url: str):
    """On SQLite, one lock for the store processes of a worker, taken around each write transaction.

    SQLite has one writer, and a writer that finds the database locked polls for it, sleeping up
    to 100 ms between tries: two store processes taking turns that way left the write lock idle
    for much of each handover, and the machine's cores half used. Waiting on a lock instead wakes
    the next store the moment the last one commits. ``None`` on PostgreSQL, whose writers run
    side by side.
    """
    return WriteTurn(children.spawner()) if database_url.startswith("sqlite") else None


def _serve(database_url: str, conn, ready, setup: Callable | None, topic_handlers: dict, write_turn) -> None:
    """The store process: batches in over ``conn``, results back once committed."""
    sessions = children.begin(database_url, setup, ready)  # e.g. On Call's handlers: an SOS stored here opens a case
    store = BatchStore(sessions=sessions, topic_handlers=topic_handlers, write_turn=write_turn)
    try:
        while True:
            if not conn.poll(1.0):
                if children.orphaned():
                    return  # the worker was killed: the broker redelivers to its successor
                continue
            batch = conn.recv()
            if batch is None:
                return
            conn.send(store(batch))
    except (EOFError, BrokenPipeError):
        return


class StoreProcess:
    """A ``BatchStore`` in a child process, called like one.

    ``setup`` (run in the child with its session factory) and the topic handlers must be
    module-level functions: the child is spawned, so they travel by name. If the child dies, the
    batch is sent again to a new one; the message keys make a second attempt harmless.
    """

    def __init__(self, database_url: str, *, setup: Callable | None = None, topic_handlers: dict | None = None,
                 write_turn=None):
        self.args = (database_url, setup, dict(topic_handlers or {}), write_turn)
        self.write_turn = write_turn
        self.topic_patterns = list(topic_handlers or {})
        self._context = children.spawner()
        self._process = None
        self._conn = None
        self._ready = None

    def start(self) -> StoreProcess:
        ours, theirs = self._context.Pipe()
        database_url, *rest = self.args
        self._ready = self._context.Event()
        self._process = self._context.Process(target=_serve, name="forecourt-store",
                                              args=(database_url, theirs, self._ready, *rest))
        self._process.start()
        theirs.close()
        self._conn = ours
        atexit.register(self.close)  # before multiprocessing's own exit handler would wait for the child
        return self

    def wait_ready(self, timeout: float = 120) -> None:
        children.wait_ready(self._process, self._ready, name="store", timeout=timeout)

    def __call__(self, batch: list[Message]) -> BatchResult:
        while True:
            if self._process is None or not self._process.is_alive():
                if self._process is not None:
                    log.warning("the store process exited (code %s); starting a new one", self._process.exitcode)
                    if self.write_turn is not None:
                        self.write_turn.release_for(self._process.pid)
                self.start()
            try:
                self._conn.send(batch)
                while not self._conn.poll(1.0):
                    if not self._process.is_alive():
                        raise EOFError
                return self._conn.recv()
            except (EOFError, BrokenPipeError, ConnectionResetError):
                self._process.join(5)
                continue

    def close(self, timeout: float = 120) -> None:
        """Finish the batch in hand and exit."""
        if self._process is None:
            return
        if self._process.is_alive():
            try:
                self._conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        children.stop(self._process, timeout)
        self._conn.close()
        self._process = None
