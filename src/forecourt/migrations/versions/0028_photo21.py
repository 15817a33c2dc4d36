"""car-sharing photos in the photo store, damage repair status, stolen reports

* ``sharing_photos`` names its booking (and so its driver, until the booking is unlinked), and keeps the picture's
  SHA-256, size and dimensions; the picture itself moves to the photo store (a file named by its
  checksum). ``data`` becomes optional and stays for pictures stored before: they keep being served.
* ``sharing_damage_reports.status`` goes reported -> repairing -> fixed (``open`` was reported,
  ``repaired`` was fixed), with the moment it last changed.
* ``sharing_reservations.stolen_at``: a booked car reported stolen, until the report is cleared.

Revision ID: 0028_photo21
Revises: 0028_occ20
Create Date: 2026-12-07 05:10:00
"""
import hashlib

from alembic import op
import sqlalchemy as sa
import forecourt.core.db


revision = '0028_photo21'
down_revision = '0028_occ20'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sharing_photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reservation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('checksum', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('size_bytes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('height', sa.Integer(), nullable=True))
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=True)
        batch_op.create_index(batch_op.f('ix_sharing_photos_reservation_id'), ['reservation_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_sharing_photos_reservation_id_sharing_reservations'),
                                    'sharing_reservations', ['reservation_id'], ['id'])
    with op.batch_alter_table('sharing_damage_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_changed_at', forecourt.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table('sharing_reservations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stolen_at', forecourt.core.db.UTCDateTime(), nullable=True))

    bind = op.get_bind()
    bind.execute(sa.text("UPDATE sharing_damage_reports SET status = 'reported' WHERE status = 'open'"))
    bind.execute(sa.text("UPDATE sharing_damage_reports SET status = 'fixed' WHERE status = 'repaired'"))
    # Earlier photos: their booking from the inspection, their checksum from the bytes kept.
    rows = bind.execute(sa.text(
        "SELECT p.id, p.data, i.reservation_id FROM sharing_photos p "
        "LEFT JOIN sharing_inspections i ON i.id = p.inspection_id")).all()
    for photo_id, data, reservation_id in rows:
        bind.execute(sa.text("UPDATE sharing_photos SET reservation_id = :r, checksum = :s, "
                             "size_bytes = :n WHERE id = :id"),
                     {"r": reservation_id, "id": photo_id,
                      "s": hashlib.sha256(data).hexdigest() if data else None, "n": len(data) if data else None})


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE sharing_damage_reports SET status = 'open' WHERE status IN ('reported', 'repairing')"))
    bind.execute(sa.text("UPDATE sharing_damage_reports SET status = 'repaired' WHERE status = 'fixed'"))
    # Photos only in the photo store cannot go back into a NOT NULL column: they are dropped.
    bind.execute(sa.text("DELETE FROM sharing_photos WHERE data IS NULL"))
    with op.batch_alter_table('sharing_reservations', schema=None) as batch_op:
        batch_op.drop_column('stolen_at')
    with op.batch_alter_table('sharing_damage_reports', schema=None) as batch_op:
        batch_op.drop_column('status_changed_at')
    with op.batch_alter_table('sharing_photos', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sharing_photos_reservation_id_sharing_reservations'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sharing_photos_reservation_id'))
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('height')
        batch_op.drop_column('width')
        batch_op.drop_column('size_bytes')
        batch_op.drop_column('checksum')
        batch_op.drop_column('reservation_id')
