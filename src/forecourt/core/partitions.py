"""Monthly partitions of the tables a fleet fills by time (PostgreSQL's declarative partitioning).

A million cars write billions of samples and positions a month. In one table every index grows
without bound and retention is a delete of hundreds of millions of rows, each one written to the
WAL and vacuumed after. Partitioned by the month they were measured in, each month's indexes keep
their own size, queries of a car's recent days touch one or two partitions, and retention drops a
whole month at once (a catalogue change, not a delete). Migration 0027 partitions
``telematics_samples`` and ``telematics_positions`` on PostgreSQL, migration 0029 the exactly-once
ledger ``telematics_received``; SQLite keeps plain tables and every function here does nothing
there, so callers need not ask which engine they run on.

The ledger's primary key is the message key alone (a message must be found whichever month it is
in), and PostgreSQL wants the partition key in every unique index, so the ledger is split by ranges
of the key itself: a key begins with the Unix second it was measured at in ten hex digits
(``telematics.decoders.primitives.message_key``), so a month of keys is a range of text, compared
byte by byte (the column's collation is ``C``). Keys of no month (another shape, a month without a
partition) land in the default partition.

Each table has a ``<table>_default`` partition for rows of months without a partition of their own
(a device reporting from long ago), so no reading is ever refused for its date. Creating a month's
partition moves the default partition's rows of that month into it first.

Retention takes a month out in two steps. ``detach_before`` detaches the month in the caller's
transaction: a catalogue change under a brief lock of the partitioned table, after which nobody reads
or writes the month. ``drop_detached`` then drops one detached month per transaction, locking only
that month's own table, which nobody else uses any more. Dropping takes time in proportion to the
month's size, not for locks: PostgreSQL removes the files at commit (about 0.4 s per GB on the
development machine, a month of five cars' samples is about 0.9 GB), after it has released the
locks. Dropping the months straight from the partitioned table in one transaction held its lock for
every month's statements and kept the job's transaction open while the files went; detached first,
writers wait for the catalogue change alone, and a month detached by a process that died before
dropping it is dropped by the next run (``detached`` finds it by its name).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

PARTITIONED = ("telematics_samples", "telematics_positions", "telematics_received")  # monthly
BY_MESSAGE_KEY = ("telematics_received",)  # split by the time a key begins with, not by measured_at
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


def key_prefix(moment: datetime) -> str:
    """How a message key measured at ``moment`` begins (primitives.message_key): a month's keys lie
    between the prefixes of its first moment and the next month's."""
    return f"{min(max(int(moment.timestamp()), 0), 0xFFFFFFFFFF):010x}"


def bounds(table: str, month: datetime) -> tuple[object, object, str]:
    """The month's range in the table's partition key: (from, to, the column)."""
    following = month_start(month, 1)
    if table in BY_MESSAGE_KEY:
        return key_prefix(month), key_prefix(following), "message_key"
    return month, following, "measured_at"


def _month_of(name: str, table: str) -> datetime | None:
    match = _NAME.search(name)
    if match and name == f"{table}_p{match.group(1)}{match.group(2)}":
        return datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC)
    return None


def partitions_of(session: Session, table: str) -> dict[str, datetime]:
    """The table's monthly partitions (name -> first moment of their month); not the default."""
    names = session.scalars(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :table"), {"table": table}).all()
    return {name: month for name in names if (month := _month_of(name, table)) is not None}


def create_month(session: Session, table: str, month: datetime) -> bool:
    """Adds the partition of ``month`` (its first moment) unless it exists; False if it did.

    Built beside the table, filled with the default partition's rows of that month, then attached:
    attaching checks the default holds no more rows of the month, and PostgreSQL builds the
    partition's share of every index of the table."""
    name = partition_name(table, month)
    if session.scalar(text("SELECT to_regclass(:name)"), {"name": name}) is not None:
        return False
    start, end, column = bounds(table, month)
    literal = (lambda value: value) if column == "message_key" else (lambda value: value.isoformat())
    session.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
    session.execute(text(f"WITH moved AS (DELETE FROM {table}_default WHERE {column} >= :start AND "
                         f"{column} < :end RETURNING *) INSERT INTO {name} SELECT * FROM moved"),
                    {"start": start, "end": end})
    session.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} "
                         f"FOR VALUES FROM ('{literal(start)}') TO ('{literal(end)}')"))
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


def detach_before(*, session: Session, table: str, cutoff: datetime, keep: str | None = None,
                  **params) -> tuple[int, int]:
    """Detaches the table's monthly partitions that end on or before ``cutoff``: (partitions, rows).
    Their rows are gone from the table at once; ``drop_detached`` removes their files later.

    ``keep``: a condition (on ``params``) for rows of such a month that must stay: they are put
    back into the table, which, as the month has no partition any more, keeps them in its default
    partition (the ledger's keys received within its window, whenever they were measured).

    Rows are counted from the statistics PostgreSQL keeps (``reltuples``), not by reading the month
    again: dropping is what makes retention instant. Rows before the cutoff in the partition it
    falls in (and in the default partition) are the caller's to delete."""
    if not is_partitioned(session, table):
        return 0, 0
    detached = rows = 0
    for name, month in sorted(partitions_of(session, table).items(), key=lambda item: item[1]):
        if month_start(month, 1) > cutoff:
            continue
        estimate = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = :name"), {"name": name})
        rows += max(int(estimate or 0), 0)
        session.execute(text(f"ALTER TABLE {table} DETACH PARTITION {name}"))
        if keep is not None:
            rows -= session.execute(text(f"INSERT INTO {table} SELECT * FROM {name} WHERE {keep}"), params).rowcount
        detached += 1
    return detached, rows


def detached(session: Session, table: str) -> list[str]:
    """The table's months detached and not dropped yet (also those a process died before dropping)."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    names = session.scalars(text(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition AND relname LIKE :like "
        "AND relnamespace = current_schema()::regnamespace ORDER BY relname"),
        {"like": f"{table}\\_p%"}).all()
    return [name for name in names if _month_of(name, table) is not None]


def drop_detached(*, session: Session, table: str) -> str | None:
    """Drops the oldest detached month of the table, if any; the name dropped. One per transaction:
    each takes only its own table's lock, which nobody else wants."""
    waiting = detached(session, table)
    if not waiting:
        return None
    session.execute(text(f"DROP TABLE {waiting[0]}"))  # takes its indexes along
    return waiting[0]


def drop_all_detached(sessions, table: str) -> int:
    """Drops every detached month of the table, each in a transaction of its own (for the jobs and
    commands that retain data: they own their transactions); returns how many went."""
    from forecourt.core.db import transaction

    if sessions.kw["bind"].dialect.name != "postgresql":
        return 0
    dropped = 0
    while True:
        with transaction(sessions, write=True) as session:
            if drop_detached(session=session, table=table) is None:
                return dropped
        dropped += 1
