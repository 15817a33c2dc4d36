"""Long life: does a month of a fleet's history slow ingest, retention or the vehicle page down?

Thirty simulated days of ``cars`` cars reporting every 10 seconds, on PostgreSQL:

* **day 1** (empty tables): a QoS 1 stream through the real ``forecourt ingest`` worker (one
  worker, plain subscription, pinned to a core), timestamped on the first day; then the owner's
  vehicle page is timed;
* days 1..29 are **bulk-loaded** into their month partitions by the server itself (``INSERT ...
  SELECT`` over ``generate_series``: COPY's speed without a client in between): four samples and a
  position per message, each message's key in the exactly-once ledger, four trips per car and day,
  and what the detector would have kept meanwhile: each loaded trip's driving facts (kept as a trip
  closes) and each car's trip mark after its last evening of standing; then the tables are vacuumed
  and a checkpoint taken, as a month in service leaves them (``settle``, timed);
* **day 30** (full tables): the same stream through the same worker, timestamped now, and the same
  page timed again — against day 1's figures, measured in the same run;
* **retention**: the months before this one taken out as partitions, as the retention jobs do: detached,
  a transaction per table (``core.partitions.detach_before``: the step a writer can wait for), then dropped
  a month per transaction (``drop_all_detached``: their files removed), each step timed, while a
  writer beside them inserts a sample every 10 ms and times its longest wait.

The demo driver's car is one of the fleet, so its page (``GET /me/vehicles/{vin}``, as its owner
logged in) shows 30 days of trips and a current twin.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from sqlalchemy import select, text

from bench import scale, telemetry

INTERVAL_SECONDS = 10
PER_DAY = 24 * 3600 // INTERVAL_SECONDS
TRIPS_PER_DAY = 4
# The non-location signals of ``telemetry.car_message``, each as the server computes it from the car (v)
# and the message's number in its day (g); ``:d`` is the day's number. A car drives the day's four
# trips (40 minutes from 06:00, 09:00, 12:00 and 15:00, as the trip rows say) and stands still between
# them: a car that never stopped would be one trip a month long, which no fleet reports.
MOVING = "((g * 10) / 3600 IN (6, 9, 12, 15) AND (g * 10) % 3600 < 2400)"
DRIVEN_TODAY = ("(LEAST(4, GREATEST(0, floor(((g * 10) - 24000)::float8 / 10800)::int + 1)) * 40 "
                f"+ CASE WHEN {MOVING} THEN (g * 10) % 3600 / 60 ELSE 0 END)")  # km, 1 km a minute
SIGNALS = {
    "Vehicle.Speed": f"to_json(CASE WHEN {MOVING} THEN ((g * 7 + v) % 90 + 30)::float8 ELSE 0.0 END)",
    "Vehicle.TraveledDistance": f"to_json(10000 + v + CAST(:d AS int) * 160 + {DRIVEN_TODAY})",
    "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current": "to_json(90 - (g % 60) * 0.5)",
    "Vehicle.LowVoltageBattery.CurrentVoltage": "to_json(12.6)",
}
_FROM = ("FROM generate_series(0, :per_day - 1) AS g CROSS JOIN unnest(CAST(:ids AS bigint[])) AS v "
         "CROSS JOIN LATERAL (SELECT CAST(:day AS timestamptz) + g * interval '10 seconds' "
         "+ interval '7 seconds' AS at) AS t")


def midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _driver_car(url: str) -> tuple[int, str]:
    """The demo driver's current car: the page is timed as its owner sees it."""
    from forecourt.core.db import get_engine, make_sessionmaker, transaction
    from forecourt.customers.models import Customer
    from forecourt.demo import driver
    from forecourt.telematics import devices
    from forecourt.telematics.models import Device
    from forecourt.telematics.readings import Source
    from forecourt.vehicles.models import Ownership, Vehicle

    with transaction(make_sessionmaker(get_engine(url))) as session:
        vehicle_id, vin = session.execute(
            select(Vehicle.id, Vehicle.vin).join(Ownership, Ownership.vehicle_id == Vehicle.id)
            .join(Customer, Customer.id == Ownership.customer_id)
            .where(Customer.email == driver.EMAIL, Ownership.ended_at.is_(None)).order_by(Vehicle.id).limit(1)).one()
        if session.scalar(select(Device.id).where(Device.kind == Source.EMBEDDED.value, Device.identifier == vin)) is None:
            devices.register(session=session, kind=Source.EMBEDDED, identifier=vin, vehicle_id=vehicle_id)
    return vehicle_id, vin


