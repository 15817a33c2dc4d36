"""finance contracts: the loans and leases finance partners granted for cars

* ``sales_finance_contracts``: a finance partner's contract for one car and its owner (product, start,
  end, monthly amount), which times engagement's ``finance_ends`` occasion.

Revision ID: 0028_occ20
Revises: 0028_compose_items
Create Date: 2026-12-07 05:30:00
"""
from alembic import op
import sqlalchemy as sa
import forecourt.core.db


revision = '0028_occ20'
down_revision = '0028_compose_items'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sales_finance_contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('product', sa.String(length=12), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('monthly_amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='EUR', nullable=False),
    sa.Column('created_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sales_finance_contracts_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_sales_finance_contracts_organization_id_organizations')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_sales_finance_contracts_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_finance_contracts'))
    )
    with op.batch_alter_table('sales_finance_contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_finance_contracts_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_finance_contracts_ends_on'), ['ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_finance_contracts_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_finance_contracts_vehicle_id'), ['vehicle_id'], unique=False)


def downgrade() -> None:
    op.drop_table('sales_finance_contracts')
