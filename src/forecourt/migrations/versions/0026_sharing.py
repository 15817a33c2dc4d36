"""car sharing from dealer hubs: hubs, shared cars, tariffs, driver profiles, reservations and
the 15-minute slots that make double booking impossible, unlock codes, trip events, inspections,
damage reports, photos and bills

Revision ID: 0026_sharing
Revises: 0025_commands
Create Date: 2026-12-07 01:29:55.495381
"""
from alembic import op
import sqlalchemy as sa
import forecourt.core.db


revision = '0026_sharing'
down_revision = '0026_nps'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sharing_hubs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dealer_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('geofence', sa.JSON(), nullable=False),
    sa.Column('hold_minutes', sa.Integer(), nullable=False),
    sa.Column('low_energy_percent', sa.Integer(), nullable=False),
    sa.Column('outside_return', sa.String(length=8), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dealer_id'], ['organizations.id'], name=op.f('fk_sharing_hubs_dealer_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_hubs'))
    )
    with op.batch_alter_table('sharing_hubs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_hubs_dealer_id'), ['dealer_id'], unique=False)
        batch_op.create_index('ix_sharing_hubs_position', ['latitude', 'longitude'], unique=False)

    op.create_table('sharing_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('terms_notice_version', sa.Integer(), nullable=True),
    sa.Column('terms_accepted_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('licence_number', sa.String(length=40), nullable=True),
    sa.Column('licence_expires_on', sa.Date(), nullable=True),
    sa.Column('licence_note', sa.Text(), nullable=False),
    sa.Column('licence_checked_by_user_id', sa.Integer(), nullable=True),
    sa.Column('licence_checked_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('share_position', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sharing_profiles_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_profiles')),
    sa.UniqueConstraint('customer_id', name=op.f('uq_sharing_profiles_customer_id'))
    )
    op.create_table('sharing_tariffs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='EUR', nullable=False),
    sa.Column('unlock_fee', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('per_minute_driving', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('per_minute_parked', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('included_km', sa.Integer(), nullable=False),
    sa.Column('per_km_over', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('daily_cap', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('late_return_fee', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('low_energy_fee', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('outside_return_fee', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('deposit', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['hub_id'], ['sharing_hubs.id'], name=op.f('fk_sharing_tariffs_hub_id_sharing_hubs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_tariffs')),
    sa.UniqueConstraint('hub_id', 'kind', name=op.f('uq_sharing_tariffs_hub_id_kind'))
    )
    op.create_table('sharing_cars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('propulsion', sa.String(length=16), nullable=False),
    sa.Column('model_name', sa.String(length=100), nullable=False),
    sa.Column('trim_name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=220), nullable=False),
    sa.Column('registration', sa.String(length=16), nullable=True),
    sa.Column('out_of_service', sa.Boolean(), nullable=False),
    sa.Column('service_note', sa.Text(), nullable=False),
    sa.Column('needs', sa.String(length=16), nullable=False),
    sa.Column('added_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hub_id'], ['sharing_hubs.id'], name=op.f('fk_sharing_cars_hub_id_sharing_hubs')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_sharing_cars_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_cars')),
    sa.UniqueConstraint('vehicle_id', name=op.f('uq_sharing_cars_vehicle_id'))
    )
    with op.batch_alter_table('sharing_cars', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_cars_hub_id'), ['hub_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_cars_model_id'), ['model_id'], unique=False)

    op.create_table('sharing_reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('car_id', sa.Integer(), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('starts_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('hold_until', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('tariff', sa.JSON(), nullable=False),
    sa.Column('deposit_payment_id', sa.Integer(), nullable=True),
    sa.Column('share_summary', sa.Boolean(), nullable=False),
    sa.Column('car_unlocked', sa.Boolean(), nullable=False),
    sa.Column('created_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_out_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('returned_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['car_id'], ['sharing_cars.id'], name=op.f('fk_sharing_reservations_car_id_sharing_cars')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sharing_reservations_customer_id_customers')),
    sa.ForeignKeyConstraint(['hub_id'], ['sharing_hubs.id'], name=op.f('fk_sharing_reservations_hub_id_sharing_hubs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_reservations')),
    sa.UniqueConstraint('number', name=op.f('uq_sharing_reservations_number'))
    )
    with op.batch_alter_table('sharing_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_reservations_car_id'), ['car_id'], unique=False)
        batch_op.create_index('ix_sharing_reservations_car_time', ['car_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_reservations_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_reservations_hub_id'), ['hub_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_reservations_status'), ['status'], unique=False)

    op.create_table('sharing_bills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), server_default='EUR', nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('created_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sharing_bills_customer_id_customers')),
    sa.ForeignKeyConstraint(['hub_id'], ['sharing_hubs.id'], name=op.f('fk_sharing_bills_hub_id_sharing_hubs')),
    sa.ForeignKeyConstraint(['reservation_id'], ['sharing_reservations.id'], name=op.f('fk_sharing_bills_reservation_id_sharing_reservations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_bills')),
    sa.UniqueConstraint('number', name=op.f('uq_sharing_bills_number')),
    sa.UniqueConstraint('reservation_id', name=op.f('uq_sharing_bills_reservation_id'))
    )
    with op.batch_alter_table('sharing_bills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_bills_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_bills_hub_id'), ['hub_id'], unique=False)

    op.create_table('sharing_car_slots',
    sa.Column('car_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['car_id'], ['sharing_cars.id'], name=op.f('fk_sharing_car_slots_car_id_sharing_cars')),
    sa.ForeignKeyConstraint(['reservation_id'], ['sharing_reservations.id'], name=op.f('fk_sharing_car_slots_reservation_id_sharing_reservations')),
    sa.PrimaryKeyConstraint('car_id', 'starts_at', name=op.f('pk_sharing_car_slots'))
    )
    with op.batch_alter_table('sharing_car_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_car_slots_reservation_id'), ['reservation_id'], unique=False)

    op.create_table('sharing_damage_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('car_id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reported_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['car_id'], ['sharing_cars.id'], name=op.f('fk_sharing_damage_reports_car_id_sharing_cars')),
    sa.ForeignKeyConstraint(['reservation_id'], ['sharing_reservations.id'], name=op.f('fk_sharing_damage_reports_reservation_id_sharing_reservations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_damage_reports'))
    )
    with op.batch_alter_table('sharing_damage_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_damage_reports_car_id'), ['car_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_damage_reports_reservation_id'), ['reservation_id'], unique=False)

    op.create_table('sharing_inspections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('damage_declared', sa.Text(), nullable=False),
    sa.Column('odometer_km', sa.Float(), nullable=True),
    sa.Column('energy_percent', sa.Float(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('outside_by_m', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['reservation_id'], ['sharing_reservations.id'], name=op.f('fk_sharing_inspections_reservation_id_sharing_reservations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_inspections')),
    sa.UniqueConstraint('reservation_id', 'kind', name=op.f('uq_sharing_inspections_reservation_id_kind'))
    )
    op.create_table('sharing_trip_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('odometer_km', sa.Float(), nullable=True),
    sa.Column('energy_percent', sa.Float(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['reservation_id'], ['sharing_reservations.id'], name=op.f('fk_sharing_trip_events_reservation_id_sharing_reservations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_trip_events'))
    )
    with op.batch_alter_table('sharing_trip_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_trip_events_reservation_id'), ['reservation_id'], unique=False)

    op.create_table('sharing_unlock_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('valid_from', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['reservation_id'], ['sharing_reservations.id'], name=op.f('fk_sharing_unlock_codes_reservation_id_sharing_reservations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_unlock_codes'))
    )
    with op.batch_alter_table('sharing_unlock_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_unlock_codes_reservation_id'), ['reservation_id'], unique=False)

    op.create_table('sharing_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('damage_id', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('taken_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['damage_id'], ['sharing_damage_reports.id'], name=op.f('fk_sharing_photos_damage_id_sharing_damage_reports')),
    sa.ForeignKeyConstraint(['inspection_id'], ['sharing_inspections.id'], name=op.f('fk_sharing_photos_inspection_id_sharing_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sharing_photos'))
    )
    with op.batch_alter_table('sharing_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sharing_photos_damage_id'), ['damage_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sharing_photos_inspection_id'), ['inspection_id'], unique=False)
def downgrade() -> None:
    with op.batch_alter_table('sharing_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_photos_inspection_id'))
        batch_op.drop_index(batch_op.f('ix_sharing_photos_damage_id'))

    op.drop_table('sharing_photos')
    with op.batch_alter_table('sharing_unlock_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_unlock_codes_reservation_id'))

    op.drop_table('sharing_unlock_codes')
    with op.batch_alter_table('sharing_trip_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_trip_events_reservation_id'))

    op.drop_table('sharing_trip_events')
    op.drop_table('sharing_inspections')
    with op.batch_alter_table('sharing_damage_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_damage_reports_reservation_id'))
        batch_op.drop_index(batch_op.f('ix_sharing_damage_reports_car_id'))

    op.drop_table('sharing_damage_reports')
    with op.batch_alter_table('sharing_car_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_car_slots_reservation_id'))

    op.drop_table('sharing_car_slots')
    with op.batch_alter_table('sharing_bills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_bills_hub_id'))
        batch_op.drop_index(batch_op.f('ix_sharing_bills_customer_id'))

    op.drop_table('sharing_bills')
    with op.batch_alter_table('sharing_reservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_reservations_status'))
        batch_op.drop_index(batch_op.f('ix_sharing_reservations_hub_id'))
        batch_op.drop_index(batch_op.f('ix_sharing_reservations_customer_id'))
        batch_op.drop_index('ix_sharing_reservations_car_time')
        batch_op.drop_index(batch_op.f('ix_sharing_reservations_car_id'))

    op.drop_table('sharing_reservations')
    with op.batch_alter_table('sharing_cars', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sharing_cars_model_id'))
        batch_op.drop_index(batch_op.f('ix_sharing_cars_hub_id'))

    op.drop_table('sharing_cars')
    op.drop_table('sharing_tariffs')
    op.drop_table('sharing_profiles')
    with op.batch_alter_table('sharing_hubs', schema=None) as batch_op:
        batch_op.drop_index('ix_sharing_hubs_position')
        batch_op.drop_index(batch_op.f('ix_sharing_hubs_dealer_id'))

    op.drop_table('sharing_hubs')