def _vehicle_ids(url: str, vins: list[str]) -> list[int]:
    from forecourt.core.db import get_engine
    from forecourt.telematics.models import Device

    with get_engine(url).connect() as conn:
        return sorted(conn.scalars(select(Device.vehicle_id).where(Device.identifier.in_(vins))).all())


def make_months(url: str, first: datetime, last: datetime) -> None:
    """The month partitions of the simulated month, as the scheduler would have made them ahead."""
    from forecourt.core import partitions
    from forecourt.core.db import get_engine, make_sessionmaker, transaction

    with transaction(make_sessionmaker(get_engine(url))) as session:
        month = partitions.month_start(first)
        while month <= last:
            for table in partitions.PARTITIONED:
                partitions.create_month(session, table, month)
            month = partitions.month_start(month, 1)


def bulk_load(url: str, *, vehicle_ids: list[int], first_day: datetime, days: int, console: Console) -> dict:
    """Days ``1..days`` of history for every car, one transaction per day."""
    from forecourt.core.db import get_engine

    engine = get_engine(url)
    began, rows = time.perf_counter(), 0
    for number in range(days):
        day = first_day + timedelta(days=number)
        params = {"per_day": PER_DAY, "ids": vehicle_ids, "day": day, "d": number}
        with engine.begin() as conn:
            for path, value in SIGNALS.items():
                rows += conn.execute(text(
                    f"INSERT INTO telematics_samples (vehicle_id, measured_at, path, value) "
                    f"SELECT v, t.at, :path, {value} {_FROM}"),
                    params | {"path": path}).rowcount
            rows += conn.execute(text(
                "INSERT INTO telematics_positions (vehicle_id, measured_at, latitude, longitude, speed_kmh, "
                f"heading, source) SELECT v, t.at, 48.0 + (v % 500) * 0.01 + {DRIVEN_TODAY} * 0.001, 9.0 + {DRIVEN_TODAY} "
                f"* 0.001, CASE WHEN {MOVING} THEN ((g * 7 + v) % 90 + 30)::float8 ELSE 0.0 END, "
                f"((v * 13 + g) % 360)::float8, 'embedded' {_FROM}"), params).rowcount
            rows += conn.execute(text(
                "INSERT INTO telematics_received (message_key, received_at) SELECT "
                "lpad(to_hex(extract(epoch FROM t.at)::bigint), 10, '0') || md5(v || ':' || g), t.at "
                f"{_FROM}"), params).rowcount
            rows += conn.execute(text(
                "INSERT INTO telematics_trips (vehicle_id, started_at, ended_at, is_open, end_reason, "
                "start_latitude, start_longitude, end_latitude, end_longitude, distance_km, distance_source, "
                "max_speed_kmh, avg_speed_kmh, route, updated_at) SELECT v, "
                "CAST(:day AS timestamptz) + (6 + k * 3) * interval '1 hour', "
                "CAST(:day AS timestamptz) + (6 + k * 3) * interval '1 hour' + interval '40 minutes', false, "
                "'ignition_off', 48.0, 9.0, 48.1, 9.1, 31.5, 'odometer', 118.0, 47.0, "
                "CAST('[[48.0, 9.0], [48.05, 9.05], [48.1, 9.1]]' AS json), CAST(:day AS timestamptz) "
                "FROM unnest(CAST(:ids AS bigint[])) AS v CROSS JOIN generate_series(0, :trips - 1) AS k"),
                params | {"trips": TRIPS_PER_DAY}).rowcount
        console.print(f"[dim]long life: day {number + 1} of {days} loaded ({rows:,} rows so far)[/dim]")
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    seconds = time.perf_counter() - began
    last = first_day + timedelta(days=days - 1, seconds=(PER_DAY - 1) * INTERVAL_SECONDS + 7)
    return {"longlife_rows_loaded": rows, "longlife_load_seconds": round(seconds, 1),
            "longlife_rows_per_s_loaded": round(rows / seconds),
            **as_the_detector_left_it(url, vehicle_ids=vehicle_ids, since=first_day, last_reading=last),
            **settle(url)}


