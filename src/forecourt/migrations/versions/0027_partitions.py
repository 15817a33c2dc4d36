"""samples and positions partitioned by month on PostgreSQL; case changes notified

* ``telematics_samples`` and ``telematics_positions`` become tables partitioned by range of
  ``measured_at``: one partition per month (``<table>_pYYYYMM``) from the month of their oldest row
  to three months ahead (the worker's ``partitions`` job keeps creating them ahead), and a
  ``<table>_default`` partition for rows of months without one. Their primary key becomes
  (id, measured_at), as PostgreSQL requires the partition key in every unique index; ids still come
  from the same sequence, so they stay unique. The (vehicle, time[, path]) index is declared on the
  table and so exists per partition.
* A trigger on ``assist_case_events`` sends ``NOTIFY forecourt_cases, '<id>'`` for every new
  timeline row, so each web process listens on one connection instead of every open On Call console
  asking the database (``web/live.py``).
* SQLite keeps plain tables and has no notifications: nothing changes there.

Revision ID: 0027_partitions
Revises: 0024_recalls
Create Date: 2026-12-07 02:00:00
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = '0027_partitions'
down_revision = '0025_engagement'
branch_labels = None
depends_on = None

TABLES = {  # table -> (its index, the index's columns)
    "telematics_samples": ("ix_telematics_samples_vehicle_time_path", "vehicle_id, measured_at, path"),
    "telematics_positions": ("ix_telematics_positions_vehicle_time", "vehicle_id, measured_at"),
}
MONTHS_AHEAD = 3


def _month(year: int, month: int, shift: int = 0) -> datetime:
    months = year * 12 + month - 1 + shift
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)


def _rebuild(table: str, *, partitioned: bool) -> None:
    """Moves the table's rows into a new table of the same name, partitioned or plain."""
    index, columns = TABLES[table]
    old = f"{table}_before_0027"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT pk_{table} TO pk_{old}")
    op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT fk_{table}_vehicle_id_vehicles TO fk_{old}_vehicle_id")
    op.execute(f"ALTER INDEX {index} RENAME TO {index}_before_0027")
    by = " PARTITION BY RANGE (measured_at)" if partitioned else ""
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS){by}")
    key = "id, measured_at" if partitioned else "id"
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({key})")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_vehicle_id_vehicles FOREIGN KEY (vehicle_id) "
               "REFERENCES vehicles (id)")
    op.execute(f"CREATE INDEX {index} ON {table} ({columns})")
    if partitioned:
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        bind = op.get_bind()
        oldest = bind.execute(sa.text(f"SELECT min(measured_at) FROM {old}")).scalar()
        today = datetime.now(UTC)
        first = oldest if oldest is not None and oldest < today else today
        month, last = _month(first.year, first.month), _month(today.year, today.month, MONTHS_AHEAD)
        while month <= last:
            following = _month(month.year, month.month, 1)
            op.execute(f"CREATE TABLE {table}_p{month:%Y%m} PARTITION OF {table} "
                       f"FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')")
            month = following
    op.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    op.execute(f"DROP TABLE {old}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        _rebuild(table, partitioned=True)
    op.execute("CREATE FUNCTION forecourt_case_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN PERFORM pg_notify('forecourt_cases', NEW.id::text); RETURN NULL; END $$")
    op.execute("CREATE TRIGGER assist_case_events_notify AFTER INSERT ON assist_case_events "
               "FOR EACH ROW EXECUTE FUNCTION forecourt_case_notify()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER assist_case_events_notify ON assist_case_events")
    op.execute("DROP FUNCTION forecourt_case_notify()")
    for table in TABLES:
        _rebuild(table, partitioned=False)
