"""The SQL the pipeline's figures share that differs between SQLite and PostgreSQL (dates, days between two
moments, months, finding a text in a text), and the median of the whole-day histograms it returns.

Kept apart from ``scope`` (who may see what), so a figure's rules and its dialect can be read and changed
one at a time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, bindparam, cast, func, literal_column, text
from sqlalchemy.orm import Session

from forecourt.core.db import UTCDateTime


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def without_jit(session: Session) -> None:
    """PostgreSQL would compile each of these sub-second queries to machine code first (about 0.2 s
    each, more than the query takes); ``SET LOCAL`` ends with the request's transaction."""
    if dialect(session) == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def moment(value: datetime, name: str = "moment"):
    return bindparam(name, value, type_=UTCDateTime())


def days_between(session: Session, later, earlier):
    """Fractional days from ``earlier`` to ``later``."""
    if dialect(session) == "postgresql":
        return func.extract("epoch", later - earlier) / literal_column("86400.0")
    return func.julianday(later) - func.julianday(earlier)


def whole_days(session: Session, days):
    """Rounded down; the figures are in whole days, so medians come from a small histogram."""
    if dialect(session) == "postgresql":
        return cast(func.floor(days), Integer)
    return cast(days, Integer)  # never negative here, so truncation is the floor


def month_of(session: Session, column):
    """'YYYY-MM' of a UTC timestamp (constants inline: PostgreSQL must see GROUP BY and SELECT as one expression)."""
    if dialect(session) == "postgresql":
        return func.to_char(func.timezone(literal_column("'UTC'"), column), literal_column("'YYYY-MM'"))
    return func.substr(column, literal_column("1"), literal_column("7"))  # stored as 'YYYY-MM-DD HH:MM:SS' in UTC


def holds(session: Session, column, part: str):
    """True where the text ``column`` contains ``part`` (a plain substring test: no LIKE wildcards, case kept)."""
    find = func.strpos if dialect(session) == "postgresql" else func.instr
    return find(column, part) > 0


def median_of(histogram: list[tuple[int, int]]) -> float | None:
    """The median of values given as (value, how many) pairs."""
    pairs = sorted((value, count) for value, count in histogram if count)
    total = sum(count for _, count in pairs)
    if not total:
        return None
    wanted = {(total - 1) // 2, total // 2}
    found, seen = [], 0
    for value, count in pairs:
        for index in sorted(wanted):
            if seen <= index < seen + count:
                found.append(value)
        seen += count
    return sum(found) / len(found)
