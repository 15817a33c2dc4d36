"""Fault tolerance: one of two ingest workers SIGKILLed in the middle of a QoS 1 stream.

Two ``forecourt ingest`` processes share ``$share/bench/vehicles/+/telemetry`` (each pinned to a
core, as in the scaling run). When 40 % of the stream is stored, one is killed with SIGKILL — no
chance to finish its batch or say goodbye — and started again two seconds later with the same
client id, as a supervisor would (its persistent session at the broker holds what it had not
acknowledged). Then the same stream, with the same timestamps, goes through two workers that nobody
kills. Compared:

* every message stored exactly once: each message is one car at one moment, so its ``Vehicle.Speed``
  sample is counted per (car, moment) — ``lost_after_kill`` moments missing, ``duplicated_after_kill``
  samples beyond the first;
* the trips and the health of the cars, row for row, against the run without the kill. The broker
  spreads every car's messages over both workers, so every car is one the killed worker held.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import text

from bench import scale, telemetry

KILL_AT = 0.4  # of the stream stored
RESTART_AFTER_SECONDS = 2.0


def _restart(process: subprocess.Popen, url: str, logs: Path) -> subprocess.Popen:
    """The same command (core, client id) and environment as ``scale._workers`` gave it."""
    env = os.environ | {"FORECOURT_DATABASE_URL": url, "FORECOURT_HEARTBEAT_SECONDS": "0.5",
                        "FORECOURT_INGEST_SHARE_GROUP": scale.GROUP}
    return subprocess.Popen(process.args, env=env, stdout=(logs / "ingest-restarted.log").open("wb"),
                            stderr=subprocess.STDOUT)


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stream(fleet: telemetry.Fleet, broker: str, *, messages: int, start: datetime, kill: bool, logs: Path) -> dict:
    """The stream through two shared workers, one of them killed and restarted if ``kill``."""
    scale._reset(fleet.url)
    since = datetime.now(UTC)
    processes = scale._workers(fleet.url, broker, 2, True, logs)
    killed_at = None
    try:
        _wait(lambda: scale._subscribed(fleet.url, 2), 180, "two ingest workers")
        time.sleep(2.0)
        began = time.perf_counter()
        sender = threading.Thread(target=telemetry.publish_backlog, args=(broker, fleet.vins, messages, start),
                                  daemon=True)
        sender.start()
        if kill:
            _wait(lambda: scale._stored(fleet.url, since) >= messages * KILL_AT, 900, "the moment to kill")
            processes[0].send_signal(signal.SIGKILL)
            processes[0].wait(30)
            killed_at = scale._stored(fleet.url, since)
            time.sleep(RESTART_AFTER_SECONDS)
            processes[0] = _restart(processes[0], fleet.url, logs)
        _wait(lambda: scale._stored(fleet.url, since) >= messages, 900, f"all {messages:,} messages")
        seconds = time.perf_counter() - began
        sender.join(120)
        time.sleep(2.0)  # a late second copy would show now
    finally:
        for process in processes:
            process.terminate()  # each finishes its batch and rebuilds the trips and health it has pending
        for process in processes:
            process.wait(300)
        scale.forget_sessions(broker, [p.args[p.args.index("--client-id") + 1] for p in processes])
    return {"seconds": round(seconds, 2), "killed_at": killed_at, "exit_codes": [p.returncode for p in processes],
            **outcome(fleet.url)}


def outcome(url: str) -> dict:
    """What was stored, and each car's trips and health, by VIN."""
    from forecourt.core.db import get_engine

    with get_engine(url).connect() as conn:
        samples, moments = conn.execute(text(
            "SELECT count(*), count(DISTINCT (vehicle_id, measured_at)) FROM telematics_samples "
            "WHERE path = 'Vehicle.Speed'")).one()
        trips = conn.execute(text(
            "SELECT v.vin, t.started_at, t.ended_at, t.is_open, t.end_reason, round(t.distance_km::numeric, 3), "
            "t.max_speed_kmh FROM telematics_trips t JOIN vehicles v ON v.id = t.vehicle_id "
            "ORDER BY v.vin, t.started_at")).all()
        health = conn.execute(text(
            "SELECT v.vin, h.status, CAST(h.service AS text), CAST(h.battery AS text) FROM telematics_health h "
            "JOIN vehicles v ON v.id = h.vehicle_id ORDER BY v.vin")).all()
    return {"speed_samples": samples, "distinct_moments": moments, "trips": [tuple(row) for row in trips],
            "health": [tuple(row) for row in health]}


def run(fleet: telemetry.Fleet, broker: str, *, messages: int, logs: Path, console: Console) -> dict:
    # Both streams carry the same moments, long enough ago that each car's last trip is over in both.
    start = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    killed = stream(fleet, broker, messages=messages, start=start, kill=True, logs=logs)
    console.print(f"fault: one of two workers killed at {killed['killed_at']:,} of {messages:,} stored; "
                  f"{killed['distinct_moments']:,} messages stored, {killed['speed_samples']:,} samples")
    calm = stream(fleet, broker, messages=messages, start=start, kill=False, logs=logs)
    differing_cars = {row[0] for row in set(killed["trips"]) ^ set(calm["trips"])}
    differing_cars |= {row[0] for row in set(killed["health"]) ^ set(calm["health"])}
    figures = {
        "fault_messages": messages,
        "fault_killed_at_stored": killed["killed_at"],
        "lost_after_kill": messages - killed["distinct_moments"],
        "duplicated_after_kill": killed["speed_samples"] - killed["distinct_moments"],
        "lost_without_kill": messages - calm["distinct_moments"],
        "duplicated_without_kill": calm["speed_samples"] - calm["distinct_moments"],
        "fault_cars_compared": len({row[0] for row in calm["trips"]} | {row[0] for row in calm["health"]}),
        "fault_trip_rows": len(killed["trips"]),
        "fault_trip_rows_without_kill": len(calm["trips"]),
        "fault_health_rows": len(killed["health"]),
        "fault_cars_differing": len(differing_cars),
        "trips_identical_after_kill": killed["trips"] == calm["trips"],
        "health_identical_after_kill": killed["health"] == calm["health"],
        "fault_seconds_with_kill": killed["seconds"],
        "fault_seconds_without_kill": calm["seconds"],
        "fault_worker_exit_codes": killed["exit_codes"],
    }
    console.print(f"fault: lost {figures['lost_after_kill']}, duplicated {figures['duplicated_after_kill']}; "
                  f"trips identical {figures['trips_identical_after_kill']}, health identical "
                  f"{figures['health_identical_after_kill']} ({figures['fault_cars_compared']:,} cars)")
    return figures
