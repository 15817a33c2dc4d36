"""the pipeline's monthly rollup of deals started and closed, and an index of the open deals

``sales_rollup_started`` counts deals by the month they were created (UTC), dealer, rep, model, status,
stage and the stages they have been in; ``sales_rollup_closed`` counts won and lost deals by the month they
closed, with their value in cents and the milliseconds to a win; ``sales_rollup_closed_detail`` counts
the same by the reason lost or the whole days a win took. All three are filled here from the existing
deals, with the arithmetic ``sales.rollup`` uses as it keeps them from now on.
``ix_sales_opportunities_open`` holds the open deals alone, whose ages the dashboards read. Going back
drops the tables and the index.

Revision ID: 0029_pipe23
Revises: 0028_eng20b
Create Date: 2026-12-07 09:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0029_pipe23'
down_revision = '0028_eng20b'
branch_labels = None
depends_on = None

KEY = ['dealer_id', 'month', 'owner_user_id', 'model_id', 'status']
OPEN = ['dealer_id', 'created_at', 'owner_user_id', 'model_id', 'stage_code', 'stage_entered_at', 'expected_close',
        'amount', 'status']


def _sql(dialect: str) -> dict[str, str]:
    """Each table counted from the deals. The month of a moment, whole days and milliseconds from opening to
    closing and whole cents are written as ``core.dialects`` writes them."""
    if dialect == 'postgresql':
        def month(column: str) -> str:
            return f"to_char(timezone('UTC', {column}), 'YYYY-MM')"
        days = "CAST(floor(extract(epoch FROM closed_at - created_at) / 86400.0) AS INTEGER)"
        ms = "CAST(round(extract(epoch FROM closed_at - created_at) * 1000) AS BIGINT)"
        cents = "CAST(round(amount * 100) AS BIGINT)"
    else:
        def month(column: str) -> str:
            return f"substr({column}, 1, 7)"
        days = "CAST(julianday(closed_at) - julianday(created_at) AS INTEGER)"
        ms = "CAST(round((julianday(closed_at) - julianday(created_at)) * 86400000) AS INTEGER)"
        cents = "CAST(round(amount * 100) AS INTEGER)"
    who = "dealer_id, {month}, COALESCE(owner_user_id, 0), COALESCE(model_id, 0), status"
    started = who.format(month=month('created_at')) + ", stage_code, stages_reached"
    closed = who.format(month=month('closed_at'))
    detail = (closed + ", CASE WHEN status = 'won' THEN '' ELSE COALESCE(lost_reason, 'other') END"
              + f", CASE WHEN status = 'won' THEN {days} ELSE 0 END")
    is_closed = "status IN ('won', 'lost') AND closed_at IS NOT NULL"
    return {
        'started': f"INSERT INTO sales_rollup_started ({', '.join(KEY)}, stage_code, stages_reached, deals) "
                   f"SELECT {started}, count(*) FROM sales_opportunities GROUP BY {started}",
        'closed': f"INSERT INTO sales_rollup_closed ({', '.join(KEY)}, deals, amount_cents, cycle_ms) "
                  f"SELECT {closed}, count(*), sum({cents}), sum(CASE WHEN status = 'won' THEN {ms} ELSE 0 END) "
                  f"FROM sales_opportunities WHERE {is_closed} GROUP BY {closed}",
        'detail': f"INSERT INTO sales_rollup_closed_detail ({', '.join(KEY)}, lost_reason, cycle_days, deals) "
                  f"SELECT {detail}, count(*) FROM sales_opportunities WHERE {is_closed} GROUP BY {detail}",
    }


def _key() -> list[sa.Column]:
    return [sa.Column('dealer_id', sa.Integer(), nullable=False), sa.Column('month', sa.String(7), nullable=False),
            sa.Column('owner_user_id', sa.Integer(), nullable=False), sa.Column('model_id', sa.Integer(), nullable=False),
            sa.Column('status', sa.String(8), nullable=False)]


def upgrade() -> None:
    op.create_table('sales_rollup_started', *_key(),
                    sa.Column('stage_code', sa.String(32), nullable=False),
                    sa.Column('stages_reached', sa.Text(), nullable=False),
                    sa.Column('deals', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('month', 'status', 'stage_code', 'stages_reached', 'dealer_id', 'owner_user_id',
                                            'model_id', name='pk_sales_rollup_started'),
                    sqlite_with_rowid=False)
    op.create_table('sales_rollup_closed', *_key(),
                    sa.Column('deals', sa.Integer(), nullable=False),
                    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
                    sa.Column('cycle_ms', sa.BigInteger(), nullable=False),
                    sa.PrimaryKeyConstraint(*KEY, name='pk_sales_rollup_closed'),
                    sqlite_with_rowid=False)
    op.create_table('sales_rollup_closed_detail', *_key(),
                    sa.Column('lost_reason', sa.String(32), nullable=False),
                    sa.Column('cycle_days', sa.Integer(), nullable=False),
                    sa.Column('deals', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('status', 'lost_reason', 'cycle_days', 'month', 'dealer_id', 'owner_user_id',
                                            'model_id', name='pk_sales_rollup_closed_detail'),
                    sqlite_with_rowid=False)
    op.create_index('ix_sales_opportunities_open', 'sales_opportunities', OPEN,
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
    bind = op.get_bind()
    for statement in _sql(bind.dialect.name).values():
        op.execute(statement)
    if bind.dialect.name == 'sqlite' and bind.execute(sa.text(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
        # statistics for the new index beside the others', or SQLite's planner keeps to those it knows
        op.execute('ANALYZE ix_sales_opportunities_open')


def downgrade() -> None:
    op.drop_index('ix_sales_opportunities_open', table_name='sales_opportunities')
    op.drop_table('sales_rollup_closed_detail')
    op.drop_table('sales_rollup_closed')
    op.drop_table('sales_rollup_started')
