"""markets: currencies, time zones, phones, names and addresses per country; money keeps its currency

``markets`` holds each country the network serves (Germany, Korea). Organizations belong to a
market and have their own IANA time zone; customers may name a market and a time zone. Every
stored amount gets a ``currency`` beside it (rows already there are euros), trims and options get
prices per market, and On Call prices become exact decimals instead of floating point.

Revision ID: 0017
Revises: 0007
Create Date: 2026-12-07 12:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0010'
branch_labels = None
depends_on = None

MARKETS = [
    dict(code='DE', name='Germany', currency='EUR', language='de', time_zone='Europe/Berlin', phone_region='DE',
         name_order='given_first', address_format=['{street}', '{postcode} {city}'], postcode_pattern=r'\d{5}',
         postcode_example='10435'),
    dict(code='KR', name='South Korea', currency='KRW', language='ko', time_zone='Asia/Seoul', phone_region='KR',
         name_order='family_first', address_format=['({postcode}) {city} {street}'], postcode_pattern=r'\d{5}',
         postcode_example='06236'),
]
CURRENCY_TABLES = ('trims', 'sales_options', 'sales_configurations', 'sales_opportunities', 'sales_quotes',
                   'sales_targets', 'sales_orders', 'sales_commission_rules', 'service_records', 'warranty_products',
                   'warranty_contracts', 'assist_subscription_terms', 'assist_subscriptions')
WIDER = (('sales_configurations', 'base_price'), ('sales_configurations', 'total_price'),
         ('sales_orders', 'price'), ('sales_orders', 'deposit'))
EXACT = (('assist_subscription_terms', 'renewal_price'), ('assist_subscriptions', 'price'))


def _currency() -> sa.Column:
    return sa.Column('currency', sa.String(length=3), nullable=False, server_default='EUR')


def upgrade() -> None:
    markets = op.create_table(
        'markets',
        sa.Column('code', sa.String(length=2), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('time_zone', sa.String(length=64), nullable=False),
        sa.Column('phone_region', sa.String(length=2), nullable=False),
        sa.Column('name_order', sa.String(length=16), nullable=False),
        sa.Column('address_format', sa.JSON(), nullable=False),
        sa.Column('postcode_pattern', sa.String(length=64), nullable=False),
        sa.Column('postcode_example', sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_markets')),
    )
    op.bulk_insert(markets, MARKETS)

    op.add_column('organizations', sa.Column('market', sa.String(length=2), nullable=False, server_default='DE'))
    op.add_column('organizations', sa.Column('time_zone', sa.String(length=64), nullable=False,
                                             server_default='Europe/Berlin'))
    op.create_index(op.f('ix_organizations_market'), 'organizations', ['market'], unique=False)
    op.execute("UPDATE organizations SET market = 'KR', time_zone = 'Asia/Seoul' WHERE country = 'KR'")
    op.add_column('customers', sa.Column('market', sa.String(length=2), nullable=True))
    op.add_column('customers', sa.Column('time_zone', sa.String(length=64), nullable=True))
    op.execute("UPDATE customers SET market = country WHERE country IN ('DE', 'KR')")

    for table in CURRENCY_TABLES:
        op.add_column(table, _currency())
    op.add_column('sales_configurations', sa.Column('market', sa.String(length=2), nullable=False,
                                                    server_default='DE'))
    if op.get_bind().dialect.name == 'postgresql':
        # SQLite keeps any number in any column; PostgreSQL needs room for won (no minor unit, big numbers)
        # and exact decimals where On Call prices were floating point.
        for table, column in WIDER:
            op.alter_column(table, column, type_=sa.Numeric(14, 2))
        for table, column in EXACT:
            op.alter_column(table, column, type_=sa.Numeric(12, 2), postgresql_using=f'round({column}::numeric, 2)')

    op.create_table(
        'trim_prices',
        sa.Column('trim_id', sa.Integer(), nullable=False),
        sa.Column('market', sa.String(length=2), nullable=False),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(['market'], ['markets.code'], name=op.f('fk_trim_prices_market_markets')),
        sa.ForeignKeyConstraint(['trim_id'], ['trims.id'], name=op.f('fk_trim_prices_trim_id_trims')),
        sa.PrimaryKeyConstraint('trim_id', 'market', name=op.f('pk_trim_prices')),
    )
    op.create_table(
        'sales_option_prices',
        sa.Column('option_id', sa.Integer(), nullable=False),
        sa.Column('market', sa.String(length=2), nullable=False),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(['market'], ['markets.code'], name=op.f('fk_sales_option_prices_market_markets')),
        sa.ForeignKeyConstraint(['option_id'], ['sales_options.id'],
                                name=op.f('fk_sales_option_prices_option_id_sales_options')),
        sa.PrimaryKeyConstraint('option_id', 'market', name=op.f('pk_sales_option_prices')),
    )


def downgrade() -> None:
    op.drop_table('sales_option_prices')
    op.drop_table('trim_prices')
    with op.batch_alter_table('sales_configurations', schema=None) as batch_op:
        batch_op.drop_column('market')
    for table in CURRENCY_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('currency')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
        batch_op.drop_column('market')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organizations_market'))
        batch_op.drop_column('time_zone')
        batch_op.drop_column('market')
    op.drop_table('markets')