def settle(url: str) -> dict:
    """The loaded tables as a month in service leaves them: vacuumed (autovacuum runs on them as
    they fill) and written out (checkpoints spread over the month). Loaded in minutes, they are
    neither, and the thirtieth day's stream would otherwise run beside the vacuuming and the writing
    of the month's gigabytes — a cost of the bulk load, not of history."""
    from forecourt.core.db import get_engine

    began = time.perf_counter()
    with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) telematics_samples, telematics_positions, telematics_received, "
                          "telematics_trips"))
        conn.execute(text("CHECKPOINT"))
    return {"longlife_settle_seconds": round(time.perf_counter() - began, 1)}


def as_the_detector_left_it(url: str, *, vehicle_ids: list[int], since: datetime, last_reading: datetime) -> dict:
    """What the detector would have kept over the loaded month, which the bulk load went around:
    each loaded trip's driving facts, kept as it closed (``score.plan_facts``), and each car's trip
    mark after its last evening of standing (``telematics.trip_marks``), taken at its latest: the
    newest reading seen as it arrived, and the next rebuild reading from 65 minutes before it (the
    mark moves on at most every 30 minutes, to 5 minutes before a reading seen 30 minutes earlier)."""
    from forecourt.core.db import get_engine, make_sessionmaker, transaction
    from forecourt.telematics import score

    began = time.perf_counter()
    with transaction(make_sessionmaker(get_engine(url))) as session:
        kept = score.keep_facts(session=session, planned=score.plan_facts(
            session=session, since=dict.fromkeys(vehicle_ids, since)))
        marked = session.execute(text(
            "INSERT INTO telematics_trip_marks (vehicle_id, latest_start, latest_end, read_from, seen_until, seen_at) "
            "SELECT t.vehicle_id, t.started_at, t.ended_at, CAST(:last AS timestamptz) - interval '65 minutes', :last, "
            ":last FROM telematics_trips t WHERE (t.vehicle_id, t.started_at) IN (SELECT vehicle_id, max(started_at) "
            "FROM telematics_trips WHERE vehicle_id = ANY(:ids) GROUP BY vehicle_id) "
            "ON CONFLICT (vehicle_id) DO UPDATE SET latest_start = excluded.latest_start, latest_end = "
            "excluded.latest_end, read_from = excluded.read_from, seen_until = excluded.seen_until, "
            "seen_at = excluded.seen_at"), {"last": last_reading, "ids": vehicle_ids}).rowcount
    return {"longlife_trip_facts_kept": kept, "longlife_trip_marks_kept": marked,
            "longlife_trip_facts_seconds": round(time.perf_counter() - began, 1)}


def time_page(url: str, vin: str, *, requests: int) -> dict:
    """p50/p95 of the owner's vehicle page and of its live refresh (JSON), through a real server."""
    from bench.server import serving
    from forecourt.core.config import get_settings
    from forecourt.demo import driver

    settings = get_settings(database_url=url)
    timings: dict[str, list[float]] = {"page": [], "live": []}
    with serving(settings) as (base_url, _app), httpx.Client(base_url=base_url, timeout=60) as client:
        form = re.search(r'name="form_token" value="([^"]+)"', client.get("/login").text)
        answer = client.post("/login", data={"email": driver.EMAIL, "password": settings.demo_password,
                                             "form_token": form.group(1) if form else ""})
        if answer.status_code != 303:
            raise RuntimeError(f"the driver could not log in ({answer.status_code})")
        for round_ in range(requests + 5):  # five untimed
            for name, path in (("page", f"/me/vehicles/{vin}"), ("live", f"/me/vehicles/{vin}/live")):
                began = time.perf_counter()
                response = client.get(path)
                elapsed = time.perf_counter() - began
                if response.status_code not in (200, 403):  # 403: the live refresh says the subscription lapsed
                    raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
                if round_ >= 5:
                    timings[name].append(elapsed * 1000)
    figures = {}
    for name, values in timings.items():
        values.sort()
        figures[f"{name}_p50_ms"] = round(statistics.median(values), 1)
        figures[f"{name}_p95_ms"] = round(values[max(0, int(len(values) * 0.95) - 1)], 1)
    return figures


