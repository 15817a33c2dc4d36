"""coordinated engagement: occasions, partners' offers, one message per occasion and driver

* ``engagement_occasions``: a moment in a car's life with one owner, once per car, owner, kind, window.
* ``engagement_offers``: what an organization offers at kinds of occasions, with its eligibility rule.
* ``engagement_messages`` / ``engagement_message_items``: one message per occasion and driver, and the
  offers in it with their senders; ``engagement_responses`` what the driver did with it.
* ``engagement_contacts`` / ``engagement_contact_choices``: what the contact-pressure cap counts, and
  the driver's own choice of channels and frequency.
* ``engagement_compose_runs``: a background composition and its progress.
* ``markets.marketing_per_month``: the cap of marketing messages per driver and channel (default 2).

Revision ID: 0025_engagement
Revises: 0024_recalls
Create Date: 2026-12-07 01:28:54.956411
"""
from alembic import op
import sqlalchemy as sa
import forecourt.core.db


revision = '0025_engagement'
down_revision = '0025_routing_reasons'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('engagement_compose_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('started_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_compose_runs'))
    )
    op.create_table('engagement_contact_choices',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.Column('per_month', sa.Integer(), nullable=True),
    sa.Column('updated_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_engagement_contact_choices_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_engagement_contact_choices'))
    )
    op.create_table('engagement_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('topic', sa.String(length=32), nullable=False),
    sa.Column('legal', sa.Boolean(), nullable=False),
    sa.Column('at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_engagement_contacts_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_contacts'))
    )
    with op.batch_alter_table('engagement_contacts', schema=None) as batch_op:
        batch_op.create_index('ix_engagement_contacts_who', ['customer_id', 'channel', 'at'], unique=False)

    op.create_table('engagement_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('occasion_kinds', sa.JSON(), nullable=False),
    sa.Column('models', sa.JSON(), nullable=False),
    sa.Column('markets', sa.JSON(), nullable=False),
    sa.Column('min_age_years', sa.Integer(), nullable=True),
    sa.Column('max_age_years', sa.Integer(), nullable=True),
    sa.Column('min_km', sa.Integer(), nullable=True),
    sa.Column('max_km', sa.Integer(), nullable=True),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('benefit', sa.String(length=120), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('action_code', sa.String(length=32), nullable=True),
    sa.Column('relevance', sa.Integer(), nullable=False),
    sa.Column('created_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_engagement_offers_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_offers'))
    )
    with op.batch_alter_table('engagement_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_offers_organization_id'), ['organization_id'], unique=False)

    op.create_table('engagement_occasions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('window_starts_on', sa.Date(), nullable=False),
    sa.Column('window_ends_on', sa.Date(), nullable=False),
    sa.Column('market', sa.String(length=2), nullable=False),
    sa.Column('model_code', sa.String(length=32), nullable=False),
    sa.Column('car_age_years', sa.Integer(), nullable=False),
    sa.Column('odometer_km', sa.Integer(), nullable=True),
    sa.Column('legal', sa.Boolean(), nullable=False),
    sa.Column('arm', sa.String(length=12), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('detected_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_engagement_occasions_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_engagement_occasions_vehicle_id_vehicles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_occasions')),
    sa.UniqueConstraint('vehicle_id', 'customer_id', 'kind', 'window_starts_on', name='uq_engagement_occasions_once')
    )
    with op.batch_alter_table('engagement_occasions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_occasions_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_engagement_occasions_kind_window', ['kind', 'window_starts_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagement_occasions_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagement_occasions_vehicle_id'), ['vehicle_id'], unique=False)

    op.create_table('engagement_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occasion_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('legal', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('send_after', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('composed_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('channels', sa.String(length=32), nullable=False),
    sa.Column('opened_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_engagement_messages_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['occasion_id'], ['engagement_occasions.id'], name=op.f('fk_engagement_messages_occasion_id_engagement_occasions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_messages')),
    sa.UniqueConstraint('occasion_id', 'customer_id', name='uq_engagement_messages_one')
    )
    with op.batch_alter_table('engagement_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_messages_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_engagement_messages_due', ['status', 'send_after'], unique=False)

    op.create_table('engagement_message_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('occasion_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['engagement_messages.id'], name=op.f('fk_engagement_message_items_message_id_engagement_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['occasion_id'], ['engagement_occasions.id'], name=op.f('fk_engagement_message_items_occasion_id_engagement_occasions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offer_id'], ['engagement_offers.id'], name=op.f('fk_engagement_message_items_offer_id_engagement_offers')),
    sa.ForeignKeyConstraint(['sender_id'], ['organizations.id'], name=op.f('fk_engagement_message_items_sender_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_message_items')),
    sa.UniqueConstraint('message_id', 'offer_id', name='uq_engagement_message_items_once')
    )
    with op.batch_alter_table('engagement_message_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_message_items_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagement_message_items_offer_id'), ['offer_id'], unique=False)

    op.create_table('engagement_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('revenue', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_engagement_responses_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['engagement_message_items.id'], name=op.f('fk_engagement_responses_item_id_engagement_message_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['engagement_messages.id'], name=op.f('fk_engagement_responses_message_id_engagement_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_responses'))
    )
    with op.batch_alter_table('engagement_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_responses_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_engagement_responses_message_id'), ['message_id'], unique=False)
    with op.batch_alter_table('markets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marketing_per_month', sa.Integer(), nullable=False, server_default='2'))


def downgrade() -> None:
    with op.batch_alter_table('markets', schema=None) as batch_op:
        batch_op.drop_column('marketing_per_month')
    for table in ('engagement_responses', 'engagement_message_items', 'engagement_messages', 'engagement_occasions',
                  'engagement_offers', 'engagement_contacts', 'engagement_contact_choices', 'engagement_compose_runs'):
        op.drop_table(table)
