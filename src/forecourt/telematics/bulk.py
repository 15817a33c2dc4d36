"""How a batch reaches the hot tables fastest on each engine.

A fleet reports thousands of messages a second, so the per-row cost of binding values decides how
many cars one worker keeps up with. PostgreSQL takes rows by COPY. SQLite takes them through the
driver's own ``executemany`` with plain tuples: SQLAlchemy's per-row parameter processing was a
fifth of an MQTT batch's time there. Values arrive already bound: JSON as text (``json_text``) and
moments as the engine stores them (``moment_binder``), computed once per reading, not per row.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from sqlalchemy import Column, MetaData, Table, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from forecourt.core.clock import now
from forecourt.core.db import bulk_rows, one_of
from forecourt.telematics.models import ReceivedMessage, Sample, TwinSignal

# Same table names and columns as the models; only how values are bound differs.
_core = MetaData()
SAMPLES = Table(Sample.__tablename__, _core, Column("vehicle_id"), Column("measured_at"), Column("path"),
                Column("value"))
SAMPLE_COLUMNS = [column.name for column in SAMPLES.columns]
TWIN = Table(TwinSignal.__tablename__, _core, Column("vehicle_id", primary_key=True),
             Column("path", primary_key=True), Column("value"), Column("measured_at"))
_RECEIVED = ReceivedMessage.__table__
_TWIN_SCRATCH = "forecourt_twin_incoming"
_TWIN_INCOMING = Table(_TWIN_SCRATCH, MetaData(), *(Column(c.name) for c in TWIN.columns))
_TWIN_UPSERT_SQLITE = (
    f"INSERT INTO {TWIN.name} (vehicle_id, path, value, measured_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (vehicle_id, path) DO UPDATE SET value = excluded.value, measured_at = excluded.measured_at "
    f"WHERE {TWIN.name}.measured_at <= excluded.measured_at")
CAR_LOCK = "forecourt.telematics.car"  # the advisory-lock namespace of what is derived from one car's history


def engine_name(session: Session) -> str:
    return session.get_bind().dialect.name


def _driver(session: Session):
    """The DB-API connection under the session's transaction."""
    return session.connection().connection.driver_connection


def moment_binder(session: Session):
    """How ``UTCDateTime`` binds a moment on this engine: SQLite stores naive UTC text in SQLAlchemy's
    own format (so stored values still compare as text), PostgreSQL takes the aware datetime."""
    def utc(at: datetime) -> datetime:  # a naive moment is UTC, as UTCDateTime reads it
        return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)

    if engine_name(session) != "sqlite":
        return utc
    return lambda at: utc(at).strftime("%Y-%m-%d %H:%M:%S.%f")


def json_text(value: object) -> str:
    """``json.dumps(value)`` (what the JSON column would store), with fast paths for plain numbers."""
    kind = type(value)
    if kind is float and math.isfinite(value):
        return repr(value)  # json.dumps spells a finite float as its repr
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    return json.dumps(value)


def copy_rows(session: Session, table: Table, columns: list[str], rows: list[tuple]) -> None:
    """PostgreSQL: rows (tuples in the order of ``columns``) in by COPY, inside the session's transaction."""
    cursor = _driver(session).cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """Plain inserts of ready-bound rows (every row has the same keys, in the same order)."""
    if rows:
        insert_tuples(session, table, list(rows[0]), [tuple(row.values()) for row in rows])


def insert_tuples(session: Session, table: Table, columns: list[str], rows: list[tuple]) -> None:
    """``insert_rows`` for rows that are tuples already, in the order of ``columns``: the hot
    tables' rows are built that way, sparing a dictionary per sample."""
    if not rows:
        return
    if engine_name(session) == "postgresql":
        copy_rows(session, table, columns, rows)
        return
    _driver(session).executemany(
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)


