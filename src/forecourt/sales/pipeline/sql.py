"""The SQL the pipeline's figures share that differs between SQLite and PostgreSQL (dates, days between two
moments, months: ``core.dialects``, shared with ``sales.rollup``), and the median of the whole-day
histograms it returns.

Kept apart from ``scope`` (who may see what), so a figure's rules and its dialect can be read and changed
one at a time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from forecourt.core.db import UTCDateTime
from forecourt.core.dialects import days_between, dialect, month_of, whole_days

__all__ = ["days_between", "dialect", "median_of", "moment", "month_of", "whole_days", "without_jit"]


def without_jit(session: Session) -> None:
    """PostgreSQL would compile each of these sub-second queries to machine code first (about 0.2 s
    each, more than the query takes); ``SET LOCAL`` ends with the request's transaction."""
    if dialect(session) == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def moment(value: datetime, name: str = "moment"):
    return bindparam(name, value, type_=UTCDateTime())


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
