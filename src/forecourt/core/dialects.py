"""SQL expressions that SQLite and PostgreSQL spell differently: days and milliseconds between two moments,
the month of a moment, whole cents of an amount.

Kept in one place so a figure computed as a deal is written (``sales.rollup``) and the same figure
computed from the stored deals (the pipeline's dashboards, a recount) use the very same arithmetic.
Each takes the session or connection the expression will run on; constants are written inline, so an
expression may stand in SELECT and GROUP BY alike (PostgreSQL must see them as one).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, cast, func, literal_column
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


def dialect(bind: Session | Connection) -> str:
    return (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name


def days_between(bind, later, earlier):
    """Fractional days from ``earlier`` to ``later``."""
    if dialect(bind) == "postgresql":
        return func.extract("epoch", later - earlier) / literal_column("86400.0")
    return func.julianday(later) - func.julianday(earlier)


def whole_days(bind, days):
    """Rounded down; the figures are in whole days, so medians come from a small histogram."""
    if dialect(bind) == "postgresql":
        return cast(func.floor(days), Integer)
    return cast(days, Integer)  # never negative here, so truncation is the floor


def milliseconds_between(bind, later, earlier):
    """Whole milliseconds from ``earlier`` to ``later`` (SQLite keeps moments to the millisecond in its date
    arithmetic), an integer so that sums of them add and subtract without rounding drift."""
    if dialect(bind) == "postgresql":
        return cast(func.round(func.extract("epoch", later - earlier) * literal_column("1000")), BigInteger)
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * literal_column("86400000")), Integer)


def cents(bind, amount):
    """An amount of money (two decimals) as whole cents: sums of them stay exact on SQLite, which keeps
    numbers with decimals as binary floating point."""
    return cast(func.round(amount * literal_column("100")), BigInteger if dialect(bind) == "postgresql" else Integer)


def month_of(bind, column):
    """'YYYY-MM' of a UTC timestamp (constants inline: PostgreSQL must see GROUP BY and SELECT as one expression)."""
    if dialect(bind) == "postgresql":
        return func.to_char(func.timezone(literal_column("'UTC'"), column), literal_column("'YYYY-MM'"))
    return func.substr(column, literal_column("1"), literal_column("7"))  # stored as 'YYYY-MM-DD HH:MM:SS' in UTC
