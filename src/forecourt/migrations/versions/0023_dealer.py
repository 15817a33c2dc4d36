"""follow-ups from the customer 360

* ``sales_follow_ups``: a task for one customer with a due day, assigned to a staff member of the
  organization, written under a consent purpose and shown only under it.

Revision ID: 0023_dealer
Revises: 0022_markets
Create Date: 2026-12-06 23:15:00
"""
from alembic import op
import sqlalchemy as sa

from forecourt.core.db import UTCDateTime


revision = '0023_dealer'
down_revision = '0022_markets'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sales_follow_ups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=40), nullable=False),
        sa.Column('assigned_user_id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('done_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
        sa.ForeignKeyConstraint(['assigned_user_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('sales_follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_follow_ups_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_follow_ups_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_follow_ups_assigned_user_id'), ['assigned_user_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('sales_follow_ups')
