"""Database plumbing: declarative base, engines and sessions — created by factories, never at import."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import ARRAY, DateTime, Integer, MetaData, String, any_, bindparam, create_engine, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import NullType, TypeDecorator

from forecourt.core.config import ensure_sqlite_dir

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in Python on every engine (SQLite itself keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin: pysqlite otherwise starts
    # none before a SAVEPOINT, and releasing that savepoint would really commit.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Telemetry commits dirty thousands of pages (one per car per index). A larger page cache keeps
    # the hot index pages in memory, and checkpointing every ~8 MB of WAL instead of every 4 MB
    # copies a page rewritten by consecutive batches fewer times. After a checkpoint the next writer
    # starts the WAL from its beginning and cuts the file back to 8 MB, so it stays small while the
    # fleet drives (it grew to 40 MB and stayed there with a larger interval and no limit).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    cursor.close()


WAL_CHECKPOINT_PAGES = 2000
WAL_SIZE_LIMIT = 8 * 1024 * 1024


def get_engine(url: str, echo: bool = False) -> Engine:
    """One engine (one pool) per URL per process, made on first use, however the caller spells it."""
    return _engine(url, bool(echo))


WRITE_OPTION = "forecourt_write"


def _sqlite_begin(conn) -> None:
    """Writers take SQLite's write lock when they begin (IMMEDIATE), so concurrent writers queue up
    for the busy timeout: a deferred transaction that has read cannot upgrade once another writer
    committed (WAL), and SQLite fails at once. Readers begin deferred and never wait."""
    options = conn.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_OPTION) else "BEGIN")


class WriteBusy(Exception):
    """The write turn did not come within the bounded wait: the database is truly overloaded."""


class WriteTurn:
    """SQLite's single writer as a turn that every process on one database file takes in order.

    SQLite lets one transaction write at a time, and a writer that finds the database locked polls
    for it, sleeping up to 100 ms between tries; a transaction that read first and then writes is
    refused at once if another writer committed meanwhile. So every transaction that may write takes
    this turn before it begins (``claim_write``): web requests, the telemetry endpoints, ingest's
    store and detector processes, the worker's deliveries. The turn is an advisory lock on a file
    beside the database (``<db>.write-turn``, ``flock``), taken by a process's threads one at a
    time through a lock of its own; the kernel frees it when its holder dies, so a killed process
    never keeps the others waiting. The wait is bounded: past it ``WriteBusy`` says the database is
    overloaded, and a request is answered 503 with Retry-After.
    """

    def __init__(self, path: str):
        self.path = path
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None
        self.holder: int | None = None  # the thread that last took the turn (for re-entry checks)

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self, timeout: float) -> bool:
        import fcntl

        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=max(timeout, 0)):
            return False
        try:
            fd, pause = self._file(), 0.0005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self.holder = threading.get_ident()
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(pause)  # another process writes: look again soon, never more than 5 ms late
                    pause = min(pause * 2, 0.005)
        except BaseException:
            self._threads.release()
            raise
        self._threads.release()
        return False

    def release(self) -> None:
        import fcntl

        self.holder = None
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def __enter__(self):
        if not self.acquire(DEFAULT_WAIT_SECONDS):
            raise WriteBusy(f"no write turn on {self.path} within {DEFAULT_WAIT_SECONDS:g} s")
        return self

    def __exit__(self, *exc) -> None:
        self.release()


DEFAULT_WAIT_SECONDS = 60.0  # jobs and ingest: they retry anyway; web requests wait less (settings)
_turns: dict[str, WriteTurn] = {}
_turns_lock = threading.Lock()


def write_turn(bind) -> WriteTurn | None:
    """The write turn of the SQLite file behind an engine or connection; ``None`` on PostgreSQL
    (whose writers run side by side) and for in-memory databases."""
    engine = getattr(bind, "engine", bind)
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    path = os.path.abspath(database) + ".write-turn"
    with _turns_lock:
        turn = _turns.get(path)
        if turn is None:
            turn = _turns[path] = WriteTurn(path)
        return turn


def checkpoint_wal(engine: Engine, *, busy_ms: int = 200) -> tuple | None:
    """SQLite: copies the write-ahead log into the database and cuts it to nothing (TRUNCATE).

    Taken under the write turn, so no writer is in the middle of a commit, and with a short busy
    timeout, so readers that still use older pages make it give up (to try again next time) rather
    than keep the writers waiting. Returns SQLite's (busy, log pages, checkpointed pages), or
    ``None`` when there is nothing to do (PostgreSQL) or the turn did not come within a second.
    The automatic checkpoint alone cannot cut the log while readers keep overlapping, and the
    file then keeps the size it once had."""
    turn = write_turn(engine)
    if turn is None or not turn.acquire(1.0):
        return None
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            raw.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            try:
                return tuple(raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
            finally:
                raw.execute("PRAGMA busy_timeout=10000")
    finally:
        turn.release()


TURN_KEY = "forecourt_write_turn"


# The turn goes back the moment the transaction commits — before the after-commit handlers, which
# open transactions of their own (``core.events``) — or when it ends otherwise. Registered with the
# module (as ``core.events`` registers its own), not on first use: adding a listener while a commit
# walks the listeners fails with "deque mutated during iteration".
def savepoint_released(session: Session) -> bool:
    """In an ``after_commit`` listener: SQLAlchemy calls those when a savepoint is released too, while
    the outer transaction (and SQLite's write lock) goes on. Work meant for the real commit waits."""
    return session.in_nested_transaction()


@event.listens_for(Session, "after_commit", insert=True)
def _give_back(session: Session) -> None:
    if savepoint_released(session):
        return
    turn = session.info.pop(TURN_KEY, None)
    session.info.pop(WRITE_OPTION, None)
    if turn is not None:
        turn.release()


@event.listens_for(Session, "after_transaction_end")
def _give_back_at_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        _give_back(session)


def claim_write(session: Session, *, wait: float = DEFAULT_WAIT_SECONDS) -> None:
    """Declare, before the first statement, that this transaction will write.

    On SQLite the transaction first takes the database's write turn (waiting at most ``wait``
    seconds, else ``WriteBusy``), then begins IMMEDIATE (see ``_sqlite_begin``); the turn is given
    back when the transaction ends, committed or not. Claiming twice is harmless. On PostgreSQL
    nothing waits.
    """
    if session.info.get(WRITE_OPTION):
        return
    turn = write_turn(session.get_bind())
    if turn is not None:
        if not turn.acquire(wait):
            raise WriteBusy(f"no write turn within {wait:g} s")
        session.info[TURN_KEY] = turn
    session.info[WRITE_OPTION] = True
    try:
        session.connection(execution_options={WRITE_OPTION: True})
    except BaseException:
        held = session.info.pop(TURN_KEY, None)
        session.info.pop(WRITE_OPTION, None)
        if held is not None:
            held.release()
        raise


@lru_cache(maxsize=16)
def _engine(url: str, echo: bool) -> Engine:
    kwargs: dict = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        ensure_sqlite_dir(url)
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # IMMEDIATE: take the write lock when the transaction starts. A deferred transaction that
        # reads and then writes cannot upgrade once another writer has committed (WAL), and SQLite
        # then fails at once instead of waiting out the busy timeout.
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = False,
                wait: float = DEFAULT_WAIT_SECONDS) -> Iterator[Session]:
    """A unit of work for jobs, commands and requests: commit on success, roll back on error.
    ``write``: it will write, so on SQLite it takes the write turn and lock up front (``claim_write``)."""
    session = factory()
    try:
        if write:
            claim_write(session, wait=wait)
    except BaseException:
        session.close()
        raise
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def bulk_rows(session: Session, statement, parameters: dict | None = None):
    """Rows of a Core ``select`` of columns, without the ORM's per-row loading.

    For the lookups that read thousands of rows per call (an ingest batch's devices and owners,
    the readings a trip is rebuilt from): through ``Session.execute`` each row of plain columns
    still passes the ORM's loading machinery, which cost more than the query. Pending changes
    are flushed first, as ``Session.execute`` would.
    """
    session.flush()
    return session.connection().execute(statement, parameters)


