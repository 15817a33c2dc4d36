"""Trips and health refreshed in the detector process beside the ingest worker."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from forecourt.core import events
from forecourt.core.db import get_engine, make_sessionmaker, transaction
from forecourt.telematics.detectors import DetectorProcess
from forecourt.telematics.health import DtcAppeared
from forecourt.telematics.ingest import ingest
from forecourt.telematics.models import HealthState, Trip
from forecourt.vehicles import service as vehicles_service
from tests.telematics.fleet import T0, committed_fleet
from tests.telematics.test_ingest import reading

FAULTS_FILE = "FORECOURT_TEST_FAULTS_FILE"


def record_faults(_sessions) -> None:
    """Runs in the child: the events its refreshes raise reach handlers subscribed there."""
    def write(event) -> None:
        with open(os.environ[FAULTS_FILE], "a") as out:
            out.write(f"{event.vehicle_id} {event.code}\n")

    events.bus.subscribe(DtcAppeared, write)


def _store(sessions, vin: str, i: int, **signals) -> set[int]:
    with transaction(sessions, write=True) as session:
        report = ingest(session=session, readings=[reading(vin, T0 + timedelta(seconds=10 * i), f"d{vin}{i}",
                                                           **signals)], channel="test")
    return report.vehicle_ids


def test_the_detector_process_judges_health_builds_trips_and_raises_events(fresh_database_url, tmp_path,
                                                                           monkeypatch):
    url = fresh_database_url("detectors")
    vin = committed_fleet(url, cars=1)[0]
    sessions = make_sessionmaker(get_engine(url))
    with sessions() as session:
        vehicle_id = vehicles_service.get_by_vin(session=session, vin=vin).id
    faults = tmp_path / "faults.txt"
    monkeypatch.setenv(FAULTS_FILE, str(faults))
    detectors = DetectorProcess(url, setup=record_faults, health_every=0, trips_every=0).start()
    try:
        detectors.after_batch(_store(sessions, vin, 0, Vehicle__Diagnostics__DTCList=["P0420"]))
        detectors.wait_until_caught_up(60)
        with sessions() as session:
            assert session.get(HealthState, vehicle_id).dtc_codes == ["P0420"]
            assert session.scalars(select(Trip.vehicle_id)).all() == [vehicle_id]
        assert Path(faults).read_text() == f"{vehicle_id} P0420\n"

        # a detector process that dies is replaced at the next batch; readings were never at risk
        detectors._process.kill()
        detectors._process.join(10)
        detectors.after_batch(_store(sessions, vin, 1, Vehicle__Diagnostics__DTCList=["P0420", "P0301"]))
        detectors.wait_until_caught_up(60)
        with sessions() as session:
            assert session.get(HealthState, vehicle_id).dtc_codes == ["P0301", "P0420"]
    finally:
        detectors.close()
    assert detectors._process is None
