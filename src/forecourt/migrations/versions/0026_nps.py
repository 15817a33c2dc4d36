"""NPS: surveys after touchpoints, answers, their topics and detractors' follow-ups

* ``nps_surveys``: one invitation per touchpoint (``subject_key`` unique), the link's token kept as a
  SHA-256 digest, the responsible organization, and the outbox message that carried it.
* ``nps_responses``: score 0–10, the words, their language (one per survey).
* ``nps_topics``: an answer's topics, by keyword or set by staff.
* ``nps_follow_ups``: a detractor's task with its target, note, and escalation to the carmaker.

Revision ID: 0026_nps
Revises: 0024_recalls
Create Date: 2026-12-07 01:40:00
"""
from alembic import op
import sqlalchemy as sa

from forecourt.core.db import UTCDateTime

revision = '0026_nps'
down_revision = '0025_commands'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'nps_surveys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('touchpoint', sa.String(length=24), nullable=False),
        sa.Column('subject_key', sa.String(length=80), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('vehicle_id', sa.Integer(), nullable=True),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('responsible', sa.String(length=12), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('answered_at', UTCDateTime(), nullable=True),
        sa.Column('outbox_message_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_nps_surveys_customer_id_customers')),
        sa.ForeignKeyConstraint(['vehicle_id'], ['vehicles.id'], name=op.f('fk_nps_surveys_vehicle_id_vehicles')),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_nps_surveys_organization_id_organizations')),
        sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'],
                                name=op.f('fk_nps_surveys_outbox_message_id_outbox_messages')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_nps_surveys')),
        sa.UniqueConstraint('subject_key', name=op.f('uq_nps_surveys_subject_key')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_nps_surveys_token_digest')),
    )
    op.create_index(op.f('ix_nps_surveys_customer_id'), 'nps_surveys', ['customer_id'])
    op.create_index(op.f('ix_nps_surveys_organization_id'), 'nps_surveys', ['organization_id'])
    op.create_index('ix_nps_surveys_org_created', 'nps_surveys', ['organization_id', 'created_at'])
    op.create_table(
        'nps_responses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('why', sa.Text(), nullable=True),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('answered_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['survey_id'], ['nps_surveys.id'], name=op.f('fk_nps_responses_survey_id_nps_surveys')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_nps_responses')),
        sa.UniqueConstraint('survey_id', name=op.f('uq_nps_responses_survey_id')),
    )
    op.create_table(
        'nps_topics',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('response_id', sa.Integer(), nullable=False),
        sa.Column('topic', sa.String(length=24), nullable=False),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('set_by_user_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['response_id'], ['nps_responses.id'],
                                name=op.f('fk_nps_topics_response_id_nps_responses')),
        sa.ForeignKeyConstraint(['set_by_user_id'], ['users.id'], name=op.f('fk_nps_topics_set_by_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_nps_topics')),
    )
    op.create_index(op.f('ix_nps_topics_response_id'), 'nps_topics', ['response_id'])
    op.create_table(
        'nps_follow_ups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('opened_at', UTCDateTime(), nullable=False),
        sa.Column('due_at', UTCDateTime(), nullable=False),
        sa.Column('closed_at', UTCDateTime(), nullable=True),
        sa.Column('closed_by_user_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('escalated_at', UTCDateTime(), nullable=True),
        sa.Column('escalated_to_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['survey_id'], ['nps_surveys.id'], name=op.f('fk_nps_follow_ups_survey_id_nps_surveys')),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_nps_follow_ups_organization_id_organizations')),
        sa.ForeignKeyConstraint(['closed_by_user_id'], ['users.id'],
                                name=op.f('fk_nps_follow_ups_closed_by_user_id_users')),
        sa.ForeignKeyConstraint(['escalated_to_id'], ['organizations.id'],
                                name=op.f('fk_nps_follow_ups_escalated_to_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_nps_follow_ups')),
        sa.UniqueConstraint('survey_id', name=op.f('uq_nps_follow_ups_survey_id')),
    )
    op.create_index(op.f('ix_nps_follow_ups_organization_id'), 'nps_follow_ups', ['organization_id'])
    op.create_index('ix_nps_follow_ups_open', 'nps_follow_ups', ['closed_at', 'due_at'])


def downgrade() -> None:
    op.drop_index('ix_nps_follow_ups_open', table_name='nps_follow_ups')
    op.drop_index(op.f('ix_nps_follow_ups_organization_id'), table_name='nps_follow_ups')
    op.drop_table('nps_follow_ups')
    op.drop_index(op.f('ix_nps_topics_response_id'), table_name='nps_topics')
    op.drop_table('nps_topics')
    op.drop_table('nps_responses')
    op.drop_index('ix_nps_surveys_org_created', table_name='nps_surveys')
    op.drop_index(op.f('ix_nps_surveys_organization_id'), table_name='nps_surveys')
    op.drop_index(op.f('ix_nps_surveys_customer_id'), table_name='nps_surveys')
    op.drop_table('nps_surveys')
