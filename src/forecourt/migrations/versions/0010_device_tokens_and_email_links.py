"""phones report with a token; refusals remember the client; links sent by e-mail

* ``telematics_devices.secret_digest`` is looked up on every phone report (the token in the URL
  the Traccar Client reports to), so it gets an index.
* ``telematics_rejections.address``: the client address of a refused report, so failed attempts are
  limited per client.
* ``customer_email_links``: links that prove their reader controls a customer's e-mail address
  (claiming the record and setting a password; confirming that a dealer may make contact).

Phones paired before this revision keep the secret they were given at pairing as their token;
an owner who no longer has it pairs the phone again, which gives a new one.

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-24 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import forecourt.core.db


revision = '0010'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('telematics_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telematics_devices_secret_digest'), ['secret_digest'], unique=False)
    with op.batch_alter_table('telematics_rejections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_telematics_rejections_address_at', ['address', 'at'], unique=False)

    op.create_table('customer_email_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('created_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                            name=op.f('fk_customer_email_links_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                            name=op.f('fk_customer_email_links_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_email_links')),
    sa.UniqueConstraint('digest', name=op.f('uq_customer_email_links_digest'))
    )
    with op.batch_alter_table('customer_email_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_email_links_customer_id'), ['customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer_email_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_email_links_customer_id'))
    op.drop_table('customer_email_links')
    with op.batch_alter_table('telematics_rejections', schema=None) as batch_op:
        batch_op.drop_index('ix_telematics_rejections_address_at')
        batch_op.drop_column('address')
    with op.batch_alter_table('telematics_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telematics_devices_secret_digest'))
