"""Keeping trips and vehicle health current after each committed ingest batch.

Listeners hand over the cars a batch touched. Health only reads the twin, so it is judged at most
every 30 s per car; trips re-read the open trip's readings, so they are rebuilt every 2 minutes at
most. Safety events (SOS, crash) do not wait for either: they travel as domain events at commit.
Both run in their own transaction after the batch is committed (and acknowledged), so a slow
refresh never delays an acknowledgement, and events they raise are delivered after their commit.
A trip that closes has its driving facts (the score's inputs) measured and kept right then, once,
so the owner's page and the insurer's API only add up kept facts.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator

from sqlalchemy.orm import Session, sessionmaker

from forecourt.core.db import hold_per_key, transaction
from forecourt.telematics import health, score, trips
from forecourt.telematics.bulk import CAR_LOCK

log = logging.getLogger(__name__)

CARS_PER_TRANSACTION = 200


class Refresher:
    def __init__(self, sessions: sessionmaker[Session], *, health_every: float = 30.0, trips_every: float = 120.0,
                 clock=time.monotonic, write_turn=None):
        """``write_turn``: the lock the ingest stores take around their writes on SQLite, so they wait
        on it for a refresh to commit instead of polling SQLite's busy handler."""
        self.sessions = sessions
        self.write_turn = write_turn if write_turn is not None else contextlib.nullcontext()
        self.health_every, self.trips_every, self.clock = health_every, trips_every, clock
        self._health_at: dict[int, float] = {}
        self._trips_at: dict[int, float] = {}
        self._pending_trips: set[int] = set()
        self._locked = sessions.kw["bind"].dialect.name == "postgresql"

    def _due(self, seen: dict[int, float], vehicle_ids: Iterable[int], every: float) -> list[int]:
        moment = self.clock()
        due = [v for v in vehicle_ids if moment - seen.get(v, float("-inf")) >= every]
        for vehicle_id in due:
            seen[vehicle_id] = moment
        return due

    def after_batch(self, vehicle_ids: Iterable[int]) -> None:
        ids = set(vehicle_ids)
        self._pending_trips |= ids
        due_health = self._due(self._health_at, ids, self.health_every)
        due_trips = self._due(self._trips_at, self._pending_trips, self.trips_every)
        self._pending_trips -= set(due_trips)
        try:
            for chunk in _chunks(due_health):
                self._refresh(chunk, health.judge_many,
                              lambda session, judged: health.record_health(session=session, judged=judged))
            self._rebuild_trips(due_trips)
        except Exception:  # derived data: the next batch tries again; stored readings are safe
            log.exception("refreshing trips or health failed")

    def flush(self) -> None:
        """Rebuild whatever is still pending (on shutdown, and in tests)."""
        self._rebuild_trips(self._pending_trips)
        self._pending_trips.clear()

    def _rebuild_trips(self, vehicle_ids: Iterable[int]) -> None:
        for chunk in _chunks(vehicle_ids):
            rebuild = self._refresh(chunk, trips.plan_rebuild, self._store_trips)
            if not self._locked:  # SQLite: the closed trips' facts measured in a read, then kept
                planned = self._read(lambda session, vehicle_ids: score.plan_facts(session=session,
                                                                                  since=rebuild.since), chunk)
                if planned:
                    with self.write_turn, transaction(self.sessions, write=True) as session:
                        score.keep_facts(session=session, planned=planned)

    def _store_trips(self, session: Session, rebuild: trips.Rebuild) -> None:
        """Stores the rebuilt trips; on PostgreSQL, still under the cars' locks, also the driving facts
        of the trips that closed, so no page has to measure a closed trip again."""
        trips.store_rebuild(session=session, rebuild=rebuild, returning=False)
        if self._locked:
            score.keep_facts(session=session, planned=score.plan_facts(session=session, since=rebuild.since))

    def _refresh(self, vehicle_ids: list[int], plan, store):
        """Works out (``plan``) and stores (``store``) what the cars' data now says.

        On PostgreSQL several ingest workers may refresh the same car at once (a shared
        subscription spreads its messages over them), so both halves run in one transaction that
        first holds each car's advisory lock: a refresh reads only after the previous one for the
        car committed, and the last to run has seen every batch committed before it began (each
        batch asks for its refresh after its commit). On SQLite the halves stay apart, so the
        single write lock is held for the writing alone."""
        if self._locked:
            with transaction(self.sessions, write=True) as session:
                hold_per_key(session, CAR_LOCK, vehicle_ids)
                planned = plan(session=session, vehicle_ids=vehicle_ids)
                store(session, planned)
            return planned
        planned = self._read(plan, vehicle_ids)
        with self.write_turn, transaction(self.sessions, write=True) as session:
            store(session, planned)
        return planned

    def _read(self, plan, vehicle_ids: list[int]):
        """The computing half of a refresh, in a read transaction: on SQLite the ingest stores keep
        writing meanwhile. Data committed after this read waits for the car's next refresh."""
        with transaction(self.sessions) as session:
            return plan(session=session, vehicle_ids=vehicle_ids)


def _chunks(vehicle_ids: Iterable[int]) -> Iterator[list[int]]:
    """A few hundred cars per transaction: on SQLite a writer holds the only write lock, and the
    ingest worker, whose batches carry SOS and crash alerts, must not wait behind a fleet's refresh."""
    ids = sorted(vehicle_ids)
    for start in range(0, len(ids), CARS_PER_TRANSACTION):
        yield ids[start:start + CARS_PER_TRANSACTION]


def own_cars(*, session: Session, vehicle_ids: Iterable[int]) -> None:
    """Holds the cars' advisory locks (PostgreSQL) until the caller's transaction ends. A request
    that stores a car's report and then refreshes its trips takes them before it writes anything:
    taken after its twin writes, two requests of one car could each wait for the other."""
    ids = [v for v in vehicle_ids if v is not None]
    hold_per_key(session, CAR_LOCK, ids)
    _owned(session).update(ids)


_OWNED = "forecourt_cars_owned"  # session.info: (the transaction, the cars whose locks it holds)


def _owned(session: Session) -> set[int]:
    """The cars this very transaction holds: the locks go with its end, so another's set says nothing."""
    current = session.get_transaction()
    held = session.info.get(_OWNED)
    if held is None or held[0] is not current:
        held = session.info[_OWNED] = (current, set())
    return held[1]


def refresh_now(*, session: Session, vehicle_ids: Iterable[int]) -> None:
    """The same, inside the caller's transaction: for HTTP requests, which report one car at a time."""
    ids = sorted(set(vehicle_ids))
    if ids:
        # another worker may be refreshing the car (PostgreSQL); the locks the request took when it
        # began (``own_cars``) are held already
        hold_per_key(session, CAR_LOCK, [v for v in ids if v not in _owned(session)])
        health.refresh_health(session=session, vehicle_ids=ids)
        changed = trips.refresh(session=session, vehicle_ids=ids)
        score.keep_closed(session=session, trips=[trip for car in changed.values() for trip in car])
