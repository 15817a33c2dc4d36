"""commands sent to cars (unlock, lock) and what became of them

* ``vehicle_commands``: one row per command, with its transport (MQTT to the car's own unit, or
  Codec 12 to an aftermarket tracker), its deadline and its outcome; a late answer is kept beside it.

Revision ID: 0025_commands
Revises: 0024_recalls
Create Date: 2026-12-07 01:40:00
"""
from alembic import op
import sqlalchemy as sa

from forecourt.core.db import UTCDateTime


revision = '0025_commands'
down_revision = '0024_recalls'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'vehicle_commands',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('vehicle_id', sa.Integer(), nullable=False),
        sa.Column('vin', sa.String(length=17), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=80), nullable=False),
        sa.Column('transport', sa.String(length=12), nullable=False),
        sa.Column('device_identifier', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('issued_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.Column('answered_at', UTCDateTime(), nullable=True),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('late_result', sa.String(length=12), nullable=True),
        sa.Column('late_answered_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_vehicle_commands_vehicle_id_vehicles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_vehicle_commands')),
    )
    op.create_index(op.f('ix_vehicle_commands_vehicle_id'), 'vehicle_commands', ['vehicle_id'], unique=False)
    op.create_index('ix_vehicle_commands_status_expires', 'vehicle_commands', ['status', 'expires_at'], unique=False)
    op.create_index('ix_vehicle_commands_device_status', 'vehicle_commands', ['device_identifier', 'status'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_vehicle_commands_device_status', table_name='vehicle_commands')
    op.drop_index('ix_vehicle_commands_status_expires', table_name='vehicle_commands')
    op.drop_index(op.f('ix_vehicle_commands_vehicle_id'), table_name='vehicle_commands')
    op.drop_table('vehicle_commands')
