"""every grant a message from several senders rests on

``outbox_messages.consent_grants`` lists the (organization, purpose) grants of a coordinated
message, so its e-mail carries a one-click unsubscribe link for each sender and purpose, and the
List-Unsubscribe header's link withdraws them all. Older rows keep ``consent_organization_id``.

Revision ID: 0028_eng20b
Revises: 0028_scale22
Create Date: 2026-12-07 05:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0028_eng20b'
down_revision = '0028_scale22'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_grants', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('consent_grants')
