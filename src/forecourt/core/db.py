"""Database plumbing: declarative base, engines and sessions — created by factories, never at import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import ARRAY, DateTime, MetaData, String, any_, bindparam, create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

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
    # the hot index pages in memory, and checkpointing every ~40 MB of WAL instead of every 4 MB
    # copies a page rewritten by consecutive batches once rather than once per batch.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


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


def claim_write(session: Session) -> None:
    """Declare, before the first statement, that this transaction will write (see ``_sqlite_begin``)."""
    session.connection(execution_options={WRITE_OPTION: True})


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
def transaction(factory: sessionmaker[Session], *, write: bool = False) -> Iterator[Session]:
    """A unit of work for jobs and commands: commit on success, roll back on error. ``write``: it
    will write under contention (ingest), so it takes the write lock up front on SQLite."""
    session = factory()
    if write:
        claim_write(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def bulk_rows(session: Session, statement):
    """Rows of a Core ``select`` of columns, without the ORM's per-row loading.

    For the lookups that read thousands of rows per call (an ingest batch's devices and owners,
    the readings a trip is rebuilt from): through ``Session.execute`` each row of plain columns
    still passes the ORM's loading machinery, which cost more than the query. Pending changes
    are flushed first, as ``Session.execute`` would.
    """
    session.flush()
    return session.connection().execute(statement)


def one_of(session: Session, column, values):
    """``column IN (values)`` with the values bound as one parameter (a JSON array on SQLite, an
    array on PostgreSQL).

    An ingest batch looks up a couple of thousand devices, owners and keys at a time; spelled as
    ``IN (?, ?, ...)``, SQLAlchemy expands and processes each value on every execution, which took
    longer than the lookups themselves.
    """
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
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
