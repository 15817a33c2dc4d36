"""devices keep their own status; cases keep what an eCall said about the car

A phone reports its battery and charging state, often without a position: that is the device's
state, not the car's, so it lives on the device row and never becomes a signal or a position.
An eCall's minimum set of data carries the VIN, the vehicle type, the propulsion and additional
data, which have no column of their own on the case: they are kept as sent, with the raw bytes.

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-06 15:30:00
"""
import sqlalchemy as sa
from alembic import op

import forecourt.core.db


revision = '0012'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('telematics_devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('status_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('assist_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vehicle_data', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('assist_cases', schema=None) as batch_op:
        batch_op.drop_column('vehicle_data')
    with op.batch_alter_table('telematics_devices', schema=None) as batch_op:
        batch_op.drop_column('status_at')
        batch_op.drop_column('status')