class WriterProbe:
    """A writer beside the retention, as ingest is: one sample inserted (and rolled back) every 10 ms,
    each timed, so the longest wait is what retention held writers up by; its longest wait in the
    second before retention begins is the same run's baseline (what the loaded machine alone costs)."""

    def __init__(self, url: str):
        import threading

        self.url, self.waits = url, []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from forecourt.core.db import get_engine

        with get_engine(self.url).connect() as conn:
            vehicle = conn.scalar(text("SELECT min(id) FROM vehicles"))
            conn.rollback()
            while not self.stop_event.is_set():
                began = time.perf_counter()
                conn.execute(text("INSERT INTO telematics_samples (vehicle_id, measured_at, path, value) "
                                  "VALUES (:v, now(), 'Vehicle.Speed', '1')"), {"v": vehicle})
                conn.rollback()
                self.waits.append(time.perf_counter() - began)
                self.stop_event.wait(0.01)

    def __enter__(self) -> WriterProbe:
        self.thread.start()
        time.sleep(1.0)  # the baseline: its waits before retention begins
        self.before = len(self.waits)
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(0.2)
        self.stop_event.set()
        self.thread.join(10)


def retention(url: str, *, now: datetime) -> dict:
    """The months before this one taken out as the retention jobs do: each table's months detached in
    a transaction of its own (the step writers can wait for), then each detached month dropped in a
    transaction of its own (its files removed), each step timed, with a writer beside them timing
    its longest wait."""
    from forecourt.core import partitions
    from forecourt.core.db import get_engine, make_sessionmaker, transaction
    from forecourt.telematics import ledger

    sessions = make_sessionmaker(get_engine(url))
    cutoff = partitions.month_start(now)
    with sessions() as session:
        rows = session.scalar(text("SELECT count(*) FROM telematics_samples WHERE measured_at < :c"), {"c": cutoff})
        rows += session.scalar(text("SELECT count(*) FROM telematics_positions WHERE measured_at < :c"), {"c": cutoff})
        size = session.scalar(text(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid "
            "WHERE c.relname = ANY(:names)"), {"names": [partitions.partition_name(table, partitions.month_start(
                now, -1)) for table in partitions.PARTITIONED]})
    with sessions() as session:  # an autovacuum of the month holds a lock the detach waits for
        vacuuming = session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' "
            "AND datname = current_database() AND query LIKE '%telematics_%'"))
    detached = 0
    with WriterProbe(url) as probe:
        began = time.perf_counter()
        for table in partitions.PARTITIONED:  # a transaction each, as each table's retention job runs
            with transaction(sessions) as session:
                if table == ledger.LEDGER:  # as its job does: keys received since the cutoff are kept
                    detached += ledger.forget_months(session=session, cutoff=cutoff)[0]
                else:
                    detached += partitions.detach_before(session=session, table=table, cutoff=cutoff)[0]
        detach_seconds = time.perf_counter() - began
        began = time.perf_counter()
        dropped = sum(partitions.drop_all_detached(sessions, table) for table in partitions.PARTITIONED)
        drop_seconds = time.perf_counter() - began
    return {"longlife_retention_seconds": round(detach_seconds, 3),
            "longlife_retention_drop_seconds": round(drop_seconds, 3),
            "longlife_retention_writer_longest_wait_ms": round(max(probe.waits[probe.before:]) * 1000, 1),
            "longlife_retention_writer_longest_wait_ms_before": round(max(probe.waits[:probe.before]) * 1000, 1),
            "longlife_retention_writer_inserts": len(probe.waits) - probe.before,
            "longlife_retention_partitions_dropped": dropped, "longlife_retention_partitions_detached": detached,
            "longlife_retention_rows_dropped": rows, "longlife_retention_bytes_dropped": int(size or 0),
            "longlife_retention_autovacuums_before": vacuuming}


