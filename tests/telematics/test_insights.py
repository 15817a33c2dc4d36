"""After each committed batch health is re-judged and trips rebuilt, each at most once per interval per car."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from forecourt.core import events
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.telematics import score, trips
from forecourt.telematics.health import DtcAppeared
from forecourt.telematics.ingest import ingest
from forecourt.telematics.insights import Refresher
from forecourt.telematics.models import HealthState, Trip
from forecourt.vehicles import service as vehicles_service
from tests.telematics.fleet import T0, committed_fleet
from tests.telematics.test_ingest import reading


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _store(sessions, vin: str, i: int, **signals) -> set[int]:
    with transaction(sessions, write=True) as session:
        report = ingest(session=session, readings=[reading(vin, T0 + timedelta(seconds=10 * i), f"k{vin}{i}",
                                                           **signals)], channel="test")
    return report.vehicle_ids


def test_health_is_judged_once_per_interval_and_trips_when_due(fresh_database_url):
    url = fresh_database_url("insights")
    vin = committed_fleet(url, cars=1)[0]
    sessions = make_sessionmaker(get_engine(url))
    with sessions() as session:
        vehicle_id = vehicles_service.get_by_vin(session=session, vin=vin).id
    clock = Clock()
    refresher = Refresher(sessions, health_every=30, trips_every=120, clock=clock)
    appeared: list = []
    events.bus.subscribe(DtcAppeared, appeared.append)
    try:
        refresher.after_batch(_store(sessions, vin, 0))
        with sessions() as session:
            assert session.get(HealthState, vehicle_id).dtc_codes == []
            assert session.scalars(select(Trip)).all() != []  # the first batch builds the trip
        refresher.after_batch(_store(sessions, vin, 1, Vehicle__Diagnostics__DTCList=["P0420"]))
        assert appeared == []  # judged 0 s ago: waits for the interval
        clock.now += 31
        refresher.after_batch(_store(sessions, vin, 2, Vehicle__Diagnostics__DTCList=["P0420"]))
        assert [(e.vehicle_id, e.code) for e in appeared] == [(vehicle_id, "P0420")]
        with sessions() as session:
            assert session.get(HealthState, vehicle_id).dtc_codes == ["P0420"]
            ended = session.scalars(select(Trip.ended_at)).one()
        assert ended == T0  # trips wait for their own, longer interval ...
        refresher.flush()  # ... or for shutdown
        with sessions() as session:
            assert session.scalars(select(Trip.ended_at)).one() == T0 + timedelta(seconds=20)
    finally:
        events.bus.handlers[DtcAppeared].remove(appeared.append)


def _trip_as_stored(sessions) -> dict:
    with sessions() as session:
        trip = session.scalars(select(Trip)).one()
        return {column: getattr(trip, column) for column in Trip.__table__.columns.keys()
                if column not in ("id", "updated_at")} | {"has_updated_at": trip.updated_at is not None}


def test_the_detectors_store_the_same_trip_as_a_refresh_on_request(fresh_database_url):
    """The detectors insert a car's first trip as a plain row (``COPY`` on PostgreSQL), a request
    through the ORM: both must store the same trip, route and all."""
    stored = []
    for way in ("detectors", "request"):
        url = fresh_database_url(f"first-trip-{way}")
        vin = committed_fleet(url, cars=1)[0]
        sessions = make_sessionmaker(get_engine(url))
        for i in range(4):
            _store(sessions, vin, i, Vehicle__CurrentLocation__Latitude=52.52 + 0.01 * i,
                   Vehicle__TraveledDistance=1_000_000 + 1_100 * i)
        with sessions() as session:
            vehicle_id = vehicles_service.get_by_vin(session=session, vin=vin).id
        if way == "detectors":
            Refresher(sessions, health_every=30, trips_every=0, clock=Clock()).after_batch({vehicle_id})
        else:
            with transaction(sessions, write=True) as session:
                [trip] = trips.refresh_trips(session=session, vehicle_id=vehicle_id)
                assert trip.id is not None and trip.driving_facts is None
                assert score.keep_closed(session=session, trips=[trip]) == 1  # as insights.refresh_now does
        stored.append(_trip_as_stored(sessions))
    detectors, request = stored
    assert detectors["route"] == [[52.52, 13.4], [52.53, 13.4], [52.54, 13.4], [52.55, 13.4]]
    assert detectors["distance_km"] == 3.3 and detectors["distance_source"] == "odometer"
    assert detectors["started_at"] == T0
    # the detectors measured the closed trip's driving facts as it closed, as a request measures them
    assert detectors["driving_facts"]["distance_km"] == 3.3 and detectors["driving_facts"]["moving_s"] > 0
    assert {k: v for k, v in detectors.items() if k != "vehicle_id"} == {
        k: v for k, v in request.items() if k != "vehicle_id"}