def one_of_ids(dialect: str, column, name: str):
    """``column IN (the ids bound under name)``, for a statement built once and run many times: as
    ``one_of`` (one parameter, not one per value), but the values come at execution (``ids_value``),
    so neither the statement nor its cache key is rebuilt for every list."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Integer())))
    each = func.json_each(bindparam(name, type_=String())).table_valued("value")
    return column.in_(select(each.c.value))


def ids_value(dialect: str, values) -> object:
    """The bound value ``one_of_ids`` expects for these ids."""
    values = [int(v) for v in values]
    return values if dialect == "postgresql" else json.dumps(values)


def one_of(session: Session, column, values):
    """``column IN (values)`` with the values bound as one parameter (a JSON array on SQLite, an
    array on PostgreSQL).

    An ingest batch looks up a couple of thousand devices, owners and keys at a time; spelled as
    ``IN (?, ?, ...)``, SQLAlchemy expands and processes each value on every execution, which took
    longer than the lookups themselves.
    """
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        kind = column.type
        if isinstance(kind, NullType):
            # A foreign key takes its type from its target once that table is known, which a process that
            # did not load every model (``forecourt simulate``) never does; every key here is an integer.
            kind = Integer()
        return column == any_(bindparam(None, values, type_=ARRAY(kind)))
    each = func.json_each(bindparam(None, json.dumps(values), type_=String())).table_valued("value")
    return column.in_(select(each.c.value))


def plain_row(row, *, skip: tuple[str, ...] = ()) -> dict:
    """A table row as JSON-ready values (ISO dates, floats for money): what an export hands the customer."""
    out = {}
    for column in row.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(row, column.key)
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = float(value)
        out[column.key] = value
    return out


def hold_per_key(session: Session, namespace: str, keys) -> None:
    """Holds a PostgreSQL advisory lock per key until the transaction ends; nothing on SQLite.

    Several ingest workers on several hosts receive the messages of one car in any order; what is
    derived from a car's whole history (its trips, its health, an airbag going off) must be worked
    out by one of them at a time, or two would each store what they saw. The locks are
    transaction-scoped (``pg_advisory_xact_lock``): they go with the commit or rollback, and with
    the connection when a worker dies, so no car is ever left owned by the dead. Keys are taken
    in ascending order, so two transactions wanting overlapping cars never deadlock. The two-int
    form keeps a namespace (``hashtext`` of its name) apart from other users of advisory locks.
    On SQLite the single writer already serializes every write transaction.
    """
    ordered = sorted({int(key) for key in keys})
    if not ordered or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("SELECT count(pg_advisory_xact_lock(hashtext(:namespace), key)) FROM "
                         "(SELECT key FROM unnest(CAST(:keys AS integer[])) AS key ORDER BY key) AS ordered"),
                    {"namespace": namespace, "keys": ordered})