def run(fleet: telemetry.Fleet, broker: str, *, cars: int, days: int, messages: int, page_requests: int,
        logs: Path, console: Console) -> dict:
    now = datetime.now(UTC).replace(microsecond=0)
    first_day = midnight(now) - timedelta(days=days - 1)
    _, driver_vin = _driver_car(fleet.url)
    vins = [driver_vin, *[vin for vin in fleet.vins if vin != driver_vin][:max(cars - 1, 0)]]
    streamed = dataclasses.replace(fleet, vins=vins)
    make_months(fleet.url, first_day, now)
    scale._reset(fleet.url)
    per_car = messages // len(vins) + 1
    day_one = scale.ingest_throughput(streamed, broker, workers=1, shared=False, messages=messages, logs=logs,
                                      reset=False, start=first_day + timedelta(hours=1))
    console.print(f"long life, day 1 (empty tables): {day_one['msg_per_s']:,} msg/s")
    page_day_one = time_page(fleet.url, driver_vin, requests=page_requests)
    loaded = bulk_load(fleet.url, vehicle_ids=_vehicle_ids(fleet.url, vins), first_day=first_day,
                       days=days - 1, console=console)
    day_last = scale.ingest_throughput(streamed, broker, workers=1, shared=False, messages=messages, logs=logs,
                                       reset=False, start=now - timedelta(seconds=5 * per_car + 60))
    console.print(f"long life, day {days} (full tables): {day_last['msg_per_s']:,} msg/s")
    page_day_last = time_page(fleet.url, driver_vin, requests=page_requests)
    figures = {"longlife_cars": len(vins), "longlife_days": days, "longlife_messages_per_car_per_day": PER_DAY,
               "longlife_stream_messages": messages, **loaded,
               "longlife_msg_per_s_day_1": day_one["msg_per_s"], f"longlife_msg_per_s_day_{days}": day_last["msg_per_s"],
               "longlife_msg_per_s_last_day": day_last["msg_per_s"],
               "longlife_last_day_vs_first": round(day_last["msg_per_s"] / day_one["msg_per_s"], 3),
               "vehicle_page_p50_ms_day_1": page_day_one["page_p50_ms"],
               "vehicle_page_p95_ms_day_1": page_day_one["page_p95_ms"],
               "vehicle_page_p50_ms_30_days": page_day_last["page_p50_ms"],
               "vehicle_page_p95_ms_30_days": page_day_last["page_p95_ms"],
               "vehicle_live_p95_ms_day_1": page_day_one["live_p95_ms"],
               "vehicle_live_p95_ms_30_days": page_day_last["live_p95_ms"],
               "vehicle_page_requests": page_requests}
    with scale_engine(fleet.url) as conn:
        figures["longlife_table_rows"] = {table: conn.scalar(text(f"SELECT count(*) FROM {table}")) for table in (
            "telematics_samples", "telematics_positions", "telematics_received", "telematics_trips")}
    figures |= retention(fleet.url, now=now)
    console.print(f"long life: vehicle page p95 {figures['vehicle_page_p95_ms_day_1']} ms on day 1, "
                  f"{figures['vehicle_page_p95_ms_30_days']} ms with {days} days; retention detached "
                  f"{figures['longlife_retention_partitions_detached']} partitions in "
                  f"{figures['longlife_retention_seconds']} s and dropped them in "
                  f"{figures['longlife_retention_drop_seconds']} s (a writer waited at most "
                  f"{figures['longlife_retention_writer_longest_wait_ms']} ms)")
    return figures


def scale_engine(url: str):
    from forecourt.core.db import get_engine

    return get_engine(url).connect()
