"""what the driver noticed, courtesy-car hand-overs and returns, self-booking proposals

* ``workshop_appointments.symptoms`` / ``symptom_notes``: the symptoms the driver picked and described
  when booking; ``findings`` / ``findings_at``: what the advisor found.
* ``workshop_loaner_bookings.handed_over_at`` / ``returned_at``: a courtesy car is out between the two;
  a return frees it for the next booking.
* ``workshop_loaner_handovers``: the car's condition at each hand-over and return (odometer, fuel or
  charge, damage notes and photos), with the late minutes and extra kilometres of a return.
* ``workshop_proposals.urgent`` / ``auto_booked``: a red warning proposes the earliest time; a proposal
  the owner's standing permission booked by itself.

Revision ID: 0020_lifecycle
Revises: 0019
Create Date: 2026-12-06 22:10:00
"""
from alembic import op
import sqlalchemy as sa

from forecourt.core.db import UTCDateTime


revision = '0020_lifecycle'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('workshop_appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('symptoms', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('symptom_notes', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('findings', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('findings_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('workshop_loaner_bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handed_over_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('returned_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('workshop_proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgent', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('auto_booked', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'workshop_loaner_handovers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loaner_id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('odometer_km', sa.Integer(), nullable=False),
        sa.Column('energy_percent', sa.Integer(), nullable=False),
        sa.Column('damage_notes', sa.Text(), nullable=False),
        sa.Column('photos', sa.JSON(), nullable=False),
        sa.Column('late_minutes', sa.Integer(), nullable=True),
        sa.Column('extra_km', sa.Integer(), nullable=True),
        sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['loaner_id'], ['workshop_loaners.id'],
                                name=op.f('fk_workshop_loaner_handovers_loaner_id_workshop_loaners')),
        sa.ForeignKeyConstraint(['booking_id'], ['workshop_loaner_bookings.id'],
                                name=op.f('fk_workshop_loaner_handovers_booking_id_workshop_loaner_bookings')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_workshop_loaner_handovers')),
        sa.UniqueConstraint('booking_id', 'kind', name=op.f('uq_workshop_loaner_handovers_booking_id_kind')),
    )
    with op.batch_alter_table('workshop_loaner_handovers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workshop_loaner_handovers_loaner_id'), ['loaner_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('workshop_loaner_handovers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workshop_loaner_handovers_loaner_id'))
    op.drop_table('workshop_loaner_handovers')
    with op.batch_alter_table('workshop_proposals', schema=None) as batch_op:
        batch_op.drop_column('auto_booked')
        batch_op.drop_column('urgent')
    with op.batch_alter_table('workshop_loaner_bookings', schema=None) as batch_op:
        batch_op.drop_column('returned_at')
        batch_op.drop_column('handed_over_at')
    with op.batch_alter_table('workshop_appointments', schema=None) as batch_op:
        batch_op.drop_column('findings_at')
        batch_op.drop_column('findings')
        batch_op.drop_column('symptom_notes')
        batch_op.drop_column('symptoms')

