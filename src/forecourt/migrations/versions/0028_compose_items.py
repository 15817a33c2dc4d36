"""an offer in a message is indexed once: the unique (message, offer) pair serves lookups by message

Composing a million drivers writes more than a million message items; each index on them costs
every one of those rows. ``ix_engagement_message_items_message_id`` repeated the leading column
of ``uq_engagement_message_items_once`` (message_id, offer_id), which answers the same lookups.

Revision ID: 0028_compose_items
Revises: 0027_partitions
Create Date: 2026-12-07 05:40:00
"""
from alembic import op


revision = '0028_compose_items'
down_revision = '0027_partitions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_engagement_message_items_message_id", table_name="engagement_message_items")


def downgrade() -> None:
    op.create_index("ix_engagement_message_items_message_id", "engagement_message_items", ["message_id"])
