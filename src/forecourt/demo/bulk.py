"""Writing many rows quickly: ids handed out in Python, rows sent in executemany batches.

Ids are chosen here rather than by the database so related rows (a customer, their login, their
cars) can be built together before any of them is written. PostgreSQL's id sequences are moved
past the demo's ids afterwards, so later inserts by the application keep working.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

CHUNK = 5_000


class Ids:
    """The next free id per table, read once from the database."""

    def __init__(self, session: Session, tables: list[Table]):
        self._next = {t.name: (session.scalar(select(func.max(t.c.id))) or 0) + 1 for t in tables}

    def take(self, table: Table) -> int:
        value = self._next[table.name]
        self._next[table.name] = value + 1
        return value


class Rows:
    """Rows waiting to be written, per table, in the order their foreign keys need."""

    def __init__(self, order: list[Table]):
        self.order = order
        self.pending: dict[str, list[dict]] = defaultdict(list)
        self.written: dict[str, int] = defaultdict(int)

    def add(self, table: Table, row: dict) -> None:
        self.pending[table.name].append(row)

    def flush(self, session: Session) -> None:
        for table in self.order:
            rows = self.pending.pop(table.name, [])
            for start in range(0, len(rows), CHUNK):
                session.execute(insert(table), rows[start:start + CHUNK])
            self.written[table.name] += len(rows)


def realign_sequences(session: Session, tables: list[Table]) -> None:
    """After explicit ids, PostgreSQL's serial sequences must continue from the highest one."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
            f"(SELECT MAX(id) IS NOT NULL FROM {table.name}))"))


def refresh_statistics(session: Session) -> None:
    """A freshly loaded database has no planner statistics; without them SQLite can pick poor indexes."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE"))
    else:
        session.execute(text("PRAGMA analysis_limit=2000"))
        session.execute(text("ANALYZE"))


def compact_log(engine) -> None:
    """Fold SQLite's write-ahead log into the database file after a bulk load.

    Left alone, the first request that commits afterwards would pay for checkpointing hundreds of
    megabytes of log.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
