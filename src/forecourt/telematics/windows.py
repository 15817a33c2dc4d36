"""Many cars' readings, each car's from its own moment on, in one query per kind of reading.

The detector rebuilds a chunk of cars' trips from each car's latest trip start. Spelling 200 cars'
windows as SQL conditions took a third of its time (SQLAlchemy builds each comparison as an
object), so each car's moment is a row in a connection-scoped scratch table (``fill``) the
queries join on: bound in one ``executemany`` (``COPY`` on PostgreSQL), compiled once.

How each engine must be steered to read only the windows, and not the month of history before them:

* **SQLite** walks the scratch table and looks each car's window up in the (vehicle, time) index.
  ``+ 0`` on the scratch table's key keeps it from doing it the other way round: it knows nothing
  of the scratch table's size, and would otherwise read every row of the big table. The filters on
  a reading's kind (``only``: a sample's path, an event's kind) are spelled so that no index can
  serve them (``path || ''``): given planner statistics (``ANALYZE``, which the demo builder runs),
  SQLite otherwise built a temporary index on (path, vehicle) from every row of the table, for
  every refresh, whatever the fleet's size.
* **PostgreSQL** cannot tell how much of a car's history lies after a moment it only learns while
  joining, and guesses a third: with a month of history it hashed every row of every monthly
  partition instead of reading a few minutes per car (a refresh of five cars read 1.3 million
  samples; the detector's rebuilds were most of the database's work by the thirtieth day, and
  ingest slowed down with them). So each car's window is a ``LATERAL`` subquery that cannot be
  flattened into a join (``OFFSET 0``): a nested loop over the scratch table, an index range scan
  per car, and partitions wholly before a car's moment skipped while the query runs. The earliest
  moment of the chunk is added as a constant bound, so the planner prunes the older months before it
  runs and estimates rows from the statistics rather than guessing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, Table, and_, func, select, text, true
from sqlalchemy.orm import Session, aliased

from forecourt.core.db import UTCDateTime
from forecourt.telematics import bulk
from forecourt.telematics.models import Trip

WINDOWS = Table("forecourt_trip_windows", MetaData(), Column("vehicle_id", Integer, primary_key=True),
                Column("since", UTCDateTime))
EVER = datetime(1970, 1, 1, tzinfo=UTC)
_FLOOR = "forecourt.telematics.windows.floor"  # session.info: the earliest moment of the last fill


def fill(session: Session, since: dict[int, datetime | None]) -> None:
    """Each car's moment (``None``: its whole history), for the queries below until the next fill."""
    timestamp = "timestamptz" if bulk.engine_name(session) == "postgresql" else "TEXT"
    ending = " ON COMMIT DELETE ROWS" if timestamp == "timestamptz" else ""
    session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {WINDOWS.name} "
                         f"(vehicle_id INTEGER PRIMARY KEY, since {timestamp}){ending}"))
    session.execute(WINDOWS.delete())
    bind = bulk.moment_binder(session)
    bulk.insert_tuples(session, WINDOWS, ["vehicle_id", "since"], [(v, bind(at or EVER)) for v, at in since.items()])
    session.info[_FLOOR] = min((at or EVER for at in since.values()), default=EVER)
    if ending:
        session.execute(text(f"ANALYZE {WINDOWS.name}"))  # nothing else tells the planner it is small



def readings(session: Session, model, columns: list, *, only: dict | None = None, ordered: bool = False):
    """(vehicle id, ``columns``...) of ``model``'s rows (samples, positions, events) at or after
    each filled car's moment; ``only``: column -> the value (or tuple of values) it must have; in
    time order if ``ordered``."""
    if bulk.engine_name(session) != "postgresql":
        query = select(model.vehicle_id, *columns).join(
            WINDOWS, and_(WINDOWS.c.vehicle_id + 0 == model.vehicle_id, model.measured_at >= WINDOWS.c.since)
        ).where(*_matching(only, unindexed=True))
        return query.order_by(model.measured_at) if ordered else query
    window = (select(*columns).where(model.vehicle_id == WINDOWS.c.vehicle_id, model.measured_at >= WINDOWS.c.since,
                                     model.measured_at >= session.info.get(_FLOOR, EVER), *_matching(only))
              .offset(0).lateral())
    query = select(WINDOWS.c.vehicle_id, *window.c).select_from(WINDOWS).join(window, true())
    return query.order_by(window.c.measured_at) if ordered else query


def _matching(only: dict | None, unindexed: bool = False) -> list:
    conditions = []
    for column, wanted in (only or {}).items():
        compared = column.concat("") if unindexed else column
        conditions.append(compared.in_(wanted) if isinstance(wanted, tuple) else compared == wanted)
    return conditions


def trips(session: Session):
    """The filled cars' stored trips that started at or after each car's moment, as ``Trip`` objects."""
    if bulk.engine_name(session) != "postgresql":
        return select(Trip).join(WINDOWS, and_(WINDOWS.c.vehicle_id + 0 == Trip.vehicle_id,
                                               Trip.started_at >= WINDOWS.c.since))
    window = (select(Trip).where(Trip.vehicle_id == WINDOWS.c.vehicle_id, Trip.started_at >= WINDOWS.c.since)
              .offset(0).lateral())
    return select(aliased(Trip, window)).select_from(WINDOWS).join(window, true())


def latest_starts(session: Session, vehicle_ids: list[int]) -> dict[int, datetime | None]:
    """When each car's latest trip started (``None``: no trip yet). One index probe per car: a
    grouped maximum read every trip a car ever made, and trips are never pruned."""
    fill(session, dict.fromkeys(vehicle_ids))
    latest = select(func.max(Trip.started_at)).where(Trip.vehicle_id == WINDOWS.c.vehicle_id).scalar_subquery()
    starts: dict[int, datetime | None] = dict.fromkeys(vehicle_ids)
    for vehicle_id, started_at in session.execute(select(WINDOWS.c.vehicle_id, latest)):
        starts[vehicle_id] = started_at
    return starts
