"""lead conversion and providers' capacity

* ``ix_sales_opportunities_lead`` (lead_id, created_at): a lead's first deal, read by the lead
  conversion figures without touching the deals table.
* ``ix_sales_leads_created`` (created_at, dealer, source, model, status, id): the period's leads,
  read from the index alone.
* ``organizations.dispatch_capacity``: how many cases a provider takes at once (NULL: no limit);
  the On Call console says "at capacity" when that many of its dispatches are on the way.

Revision ID: 0021_funnel
Revises: 0020_lifecycle
Create Date: 2026-12-06 22:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021_funnel'
down_revision = '0020_lifecycle'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sales_opportunities', schema=None) as batch_op:
        batch_op.create_index('ix_sales_opportunities_lead', ['lead_id', 'created_at'], unique=False)
    with op.batch_alter_table('sales_leads', schema=None) as batch_op:
        batch_op.create_index('ix_sales_leads_created', ['created_at', 'dealer_id', 'source', 'model_id', 'status',
                                                         'id'], unique=False)
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispatch_capacity', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('dispatch_capacity')
    with op.batch_alter_table('sales_leads', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_leads_created')
    with op.batch_alter_table('sales_opportunities', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_opportunities_lead')
