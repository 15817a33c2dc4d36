"""The pipeline's monthly rollup: the deals each dealer's reps started and closed per month, kept exact in the
transaction that writes a deal.

The carmaker's network dashboards add up every deal of a period — a million in a large network. Three small
tables hold what they add up, per calendar month (UTC), dealer, sales rep and model:

* ``sales_rollup_started``: deals by the month they were created, with their status, their stage and the
  stages they have been in (how far each got, for the funnel);
* ``sales_rollup_closed``: deals won and lost by the month they closed, their value in cents and the
  milliseconds from opening to a win;
* ``sales_rollup_closed_detail``: the same deals by the reason a deal was lost or the whole days a win took
  (the reasons' shares and the median time to a win), kept apart so the figures per month and per dealer
  read a few rows per month and model.

Every write of a deal through the ORM (opened, moved on or back, won, lost, reopened, reassigned, changed in
amount, model or dealer, deleted) takes the deal's row as it was out of the rollup and puts its row as it is
in, in the same transaction. Both rows are read back from the database with the SQL the recount uses
(``SHARES``), so a rollup row and a recount of its deals cannot disagree. Changes are added up per flush and
written in key order, so two transactions meet on rollup rows in one order. Open deals' ageing depends
on the moment of looking, so it is not rolled up (the dashboards read open deals through an index of their
own). Code that writes deals without the ORM (bulk loaders, SQL updates) calls ``rebuild`` after;
``forecourt db recount-pipeline`` does it from the command line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (BigInteger, Integer, PrimaryKeyConstraint, String, Text, and_, bindparam, case, delete, event,
                        func, insert, inspect, literal_column, select, text, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session

from forecourt.core.db import Base
from forecourt.core.dialects import cents, days_between, dialect, milliseconds_between, month_of, whole_days
from forecourt.sales.models import Opportunity as O
from forecourt.sales.models import StageChange

NO_ONE = 0  # owner_user_id / model_id of a deal without a rep or a model (ids start at 1)
# What a deal's share of the rollup depends on; a change to anything else leaves the rollup alone.
COUNTED = ("dealer_id", "owner_user_id", "model_id", "status", "stage_code", "stages_reached", "created_at",
           "closed_at", "amount", "lost_reason")
PENDING = "forecourt.sales.rollup"  # session.info: changes of this flush, written at its end


class StartedDeals(Base):
    """Deals created in a month: whose, which model, where they stand and where they have been."""

    __tablename__ = "sales_rollup_started"

    dealer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM of created_at, UTC
    owner_user_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # NO_ONE: no rep
    model_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # NO_ONE: no model
    status: Mapped[str] = mapped_column(String(8), primary_key=True)
    stage_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    stages_reached: Mapped[str] = mapped_column(Text, primary_key=True)
    deals: Mapped[int] = mapped_column(Integer)

    # The key is the table (no row ids), in the order the page adds a month's rows up: read in key order,
    # they need no sorting.
    __table_args__ = (PrimaryKeyConstraint("month", "status", "stage_code", "stages_reached", "dealer_id",
                                           "owner_user_id", "model_id"), {"sqlite_with_rowid": False})


class ClosedDeals(Base):
    """Deals won or lost in a month, and what they were worth."""

    __tablename__ = "sales_rollup_closed"

    dealer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM of closed_at, UTC
    owner_user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(8), primary_key=True)  # won | lost
    deals: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    cycle_ms: Mapped[int] = mapped_column(BigInteger)  # won: milliseconds from opening to the win, summed; lost: 0

    __table_args__ = (PrimaryKeyConstraint("dealer_id", "month", "owner_user_id", "model_id", "status"),
                      {"sqlite_with_rowid": False})


class ClosedDetail(Base):
    """Deals won or lost in a month, by why a deal was lost and how many whole days a win took."""

    __tablename__ = "sales_rollup_closed_detail"

    dealer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM of closed_at, UTC
    owner_user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(8), primary_key=True)  # won | lost
    # lost: the reason, "other" when none was given (the figures count both as "other"); won: ""
    lost_reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    cycle_days: Mapped[int] = mapped_column(Integer, primary_key=True)  # won: whole days from opening; lost: 0
    deals: Mapped[int] = mapped_column(Integer)

    # in the order the page adds the rows up (the reasons' counts, the days' histogram), as above
    __table_args__ = (PrimaryKeyConstraint("status", "lost_reason", "cycle_days", "month", "dealer_id",
                                           "owner_user_id", "model_id"), {"sqlite_with_rowid": False})


def _key_names(table) -> list[str]:
    return [c.name for c in table.__table__.primary_key.columns]


def _measure_names(table) -> list[str]:
    """``deals`` first, then what else the table adds up."""
    return [c.name for c in table.__table__.columns if not c.primary_key]


# --- one deal's share, in SQL ---------------------------------------------------------------------------

def _who(bind, moment) -> list:
    return [O.dealer_id.label("dealer_id"), month_of(bind, moment).label("month"),
            func.coalesce(O.owner_user_id, literal_column(str(NO_ONE))).label("owner_user_id"),
            func.coalesce(O.model_id, literal_column(str(NO_ONE))).label("model_id"), O.status.label("status")]


def _won():
    return O.status == literal_column("'won'")


def _started(bind) -> tuple[list, list]:
    return [*_who(bind, O.created_at), O.stage_code.label("stage_code"), O.stages_reached.label("stages_reached")], []


def _closed(bind) -> tuple[list, list]:
    return _who(bind, O.closed_at), [
        cents(bind, O.amount).label("amount_cents"),
        case((_won(), milliseconds_between(bind, O.closed_at, O.created_at)), else_=literal_column("0")).label("cycle_ms")]


def _closed_detail(bind) -> tuple[list, list]:
    cycle = whole_days(bind, days_between(bind, O.closed_at, O.created_at))
    return [*_who(bind, O.closed_at),
            case((_won(), literal_column("''")),
                 else_=func.coalesce(O.lost_reason, literal_column("'other'"))).label("lost_reason"),
            case((_won(), cycle), else_=literal_column("0")).label("cycle_days")], []


def _is_closed():
    return O.status.in_([literal_column("'won'"), literal_column("'lost'")])


@dataclass(frozen=True)
class Share:
    """How a table of the rollup counts a deal: its key and measures (besides ``deals``) as SQL on the deal's
    row, which deals it counts, and the moment whose month it is of."""

    columns: Callable  # bind -> (labelled keys, labelled measures)
    counts: Callable | None  # () -> condition on the deal, None for every deal
    moment: str  # created_at | closed_at

    def where(self, *, in_period: bool = False) -> list:
        """Which deals the table counts: all with the moment whose month it is of, or those of ``counts``.
        Read for a period, the period's range says the moment is there (and, written out, would hide the
        range from SQLite's planner)."""
        moment = [] if in_period else [getattr(O, self.moment).is_not(None)]
        return ([self.counts()] if self.counts is not None else []) + moment

    def recounted(self, bind):
        """The table as a recount of the deals gives it."""
        keys, measures = self.columns(bind)
        return (select(*keys, func.count().label("deals"), *[func.sum(m.element).label(m.name) for m in measures])
                .where(*self.where()).group_by(*keys))


