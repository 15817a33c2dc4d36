"""background work: durable domain events, heartbeats, the job queue on PostgreSQL, outbox back-off

* ``domain_events``: events another domain acts on, written with their cause and delivered at
  least once (pending -> delivered, or dead after their attempts).
* ``process_heartbeats``: the worker and the ingest processes beat here; /api/health reads them.
* ``job_tasks``, ``job_schedule``, ``job_kv`` (PostgreSQL only): Huey's queue in the database. On
  SQLite the queue is a file of its own beside the database.
* ``outbox_messages`` gains its back-off, in-flight mark, uncertain-send count and dead letter.
* ``recall_vehicles`` counts reminders to owners whose car is still not remedied.

Revision ID: 0014
Revises: 0007
Create Date: 2026-11-24 15:30:00
"""
import sqlalchemy as sa
from alembic import op

from forecourt.core.db import UTCDateTime

revision = '0014'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'domain_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
        sa.Column('delivered_at', UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_events')),
    )
    op.create_index('ix_domain_events_status_next', 'domain_events', ['status', 'next_attempt_at'])
    op.create_table(
        'process_heartbeats',
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=False),
        sa.Column('beat_at', UTCDateTime(), nullable=False),
        sa.Column('counters', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_process_heartbeats')),
    )
    op.create_index(op.f('ix_process_heartbeats_role'), 'process_heartbeats', ['role'])
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('in_flight_since', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('uncertain_sends', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('dead_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('recall_vehicles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminders', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('reminded_at', UTCDateTime(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE TABLE job_tasks (id bigserial PRIMARY KEY, queue text NOT NULL, data bytea NOT NULL, "
                   "priority real NOT NULL DEFAULT 0)")
        op.execute("CREATE INDEX ix_job_tasks_queue_priority ON job_tasks (queue, priority DESC, id)")
        op.execute("CREATE TABLE job_schedule (id bigserial PRIMARY KEY, queue text NOT NULL, data bytea NOT NULL, "
                   "due timestamptz NOT NULL)")
        op.execute("CREATE INDEX ix_job_schedule_queue_due ON job_schedule (queue, due)")
        op.execute("CREATE TABLE job_kv (queue text NOT NULL, key text NOT NULL, value bytea NOT NULL, "
                   "PRIMARY KEY (queue, key))")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in ('job_kv', 'job_schedule', 'job_tasks'):
            op.execute(f"DROP TABLE {table}")
    with op.batch_alter_table('recall_vehicles', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('reminders')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        for column in ('dead_at', 'uncertain_sends', 'in_flight_since', 'next_attempt_at'):
            batch_op.drop_column(column)
    op.drop_index(op.f('ix_process_heartbeats_role'), table_name='process_heartbeats')
    op.drop_table('process_heartbeats')
    op.drop_index('ix_domain_events_status_next', table_name='domain_events')
    op.drop_table('domain_events')
