"""a privacy notice per language, and the language a consent receipt was read in

* ``notice_texts``: each notice version's title and body in each language (en, de, ko). Existing
  versions get their English text from ``notices``; ``ensure_catalogue`` adds the other languages.
* ``consent_ledger.language``: the language of the notice text the customer read. Added as a plain
  column (no table rebuild), so SQLite keeps the ledger's append-only triggers; old receipts stay empty.

Revision ID: 0022_markets
Revises: 0021_funnel
Create Date: 2026-12-06 22:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_markets'
down_revision = '0021_funnel'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notice_texts',
        sa.Column('notice_version', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['notice_version'], ['notices.version'], ondelete='CASCADE',
                                name=op.f('fk_notice_texts_notice_version_notices')),
        sa.PrimaryKeyConstraint('notice_version', 'language', name=op.f('pk_notice_texts')),
    )
    op.execute("INSERT INTO notice_texts (notice_version, language, title, body) "
               "SELECT version, 'en', title, body FROM notices")
    op.add_column('consent_ledger', sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column('consent_ledger', 'language')
    else:  # SQLite drops a column in place (3.35+) without rebuilding the table and losing its triggers
        op.execute("ALTER TABLE consent_ledger DROP COLUMN language")
    op.drop_table('notice_texts')