def claim_keys(session: Session, keys: list[str]) -> set[str]:
    """Claims each message key once; returns the keys this batch is the first to store."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return set()
    received_at = now()
    if engine_name(session) == "postgresql":
        # The keys as one array parameter: spelled as a multi-row VALUES list, psycopg rewrote a
        # statement of 4,000 placeholders for every batch, a tenth of a store's time.
        return set(session.connection().exec_driver_sql(
            f"INSERT INTO {_RECEIVED.name} (message_key, received_at) SELECT key, %s FROM unnest(%s::text[]) AS key "
            "ON CONFLICT (message_key) DO NOTHING RETURNING message_key",
            (received_at, sorted(keys))).scalars())  # one order for all writers: no deadlocks
    claimed = _claim_keys_sqlite(session, keys, moment_binder(session)(received_at))
    if claimed is not None:
        return claimed
    statement = sqlite_insert(_RECEIVED).on_conflict_do_nothing(
        index_elements=["message_key"]).returning(_RECEIVED.c.message_key)
    # Key by key, as some were stored already: executemany with RETURNING, which SQLAlchemy
    # batches into multi-row statements ("insertmanyvalues"); a key already stored returns no row.
    return set(session.execute(statement, [{"message_key": k, "received_at": received_at} for k in keys]).scalars())


def stored_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of these message keys are stored already (a read: no lock, nothing claimed).

    On PostgreSQL the keys are joined as rows, so each is one probe of its month's key index:
    ``message_key = ANY(keys)`` over the monthly partitions was planned as a scan of the whole
    current month, filtering every row by the batch's 2,000 keys (a batch's lookup took 60 ms
    instead of 8)."""
    if not keys:
        return set()
    if engine_name(session) == "postgresql":
        return set(session.connection().exec_driver_sql(
            f"SELECT stored.message_key FROM unnest(%s::text[]) AS batch(key) JOIN {_RECEIVED.name} AS stored "
            "ON stored.message_key = batch.key", (list(keys),)).scalars())
    return set(bulk_rows(session, select(_RECEIVED.c.message_key)
                         .where(one_of(session, _RECEIVED.c.message_key, keys))).scalars())


def _claim_keys_sqlite(session: Session, keys: list[str], received_at: str) -> set[str] | None:
    """Inserts them all, in a savepoint; ``None`` (and nothing inserted) when some were stored
    already, and the caller asks key by key. The ingest plan has already left out the keys it
    found stored, so the common case is one statement and no second look-up."""
    savepoint = session.begin_nested()
    cursor = _driver(session).executemany(
        f"INSERT OR IGNORE INTO {_RECEIVED.name} (message_key, received_at) VALUES (?, ?)",
        [(key, received_at) for key in keys])
    if cursor.rowcount != len(keys):
        savepoint.rollback()
        return None
    savepoint.commit()
    return set(keys)


def update_twin(session: Session, latest: dict) -> None:
    """Upserts the newest value per (vehicle, path) (``latest``: (vehicle, path) -> (JSON text,
    measured at, bound moment)); an older value never overwrites a newer one."""
    if not latest:
        return
    rows = [(v, p, stored, bound_at)
            for (v, p), (stored, _, bound_at) in sorted(latest.items())]  # one order for all writers: no deadlocks
    if engine_name(session) == "sqlite":
        _driver(session).executemany(_TWIN_UPSERT_SQLITE, rows)
        return
    # PostgreSQL: COPY the batch's values into a transaction-scoped scratch table, then one upsert
    # from it (psycopg's executemany sends one statement per row).
    session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {_TWIN_SCRATCH} (vehicle_id integer, "
                         "path varchar(160), value json, measured_at timestamptz) ON COMMIT DELETE ROWS"))
    copy_rows(session, _TWIN_INCOMING, ["vehicle_id", "path", "value", "measured_at"], rows)
    session.execute(text(
        f"INSERT INTO {TWIN.name} (vehicle_id, path, value, measured_at) "
        f"SELECT vehicle_id, path, value, measured_at FROM {_TWIN_SCRATCH} ORDER BY vehicle_id, path "
        "ON CONFLICT (vehicle_id, path) DO UPDATE SET value = excluded.value, measured_at = excluded.measured_at "
        f"WHERE {TWIN.name}.measured_at <= excluded.measured_at"))
    session.execute(text(f"DELETE FROM {_TWIN_SCRATCH}"))


def stored_values(session: Session, *, vehicle_ids: list[int], path_suffix: str) -> list[tuple[int, object]]:
    """(vehicle id, decoded value) of the twin's signals whose path ends with ``path_suffix``."""
    rows = session.execute(select(TWIN.c.vehicle_id, TWIN.c.value).where(
        TWIN.c.vehicle_id.in_(vehicle_ids), TWIN.c.path.like(f"%{path_suffix}"))).all()
    return [(vehicle_id, json.loads(value) if isinstance(value, str) else value) for vehicle_id, value in rows]
