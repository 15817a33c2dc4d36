"""the exactly-once ledger partitioned by month on PostgreSQL, so whole months of keys can go;
where a standing car's trips are settled

``telematics_trip_marks`` (both engines): per car, the latest trip a mark belongs to, the newest
reading a rebuild saw and when, and where the next rebuild may start reading
(``telematics.trip_marks``), so a refresh of a car that stands and reports reads the last hour of
its readings, not all of them since its latest trip.

``telematics_received`` becomes a table partitioned by range of ``message_key``: a key begins with
the Unix second its message was measured at in ten hex digits, so a month of keys is a range of
text (compared byte by byte: the column's collation becomes ``C``). One partition per month
(``telematics_received_pYYYYMM``) from the month of the oldest key received to three months ahead
(the worker's ``partitions`` job keeps creating them ahead), and ``telematics_received_default`` for
keys of no such month. The primary key stays the key alone, which PostgreSQL allows as it is the
partition key; the index on ``received_at`` is declared on the table and so exists per partition.
The ``ledger_retention`` job detaches and drops the months older than the ledger's window
(``telematics.ledger``). SQLite keeps its plain table, pruned in batches: nothing changes there.

Revision ID: 0029_life23
Revises: 0029_pipe23
Create Date: 2026-12-07 10:00:00
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

from forecourt.core.db import UTCDateTime


revision = '0029_life23'
down_revision = '0029_pipe23'
branch_labels = None
depends_on = None

TABLE, OLD = "telematics_received", "telematics_received_before_0029"
INDEX = "ix_telematics_received_received_at"
MONTHS_AHEAD = 3


def _month(year: int, month: int, shift: int = 0) -> datetime:
    months = year * 12 + month - 1 + shift
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)


def _prefix(moment: datetime) -> str:
    return f"{min(max(int(moment.timestamp()), 0), 0xFFFFFFFFFF):010x}"


def _set_aside() -> None:
    op.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    op.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT pk_{TABLE} TO pk_{OLD}")
    op.execute(f"ALTER INDEX {INDEX} RENAME TO {INDEX}_before_0029")


def _move_back() -> None:
    op.execute(f"INSERT INTO {TABLE} (message_key, received_at) SELECT message_key, received_at FROM {OLD}")
    op.execute(f"DROP TABLE {OLD}")


def upgrade() -> None:
    op.create_table(
        'telematics_trip_marks',
        sa.Column('vehicle_id', sa.Integer(), nullable=False),
        sa.Column('latest_start', UTCDateTime(timezone=True), nullable=True),
        sa.Column('latest_end', UTCDateTime(timezone=True), nullable=True),
        sa.Column('read_from', UTCDateTime(timezone=True), nullable=False),
        sa.Column('seen_until', UTCDateTime(timezone=True), nullable=False),
        sa.Column('seen_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_telematics_trip_marks_vehicle_id_vehicles')),
        sa.PrimaryKeyConstraint('vehicle_id', name=op.f('pk_telematics_trip_marks')))
    if op.get_bind().dialect.name != "postgresql":
        return
    _set_aside()
    op.execute(f'CREATE TABLE {TABLE} (message_key VARCHAR(64) COLLATE "C" NOT NULL, '
               "received_at TIMESTAMP WITH TIME ZONE NOT NULL) PARTITION BY RANGE (message_key)")
    op.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT pk_{TABLE} PRIMARY KEY (message_key)")
    op.execute(f"CREATE INDEX {INDEX} ON {TABLE} (received_at)")
    op.execute(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
    oldest = op.get_bind().execute(sa.text(f"SELECT min(received_at) FROM {OLD}")).scalar()
    today = datetime.now(UTC)
    first = oldest if oldest is not None and oldest < today else today
    month, last = _month(first.year, first.month), _month(today.year, today.month, MONTHS_AHEAD)
    while month <= last:
        following = _month(month.year, month.month, 1)
        op.execute(f"CREATE TABLE {TABLE}_p{month:%Y%m} PARTITION OF {TABLE} "
                   f"FOR VALUES FROM ('{_prefix(month)}') TO ('{_prefix(following)}')")
        month = following
    _move_back()


def downgrade() -> None:
    op.drop_table('telematics_trip_marks')
    if op.get_bind().dialect.name != "postgresql":
        return
    _set_aside()
    op.execute(f"CREATE TABLE {TABLE} (message_key VARCHAR(64) NOT NULL, "
               "received_at TIMESTAMP WITH TIME ZONE NOT NULL)")
    op.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT pk_{TABLE} PRIMARY KEY (message_key)")
    op.execute(f"CREATE INDEX {INDEX} ON {TABLE} (received_at)")
    _move_back()
    # months the retention job detached but had not dropped yet belong to no table any more
    for name in op.get_bind().execute(sa.text(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition AND relname ~ :pattern "
            "AND relnamespace = current_schema()::regnamespace"), {"pattern": f"^{TABLE}_p[0-9]{{6}}$"}).scalars():
        op.execute(f"DROP TABLE {name}")
