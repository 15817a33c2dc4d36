"""samples keep one index: (vehicle, time, path)

A message's samples share their car and their time, so under (vehicle, time, path) they sit
side by side in one index page; (vehicle, path, time) put each signal on a page of its own, and
(vehicle, time) was a second index on top. Telemetry commits wrote two thirds of their pages
for those two indexes. Every reader names a car and a time window, and the signal is read from
the index itself.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 19:20:00
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('telematics_samples', schema=None) as batch_op:
        batch_op.drop_index('ix_telematics_samples_vehicle_time')
        batch_op.drop_index('ix_telematics_samples_vehicle_path_time')
        batch_op.create_index('ix_telematics_samples_vehicle_time_path', ['vehicle_id', 'measured_at', 'path'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('telematics_samples', schema=None) as batch_op:
        batch_op.drop_index('ix_telematics_samples_vehicle_time_path')
        batch_op.create_index('ix_telematics_samples_vehicle_path_time', ['vehicle_id', 'path', 'measured_at'],
                              unique=False)
        batch_op.create_index('ix_telematics_samples_vehicle_time', ['vehicle_id', 'measured_at'], unique=False)
