"""payments: a ledger of what was asked for and received; commission rules retire

Money received is no longer a column a route can set. ``payments`` holds requests for money (an
order's deposit or balance, an On Call renewal) and ``payment_entries`` every movement on them
(receipts, reversals, refunds, deposits held and released), each recorded once by the key of the
fact. The order's paid amount and payment state are read from the ledger, so ``sales_orders.paid``
and ``payment_state`` go, and ``sales_payments`` is carried over as receipts and refunds. A bought
On Call period points at its payment instead of a reference the client chose. Commission rules get
a retirement date.

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-24 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import forecourt.core.db


revision = '0011'
down_revision = '0015'
branch_labels = None
depends_on = None

CARRIED = "carried over from the test-mode payments"


def upgrade() -> None:
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('provider_reference', sa.String(length=255), nullable=True),
    sa.Column('purpose', sa.String(length=24), nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('payee_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('capture', sa.String(length=9), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('client_secret', sa.String(length=255), nullable=True),
    sa.Column('created_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_payments_customer_id_customers')),
    sa.ForeignKeyConstraint(['payee_id'], ['organizations.id'], name=op.f('fk_payments_payee_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('provider_reference', name=op.f('uq_payments_provider_reference')),
    sa.UniqueConstraint('reference', name=op.f('uq_payments_reference'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_payee_id'), ['payee_id'], unique=False)
        batch_op.create_index('ix_payments_subject', ['subject_kind', 'subject_id'], unique=False)

    op.create_table('payment_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('provider_reference', sa.String(length=255), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('reverses_entry_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_entries_payment_id_payments')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_payment_entries_recorded_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reverses_entry_id'], ['payment_entries.id'], name=op.f('fk_payment_entries_reverses_entry_id_payment_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_entries')),
    sa.UniqueConstraint('provider', 'provider_reference', name=op.f('uq_payment_entries_provider_provider_reference')),
    sa.UniqueConstraint('reverses_entry_id', name=op.f('uq_payment_entries_reverses_entry_id'))
    )
    with op.batch_alter_table('payment_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_entries_payment_id'), ['payment_id'], unique=False)

    with op.batch_alter_table('assist_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('sales_commission_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_on', sa.Date(), nullable=True))

    _carry_over(op.get_bind())

    with op.batch_alter_table('assist_subscriptions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_assist_subscriptions_payment_reference', type_='unique')
        batch_op.drop_column('payment_reference')
        batch_op.create_unique_constraint(batch_op.f('uq_assist_subscriptions_payment_id'), ['payment_id'])
        batch_op.create_foreign_key(batch_op.f('fk_assist_subscriptions_payment_id_payments'), 'payments',
                                    ['payment_id'], ['id'])
    # sales_payments goes first: SQLite rebuilds sales_orders by copying it, and the old rows pointing
    # at it would refuse the drop of the original table.
    with op.batch_alter_table('sales_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_payments_order_id'))
    op.drop_table('sales_payments')
    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.drop_column('payment_state')
        batch_op.drop_column('paid')


def _carry_over(bind) -> None:
    """Test-mode payments become receipts (and refunds) of the manual provider, so no order or
    renewal changes its state; they name no cashier, because none recorded them."""
    meta = sa.MetaData()
    payments = sa.Table('payments', meta, autoload_with=bind)
    entries = sa.Table('payment_entries', meta, autoload_with=bind)
    orders = sa.Table('sales_orders', meta, autoload_with=bind)
    old = sa.Table('sales_payments', meta, autoload_with=bind)
    subscriptions = sa.Table('assist_subscriptions', meta, autoload_with=bind)
    organizations = sa.Table('organizations', meta, autoload_with=bind)

    def add(values: dict, entry: dict) -> int:
        payment_id = bind.execute(payments.insert().values(
            provider='manual', currency='EUR', capture='automatic', status='paid',
            updated_at=values['created_at'], **values).returning(payments.c.id)).scalar_one()
        bind.execute(entries.insert().values(payment_id=payment_id, provider='manual', method='', note=CARRIED,
                                             details={}, **entry))
        return payment_id

    rows = bind.execute(sa.select(old, orders.c.customer_id, orders.c.dealer_id)
                        .join(orders, orders.c.id == old.c.order_id).order_by(old.c.order_id, old.c.id)).mappings()
    received: dict[int, list[list]] = {}
    for row in rows:
        if row['kind'] in ('deposit', 'balance'):
            payment_id = add(dict(reference=f"PAY-S{row['id']:06d}", purpose=f"order_{row['kind']}",
                                  subject_kind='order', subject_id=row['order_id'], customer_id=row['customer_id'],
                                  payee_id=row['dealer_id'], amount=row['amount'], created_at=row['received_at']),
                             dict(kind='receipt', amount=row['amount'], at=row['received_at'],
                                  provider_reference=f"carried-over:{row['reference']}"))
            received.setdefault(row['order_id'], []).append([payment_id, row['amount']])
            continue
        left = row['amount']  # a refund goes back against what was received, oldest first
        for index, (payment_id, amount) in enumerate(received.get(row['order_id'], [])):
            share = min(left, amount)
            if share <= 0:
                continue
            bind.execute(entries.insert().values(
                payment_id=payment_id, kind='refund', amount=share, provider='manual', method='', note=CARRIED,
                details={}, at=row['received_at'], provider_reference=f"carried-over:{row['reference']}:{index}"))
            received[row['order_id']][index][1] = amount - share
            left -= share

    carmaker = bind.execute(sa.select(organizations.c.id).order_by(
        (organizations.c.kind != 'carmaker'), organizations.c.id).limit(1)).scalar()
    bought = bind.execute(sa.select(subscriptions).where(subscriptions.c.payment_reference.is_not(None))).mappings()
    for row in bought:
        if carmaker is None:
            break
        payment_id = add(dict(reference=f"PAY-R{row['id']:06d}", purpose=f"on_call_{row['plan']}",
                              subject_kind='subscription', subject_id=row['id'], customer_id=row['customer_id'],
                              payee_id=carmaker, amount=row['price'], created_at=row['created_at']),
                         dict(kind='receipt', amount=row['price'], at=row['created_at'],
                              provider_reference=f"carried-over:{row['payment_reference']}"))
        bind.execute(subscriptions.update().where(subscriptions.c.id == row['id']).values(payment_id=payment_id))


def downgrade() -> None:
    op.create_table('sales_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('received_at', forecourt.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], name=op.f('fk_sales_payments_order_id_sales_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_payments')),
    sa.UniqueConstraint('reference', name=op.f('uq_sales_payments_reference'))
    )
    with op.batch_alter_table('sales_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_payments_order_id'), ['order_id'], unique=False)
    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paid', sa.Numeric(precision=12, scale=2), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('payment_state', sa.String(length=16), nullable=False,
                                      server_default='awaiting_deposit'))
    with op.batch_alter_table('assist_subscriptions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_assist_subscriptions_payment_id_payments'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_assist_subscriptions_payment_id'), type_='unique')
        batch_op.add_column(sa.Column('payment_reference', sa.String(length=64), nullable=True))
        batch_op.drop_column('payment_id')
        batch_op.create_unique_constraint('uq_assist_subscriptions_payment_reference', ['payment_reference'])
    with op.batch_alter_table('sales_commission_rules', schema=None) as batch_op:
        batch_op.drop_column('retired_on')
    with op.batch_alter_table('payment_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_entries_payment_id'))
    op.drop_table('payment_entries')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_subject')
        batch_op.drop_index(batch_op.f('ix_payments_payee_id'))
        batch_op.drop_index(batch_op.f('ix_payments_customer_id'))
    op.drop_table('payments')
