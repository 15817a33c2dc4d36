"""How far a standing car's trips are settled: where its next rebuild may start reading.

A trip rebuild reads a car's readings from the start of its latest trip, so that trip can grow or
take late readings in. A car standing after its trip goes on reporting (every 10 s, all night; an
unsold car in stock for weeks, with no trip at all), and every refresh read all of it again: the
longer a car stood, the more each refresh read (a night of readings, every two minutes, for a
fleet), and after a month the first refresh of the morning read the whole evening.

So each refresh that leaves a car standing keeps a mark: the latest trip it belongs to, the newest
reading it saw (``seen_until``) and when (``seen_at``, the clock's time). Once a mark has been seen
for ``LATE_MARGIN``, the next rebuild reads from ``STOP_GAP`` before that reading on instead
(``read_from``, always after the latest trip's end): a new trip can only begin after it (the car
did not move since the trip), and ``STOP_GAP`` before it still covers an ignition-on or a
standstill that starts the next trip. A refresh then reads at most about an hour of a standing
car's readings, however long it has stood. Readings that reach us later than ``LATE_MARGIN`` after the
car was seen standing, for the stretch before the mark, are not cut into trips any more, as late
readings of an older trip never were; within the margin everything is read as before. A mark
belongs to one latest trip: a new trip (or one deleted) makes it void, and the rebuild reads from
the latest trip's start again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forecourt.core.clock import now
from forecourt.telematics.models import TripMark

LATE_MARGIN = timedelta(minutes=30)
EVER = datetime(1970, 1, 1, tzinfo=UTC)


def read_from(session: Session, latest: dict[int, datetime | None]) -> dict[int, datetime | None]:
    """Where each car's rebuild starts reading: its mark's ``read_from`` while the mark belongs to
    the car's latest trip (``latest``: its start, ``None`` for none), else that start."""
    starts = dict(latest)
    for mark in session.scalars(select(TripMark).where(TripMark.vehicle_id.in_(list(latest)))):
        if mark.latest_start == latest[mark.vehicle_id]:
            starts[mark.vehicle_id] = mark.read_from
    return starts


def keep(session: Session, *, latest: dict[int, datetime | None], read: dict[int, datetime | None],
         trips: dict[int, list[tuple[datetime, dict]]], seen: dict[int, datetime], stop_gap: timedelta) -> None:
    """After a rebuild that read each car from ``read`` on, cut ``trips`` and saw readings up to
    ``seen``: a car still driving loses its mark; a standing one keeps it, or moves it on once it has
    been seen for ``LATE_MARGIN``. It moves only to ``stop_gap`` before the newest reading seen then,
    and only past the latest trip's end: the car stood that long after its trip, so the trip was
    closed by its readings, not by the clock (a backlog drained slowly is not cut in two)."""
    marks = {mark.vehicle_id: mark for mark in session.scalars(
        select(TripMark).where(TripMark.vehicle_id.in_(list(trips))))}
    moment = now()
    driving: list[int] = []
    for vehicle_id, cut in trips.items():
        if cut and cut[-1][1]["is_open"]:
            driving.append(vehicle_id)
            continue
        newest = seen.get(vehicle_id)
        start = cut[-1][0] if cut else latest[vehicle_id]
        mark = marks.get(vehicle_id)
        if mark is None or mark.latest_start != start:
            if newest is None:
                continue  # nothing seen to stand on yet
            if mark is None:
                mark = marks[vehicle_id] = TripMark(vehicle_id=vehicle_id)
                session.add(mark)
            mark.latest_start, mark.latest_end = start, cut[-1][1]["ended_at"] if cut else None
            mark.read_from = start or read[vehicle_id] or EVER
            mark.seen_until, mark.seen_at = newest, moment
            continue
        if cut:  # the latest trip read again: as it is now
            mark.latest_end = cut[-1][1]["ended_at"]
        if newest is None or moment - mark.seen_at < LATE_MARGIN:
            continue
        settled = mark.seen_until - stop_gap
        if settled > mark.read_from and (mark.latest_end is None or settled > mark.latest_end):
            mark.read_from = settled
        mark.seen_until, mark.seen_at = newest, moment
    if driving:
        session.execute(delete(TripMark).where(TripMark.vehicle_id.in_(driving)))
    session.flush()


def forget(session: Session, vehicle_id: int) -> None:
    """The car's mark goes with its trips (erasure)."""
    session.execute(delete(TripMark).where(TripMark.vehicle_id == vehicle_id))

