"""e-mail with one-click unsubscribe, dispatch notices by signed webhook, providers' answers

``outbox_messages.consent_organization_id`` names whose grant a consent-based message rests on,
so its List-Unsubscribe link withdraws exactly that grant. ``assist_provider_endpoints`` holds a
provider's webhook URL and signing secret; ``assist_dispatches`` records the provider's answer.

Revision ID: 0015
Revises: 0007
Create Date: 2026-11-24 09:00:00
"""
import sqlalchemy as sa
from alembic import op

from forecourt.core.db import UTCDateTime

revision = '0015'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_organization_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_consent_organization_id_organizations'),
                                    'organizations', ['consent_organization_id'], ['id'])
    with op.batch_alter_table('assist_dispatches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('answered_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('answer_note', sa.String(length=500), nullable=True))
    op.create_table(
        'assist_provider_endpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_assist_provider_endpoints_organization_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_assist_provider_endpoints')),
        sa.UniqueConstraint('organization_id', name=op.f('uq_assist_provider_endpoints_organization_id')),
    )


def downgrade() -> None:
    op.drop_table('assist_provider_endpoints')
    with op.batch_alter_table('assist_dispatches', schema=None) as batch_op:
        batch_op.drop_column('answer_note')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('answer')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_consent_organization_id_organizations'),
                                 type_='foreignkey')
        batch_op.drop_column('consent_organization_id')
