"""Monthly partitions of the tables a fleet fills by time (PostgreSQL's declarative partitioning).

A million cars write billions of samples and positions a month. In one table every index grows
without bound and retention is a delete of hundreds of millions of rows, each one written to the
WAL and vacuumed after. Partitioned by the month they were measured in, each month's indexes keep
their own size, queries of a car's recent days touch one or two partitions, and retention drops a
whole month at once (a catalogue change, not a delete). Migration 0027 partitions
``telematics_samples`` and ``telematics_positions`` on PostgreSQL; SQLite keeps plain tables and
every function here does nothing there, so callers need not ask which engine they run on.

Each table has a ``<table>_default`` partition for rows of months without a partition of their own
(a device reporting from long ago), so no reading is ever refused for its date. Creating a month's
partition moves the default partition's rows of that month into it first.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

PARTITIONED = ("telematics_samples", "telematics_positions")  # partitioned by measured_at, monthly
MONTHS_AHEAD = 3
_NAME = re.compile(r"_p(\d{4})(\d{2})$")


def is_partitioned(session: Session, table: str) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    return bool(session.scalar(text(
        "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = :table AND c.relnamespace = current_schema()::regnamespace"), {"table": table}))


def month_start(moment: datetime, shift: int = 0) -> datetime:
    months = moment.year * 12 + moment.month - 1 + shift
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y%m}"


def partitions_of(session: Session, table: str) -> dict[str, datetime]:
    """The table's monthly partitions (name -> first moment of their month); not the default."""
    names = session.scalars(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :table"), {"table": table}).all()
    found = {}
    for name in names:
        match = _NAME.search(name)
        if match and name == f"{table}_p{match.group(1)}{match.group(2)}":
            found[name] = datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC)
    return found


def create_month(session: Session, table: str, month: datetime) -> bool:
    """Adds the partition of ``month`` (its first moment) unless it exists; False if it did.

    Built beside the table, filled with the default partition's rows of that month, then attached:
    attaching checks the default holds no more rows of the month, and PostgreSQL builds the
    partition's share of every index of the table."""
    name = partition_name(table, month)
    if session.scalar(text("SELECT to_regclass(:name)"), {"name": name}) is not None:
        return False
    start, end = month.isoformat(), month_start(month, 1).isoformat()
    session.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
    session.execute(text(f"WITH moved AS (DELETE FROM {table}_default WHERE measured_at >= :start AND "
                         f"measured_at < :end RETURNING *) INSERT INTO {name} SELECT * FROM moved"),
                    {"start": month, "end": month_start(month, 1)})
    session.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ('{start}') TO ('{end}')"))
    return True


def ensure_ahead(*, session: Session, moment: datetime, months_ahead: int = MONTHS_AHEAD) -> dict:
    """The partitions of this month and the next ``months_ahead``, for every partitioned table:
    the scheduled job runs this daily, so a month's partition exists long before its first reading."""
    created: dict[str, int] = {}
    for table in PARTITIONED:
        if not is_partitioned(session, table):
            continue
        created[table] = sum(create_month(session, table, month_start(moment, shift))
                             for shift in range(months_ahead + 1))
    return created


def drop_before(*, session: Session, table: str, cutoff: datetime) -> tuple[int, int]:
    """Drops the table's monthly partitions that end on or before ``cutoff``: (partitions, rows).

    Rows are counted from the statistics PostgreSQL keeps (``reltuples``), not by reading the month
    again: dropping is what makes retention instant. Rows before the cutoff in the partition it
    falls in (and in the default partition) are the caller's to delete."""
    if not is_partitioned(session, table):
        return 0, 0
    dropped = rows = 0
    for name, month in sorted(partitions_of(session, table).items(), key=lambda item: item[1]):
        if month_start(month, 1) > cutoff:
            continue
        estimate = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = :name"), {"name": name})
        rows += max(int(estimate or 0), 0)
        session.execute(text(f"DROP TABLE {name}"))  # takes its indexes along
        dropped += 1
    return dropped, rows