SHARES = {table: Share(columns, counts, moment) for table, columns, counts, moment in (
    (StartedDeals, _started, None, "created_at"), (ClosedDeals, _closed, _is_closed, "closed_at"),
    (ClosedDetail, _closed_detail, _is_closed, "closed_at"))}  # in the order their rows are written


# --- kept as deals are written ----------------------------------------------------------------------------

def _pending(session: Session) -> dict:
    pending = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = {table: defaultdict(lambda size=len(_measure_names(table)): [0] * size)
                                           for table in SHARES}
    return pending


def _tally(session: Session | None, connection, deal_id: int, sign: int) -> None:
    """Adds the deal's share as the database holds it now (``sign`` 1) or takes it out (-1). Before a change
    the row is locked first on PostgreSQL, so a change another transaction is committing is waited for
    and not taken out as it was."""
    if session is None:
        return
    columns = []
    for n, share in enumerate(SHARES.values()):
        keys, measures = share.columns(connection)
        counted = and_(*share.where())
        columns += [c.element.label(f"t{n}_{c.name}") for c in keys + measures]
        columns.append(case((counted, literal_column("1")), else_=literal_column("0")).label(f"t{n}_counted"))
    query = select(*columns).where(O.id == deal_id)
    if sign < 0:
        query = query.with_for_update()
    row = connection.execute(query).mappings().first()
    if row is None:
        return
    pending = _pending(session)
    for n, table in enumerate(SHARES):
        if not row[f"t{n}_counted"]:
            continue
        entry = pending[table][tuple(row[f"t{n}_{name}"] for name in _key_names(table))]
        entry[0] += sign
        for i, name in enumerate(_measure_names(table)[1:], start=1):
            entry[i] += sign * int(row[f"t{n}_{name}"] or 0)


def _counted_change(deal: O) -> bool:
    attributes = inspect(deal).attrs
    return any(attributes[name].history.has_changes() for name in COUNTED)


@event.listens_for(O, "after_insert")
def _count_new_deal(mapper, connection, deal: O) -> None:
    _tally(object_session(deal), connection, deal.id, 1)


