"""The deals of a period as the monthly rollup (``sales.rollup``) gives them, exact to the day.

A period is whole days; the rollup counts whole months. A month wholly inside the period is read from
the rollup. A month the period cuts is read from the deals' covering indexes: either the part inside the
period, or the whole month from the rollup less the part outside, whichever holds fewer days before now
(deals are not started or closed in the future, so for a period ending today the part outside is empty
and the month costs one look at an index). Either way the rows have the rollup's columns, so every
figure reads one relation, the same for any period.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import exists, false, literal_column, select, union_all
from sqlalchemy.orm import Session

from forecourt.sales import rollup
from forecourt.sales.models import Opportunity as O

Conditions = Callable[[object], list]  # given the rollup table or the deals, the WHERE conditions on them


def _month_start(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def _before_now(start: datetime, end: datetime, now: datetime) -> float:
    return max(0.0, (min(end, now) - start).total_seconds())


def pieces(start: datetime, end: datetime, now: datetime) -> tuple[list[str], list[tuple], list[tuple]]:
    """(months read from the rollup, ranges of deals added, ranges of deals taken away) for [start, end)."""
    whole, added, removed = [], [], []
    year, month = start.year, start.month
    while _month_start(year, month) < end:
        first, after = _month_start(year, month), _month_start(year, month + 1)
        inside = (max(first, start), min(after, end))
        outside = [r for r in ((first, inside[0]), (inside[1], after)) if r[0] < r[1]]
        if not outside:
            whole.append(f"{year:04d}-{month:02d}")
        elif sum(_before_now(*r, now) for r in outside) < _before_now(*inside, now):
            whole.append(f"{year:04d}-{month:02d}")
            removed += outside
        else:
            added.append(inside)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return whole, added, removed


def rows(session: Session, table, *, start: datetime, end: datetime, now: datetime, where: Conditions):
    """The rows of ``table`` (one of ``rollup.SHARES``) of the deals of [start, end) that ``where`` keeps, as a
    subquery with the table's columns; the rows of one key may come several times (add them up)."""
    share = rollup.SHARES[table]
    whole, added, removed = pieces(start, end, now)
    keys, measures = share.columns(session)
    stored = table.__table__.c
    names = [c.name for c in keys] + ["deals"] + [m.name for m in measures]
    moment = getattr(O, share.moment)
    ranges = [(r, "1") for r in added] + [(r, "-1") for r in removed]
    if ranges:  # a range without deals (for a period ending today, the rest of this month) is left out, so
        # the rollup's rows alone are read, in the order of its key
        found = session.execute(select(*[exists().where(*share.where(in_period=True), moment >= low, moment < high,
                                                        *where(O)) for (low, high), _ in ranges])).one()
        ranges = [part for part, there in zip(ranges, found, strict=True) if there]
    parts = [select(*[stored[name] for name in names]).where(table.month.in_(whole), *where(table))] if whole else []
    for (low, high), sign in ranges:
        parts.append(select(*keys, literal_column(sign).label("deals"),
                            *[(literal_column(sign) * m.element).label(m.name) for m in measures])
                     .where(*share.where(in_period=True), moment >= low, moment < high, *where(O)))
    if not parts:
        parts = [select(*[stored[name] for name in names]).where(false())]
    return (union_all(*parts) if len(parts) > 1 else parts[0]).subquery(table.__tablename__)
