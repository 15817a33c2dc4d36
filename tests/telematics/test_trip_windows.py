"""The detector reads each car's readings from its own moment on through the (vehicle, time) index,
never the month of history before it: on PostgreSQL the older months are not even opened."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert, select, text

from forecourt.core import partitions
from forecourt.core.db import bulk_rows
from forecourt.telematics import windows
from forecourt.telematics.models import Sample


def _postgresql(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


MOMENT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(make, session):
    """Two cars, each with a speed every ten minutes since early September and one a minute in the
    last ten minutes (``MOMENT``), and a scatter of other signals."""
    cars = [make.vehicle(), make.vehicle()]
    moment = MOMENT
    old = partitions.month_start(moment, -2)
    if _postgresql(session):
        for shift in (-2, -1, 0):
            partitions.create_month(session, "telematics_samples", partitions.month_start(moment, shift))
    rows = []
    for car in cars:
        start = old + timedelta(days=1)
        rows += [dict(vehicle_id=car.id, measured_at=start + timedelta(minutes=m), path=path, value=float(m % 100))
                 for m in range(0, int((moment - start).total_seconds() // 60) - 60, 10)
                 for path in ("Vehicle.Speed", "Vehicle.TraveledDistance")]
        rows += [dict(vehicle_id=car.id, measured_at=moment - timedelta(minutes=m), path="Vehicle.Speed",
                      value=float(m)) for m in range(10)]
    session.execute(insert(Sample), rows)
    session.execute(text("ANALYZE telematics_samples") if _postgresql(session) else text("ANALYZE"))
    return cars, moment, old


def test_each_car_gets_exactly_its_readings_from_its_own_moment_on(history, session):
    (first, second), moment, _ = history
    windows.fill(session, {first.id: moment - timedelta(minutes=4, seconds=30), second.id: moment - timedelta(minutes=8)})
    found = bulk_rows(session, windows.readings(session, Sample, [Sample.measured_at, Sample.value],
                                                only={Sample.path: "Vehicle.Speed"})).all()
    assert sorted((v, round((moment - at).total_seconds() / 60)) for v, at, _ in found) == sorted(
        [(first.id, m) for m in range(5)] + [(second.id, m) for m in range(9)])
    ordered = bulk_rows(session, windows.readings(session, Sample, [Sample.measured_at], ordered=True)).all()
    assert [at for _, at in ordered] == sorted(at for _, at in ordered) and len(ordered) == 14


def test_the_window_is_read_through_the_index_and_older_months_are_left_alone(history, session):
    (first, second), moment, old = history
    windows.fill(session, {first.id: moment - timedelta(minutes=5), second.id: moment - timedelta(minutes=5)})
    statement, parameters = _as_run(session, windows.readings(
        session, Sample, [Sample.measured_at, Sample.value], only={Sample.path: "Vehicle.Speed"}))
    if not _postgresql(session):
        plan = [row[-1] for row in session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        assert any(line.startswith("SEARCH telematics_samples USING INDEX ix_telematics_samples_vehicle_time_path")
                   and "measured_at>" in line for line in plan), plan
        assert not any(line.startswith("SCAN telematics_samples") for line in plan), plan
        return
    plan = session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()
    nodes = _nodes((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])
    scanned = {node["Relation Name"]: node["Node Type"] for node in nodes if "Relation Name" in node}
    assert partitions.partition_name("telematics_samples", old) not in scanned, scanned  # pruned before running
    current = partitions.partition_name("telematics_samples", partitions.month_start(moment))
    assert "Index" in scanned[current], scanned  # a range of the index per car, not the month
    assert nodes[0]["Node Type"] == "Nested Loop", nodes[0]


def _as_run(session, query) -> tuple[str, object]:
    """The statement and parameters the engine really runs for ``query`` (each engine's own spelling)."""
    seen = []

    def record(conn, cursor, statement, parameters, context, many):
        seen.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        bulk_rows(session, query).all()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen[-1]


def _nodes(node: dict) -> list[dict]:
    found = [node]
    for child in node.get("Plans", []):
        found += _nodes(child)
    return found


def test_the_latest_trip_start_is_found_per_car(make, session):
    from forecourt.telematics.models import Trip

    car, idle = make.vehicle(), make.vehicle()
    moment = MOMENT
    for days in (30, 3, 1):
        session.add(Trip(vehicle_id=car.id, started_at=moment - timedelta(days=days), ended_at=moment,
                         end_reason="stopped", distance_source="gps", route=[]))
    session.flush()
    assert windows.latest_starts(session, [car.id, idle.id]) == {car.id: moment - timedelta(days=1), idle.id: None}
    assert session.scalar(select(Trip.id).where(Trip.vehicle_id == idle.id)) is None