@event.listens_for(O, "before_update")
def _take_out_changed_deal(mapper, connection, deal: O) -> None:
    if _counted_change(deal):
        _tally(object_session(deal), connection, deal.id, -1)


@event.listens_for(O, "after_update")
def _put_back_changed_deal(mapper, connection, deal: O) -> None:
    if _counted_change(deal):
        _tally(object_session(deal), connection, deal.id, 1)


@event.listens_for(O, "before_delete")
def _take_out_deleted_deal(mapper, connection, deal: O) -> None:
    _tally(object_session(deal), connection, deal.id, -1)


@event.listens_for(StageChange, "after_insert")
def _remember_stage_reached(mapper, connection, change: StageChange) -> None:
    """Every stage change written through the ORM adds its stage to the deal's ``stages_reached`` (once), in
    the same transaction, and moves the deal's row of the rollup with it; bulk loaders write the column
    themselves and ``rebuild`` after."""
    table = O.__table__
    reached = connection.scalar(select(table.c.stages_reached).where(table.c.id == change.opportunity_id)
                                .with_for_update())
    marker = f",{change.to_stage},"
    if reached is None or marker in reached:
        return
    session = object_session(change)
    _tally(session, connection, change.opportunity_id, -1)
    connection.execute(update(table).where(table.c.id == change.opportunity_id)
                       .values(stages_reached=table.c.stages_reached + f"{change.to_stage},"))
    _tally(session, connection, change.opportunity_id, 1)


@event.listens_for(Session, "before_flush")
def _start_counting(session: Session, flush_context, instances) -> None:
    session.info.pop(PENDING, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_counting(session: Session, previous_transaction) -> None:
    session.info.pop(PENDING, None)


@event.listens_for(Session, "after_flush")
def _write_counts(session: Session, flush_context) -> None:
    """The flush's changes to the rollup, each key once, in key order; rows that fall to no deal go."""
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    connection = session.connection()
    for table in SHARES:
        changes = sorted((key, values) for key, values in pending[table].items() if any(values))
        if changes:
            _add(connection, table, changes)


def _add(connection, table, changes: list[tuple[tuple, list[int]]]) -> None:
    keys, measures = _key_names(table), _measure_names(table)
    columns = table.__table__.c
    statement = (postgresql.insert if dialect(connection) == "postgresql" else sqlite.insert)(table.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={m: columns[m] + getattr(statement.excluded, m) for m in measures})
    connection.execute(statement, [dict(zip(keys, key, strict=True)) | dict(zip(measures, values, strict=True))
                                   for key, values in changes])
    emptied = [key for key, values in changes if values[0] < 0]
    if emptied:
        connection.execute(delete(table.__table__).where(*[columns[k] == bindparam(f"key_{k}") for k in keys],
                                                         columns.deals == literal_column("0")),
                           [{f"key_{k}": value for k, value in zip(keys, key, strict=True)} for key in emptied])


# --- rebuilt from the deals -------------------------------------------------------------------------------

def rebuild(*, session: Session) -> dict[str, int]:
    """Recounts the rollup from the deals: after bulk loads, or should it ever disagree (``differences``).
    On PostgreSQL deals are not written meanwhile (a share lock, held to the end of the transaction)."""
    session.flush()
    bind = session.connection()
    if dialect(bind) == "postgresql":
        session.execute(text("LOCK TABLE sales_opportunities IN SHARE MODE"))
    counts = {}
    for table, share in SHARES.items():
        counted = share.recounted(bind)
        session.execute(delete(table.__table__))
        session.execute(insert(table.__table__).from_select([c.name for c in counted.selected_columns], counted))
        counts[table.__tablename__] = session.scalar(select(func.count()).select_from(table))
    return counts


def differences(*, session: Session) -> list[dict]:
    """Rollup rows that disagree with a recount from the deals (none, as long as deals are written through the
    ORM or ``rebuild`` follows): table, key, stored and counted measures (None where there is no row)."""
    session.flush()
    bind = session.connection()
    found = []
    for table, share in SHARES.items():
        keys, measures = _key_names(table), _measure_names(table)
        stored, recounted = ({tuple(row[k] for k in keys): tuple(int(row[m]) for m in measures)
                              for row in session.execute(query).mappings()}
                             for query in (select(table.__table__), share.recounted(bind)))
        for key in sorted(set(stored) | set(recounted), key=repr):
            if stored.get(key) != recounted.get(key):
                found.append({"table": table.__tablename__, "key": dict(zip(keys, key, strict=True)),
                              "stored": stored.get(key), "counted": recounted.get(key)})
    return found
