"""every deal remembers the stages it has been in, for the pipeline funnel

``sales_opportunities.stages_reached`` (",new,qualified,offer,") is filled from each deal's stage
changes and added at the end of the two covering indexes led by ``created_at`` and by
``dealer_id, created_at``, so the funnel (how far each deal of the period got) is read from the index
the other dashboards already scan instead of one stage-change lookup per deal. From now on the ORM
keeps it as stage changes are written (``sales.models``).

Revision ID: 0028_pipe22
Revises: 0028_photo21
Create Date: 2026-12-07 05:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0028_pipe22'
down_revision = '0028_photo21'
branch_labels = None
depends_on = None

CREATED = ['created_at', 'dealer_id', 'owner_user_id', 'model_id', 'status', 'stage_code', 'amount',
           'stage_entered_at', 'expected_close', 'id']
DEALER_CREATED = ['dealer_id', 'created_at', 'status', 'model_id', 'owner_user_id', 'stage_code', 'amount',
                  'stage_entered_at', 'expected_close', 'id']


def _indexes(extra: list[str]) -> None:
    op.drop_index('ix_sales_opportunities_created', table_name='sales_opportunities')
    op.drop_index('ix_sales_opportunities_dealer_created', table_name='sales_opportunities')
    op.create_index('ix_sales_opportunities_created', 'sales_opportunities', CREATED + extra)
    op.create_index('ix_sales_opportunities_dealer_created', 'sales_opportunities', DEALER_CREATED + extra)


def upgrade() -> None:
    op.add_column('sales_opportunities', sa.Column('stages_reached', sa.Text(), nullable=False, server_default=','))
    if op.get_bind().dialect.name == 'postgresql':
        codes = "SELECT string_agg(DISTINCT c.to_stage, ',') FROM sales_stage_changes c"
    else:
        codes = "SELECT group_concat(DISTINCT c.to_stage) FROM sales_stage_changes c"
    op.execute(f"UPDATE sales_opportunities SET stages_reached = COALESCE(',' || ({codes} "
               "WHERE c.opportunity_id = sales_opportunities.id) || ',', ',')")
    _indexes(['stages_reached'])


def downgrade() -> None:
    _indexes([])
    # SQLite (3.35 on) drops a column no index names in place; a batch copy would trip the stage changes' key
    op.drop_column('sales_opportunities', 'stages_reached')
