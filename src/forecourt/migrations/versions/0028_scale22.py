"""samples and positions numbered with 64-bit ids

A fleet of 10,000 cars reporting every 10 seconds writes 86 million messages a day, each of them
several samples and a position: a 32-bit id (2,147,483,647) runs out within days, and an insert
past it fails, so every message would stay unacknowledged at the broker. PostgreSQL's ids become
BIGINT, with their sequences (the partitioned tables pass the new type on to every partition).
SQLite's integer primary key is already the 64-bit rowid: nothing changes there.

Revision ID: 0028_scale22
Revises: 0028_pipe22
Create Date: 2026-12-07 05:20:00
"""
from alembic import op


revision = '0028_scale22'
down_revision = '0028_pipe22'
branch_labels = None
depends_on = None

TABLES = ("telematics_samples", "telematics_positions")


def _retype(kind: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN id TYPE {kind}")
        op.execute(f"ALTER SEQUENCE {table}_id_seq AS {kind}")


def upgrade() -> None:
    _retype("BIGINT")


def downgrade() -> None:
    _retype("INTEGER")
