"""recall campaigns are closed or superseded with their figures frozen

* ``recall_campaigns.outcome``: ``closed`` or ``superseded`` once the carmaker ends the campaign
  (``closed_at`` already says when); ``superseded_by_id`` the campaign that replaces it;
  ``closing_reason`` the carmaker's words.
* ``recall_campaigns.affected_at_close`` / ``remedied_at_close`` / ``open_at_close``: the completion
  figures as they stood at closing, kept as the campaign's final record.

Revision ID: 0024_recalls
Revises: 0023_dealer
Create Date: 2026-12-06 22:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0024_recalls'
down_revision = '0023_dealer'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('recall_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('superseded_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('closing_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('affected_at_close', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('remedied_at_close', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('open_at_close', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_recall_campaigns_superseded_by_id_recall_campaigns'),
                                    'recall_campaigns', ['superseded_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('recall_campaigns', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_recall_campaigns_superseded_by_id_recall_campaigns'),
                                 type_='foreignkey')
        batch_op.drop_column('open_at_close')
        batch_op.drop_column('remedied_at_close')
        batch_op.drop_column('affected_at_close')
        batch_op.drop_column('closing_reason')
        batch_op.drop_column('superseded_by_id')
        batch_op.drop_column('outcome')
