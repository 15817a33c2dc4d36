"""a staff member's language

* ``users.language``: the language a staff member reads the workspace in (en, de, ko); empty means
  their browser's. Customers keep theirs on ``customers.language``.

Revision ID: 0019
Revises: 0009
Create Date: 2026-12-06 18:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
