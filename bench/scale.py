"""Beyond one machine, measured on PostgreSQL (``python -m bench --only scale``).

* **Scaling** (``scale_steps``, profiled by ``scale_profile``): the same QoS 1 stream drained by 1, 2
  and 4 ``forecourt ingest`` processes sharing ``$share/bench/vehicles/+/telemetry`` on a private
  Mosquitto 2, each pinned to one core (``taskset``) where the machine has them; the baseline is one
  worker on a plain subscription, the embedded default, in the same run.
* **Fault tolerance** (``scale_fault``): one of two workers SIGKILLed mid-stream.
* **Long life** (``scale_longlife``): ingest and the vehicle page on the first and the last day of a
  month of history, and retention of the older month.
* **Consoles**: N open console streams for a few seconds, each asking the database itself (how the
  console worked before ``web.live``) and then following the process's one watcher (LISTEN/NOTIFY);
  the database statements both made, counted on the engine. Then the same N on two web processes
  (``bench.live``): the database's transactions at rest against a baseline without consoles, and
  the time from an SOS posted to one process to its event on every stream of both.
* **Retention**: a month of positions dropped as a partition next to the same rows deleted.

Writes ``bench/results/scaling.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from sqlalchemy import event, text

from bench import live, report, telemetry
from bench.broker import private_mosquitto

RESULTS = Path(__file__).resolve().parent / "results" / "scaling.json"
PG_URL = os.environ.get("FORECOURT_BENCH_SCALE_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/forecourt_bench_scale")
GROUP = "bench"
DERIVED = ("telematics_received", "telematics_samples", "telematics_positions", "telematics_twin",
           "telematics_trips", "telematics_health", "telematics_events", "process_heartbeats")


@dataclass(frozen=True)
class Sizes:
    messages: int = 40_000
    cars: int = 2_000
    consoles: int = 200
    console_seconds: float = 5.0
    retention_rows: int = 500_000
    fault_messages: int = 100_000  # the stream one of two workers is killed in (bench/scale_fault.py)
    longlife_cars: int = 100  # the month's fleet (bench/scale_longlife.py); the goal's is 10,000
    longlife_days: int = 30
    longlife_messages: int = 20_000  # streamed through the worker on the first and the last day
    page_requests: int = 100


def _reset(url: str) -> None:
    from forecourt.core.db import get_engine

    with get_engine(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(DERIVED)} CASCADE"))


def _stored(url: str, since: datetime | None = None) -> int:
    """Messages stored (since a moment: an index range, cheap however full the ledger is)."""
    from forecourt.core.db import get_engine

    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT count(*) FROM telematics_received WHERE received_at >= :since"),
                            {"since": since or datetime(2000, 1, 1, tzinfo=UTC)}).scalar()


def forget_sessions(broker: str, client_ids: list[str]) -> None:
    """Ends the stopped workers' persistent sessions at the broker. A session outlives its worker (that
    is what keeps a killed worker's messages), and Mosquitto goes on handing an absent member of a
    shared subscription its share — so a worker retired for good must end its session like this."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    host, port = broker.removeprefix("mqtt://").split(":")
    for client_id in client_ids:
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=mqtt.MQTTv5)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 0
        client.connect(host, int(port), clean_start=True, properties=properties)
        client.loop_start()
        time.sleep(0.2)
        client.disconnect()
        client.loop_stop()


def _workers(url: str, broker: str, count: int, shared: bool, logs: Path) -> list[subprocess.Popen]:
    cores = os.cpu_count() or 1
    processes = []
    for i in range(count):
        env = os.environ | {"FORECOURT_DATABASE_URL": url, "FORECOURT_HEARTBEAT_SECONDS": "0.5"}
        if shared:
            env["FORECOURT_INGEST_SHARE_GROUP"] = GROUP
        pin = ["taskset", "-c", str(i % cores)] if cores > 1 else []
        command = [*pin, sys.executable, "-m", "forecourt.cli", "ingest", "--mqtt", broker, "--client-id",
                   f"bench-ingest-{count}-{i}-{uuid.uuid4().hex[:6]}", "--store-processes", "1"]
        processes.append(subprocess.Popen(command, env=env, stdout=(logs / f"ingest-{count}-{i}.log").open("wb"),
                                          stderr=subprocess.STDOUT))
    return processes


def _forget_heartbeats(url: str) -> None:
    from forecourt.core.db import get_engine

    with get_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM process_heartbeats"))


def _subscribed(url: str, count: int) -> bool:
    from forecourt.core.db import get_engine

    with get_engine(url).connect() as conn:
        beats = conn.execute(text("SELECT counters FROM process_heartbeats WHERE role = 'ingest'")).scalars().all()
    return len(beats) >= count and all("messages" in json.loads(b or "{}") for b in beats)


def ingest_throughput(fleet: telemetry.Fleet, broker: str, *, workers: int, shared: bool, messages: int,
                      logs: Path, reset: bool = True, start: datetime | None = None, meter=None) -> dict:
    """Messages per second from the first publish to the last commit, the stream drained by ``workers``.
    ``reset=False`` keeps what the tables hold (the long-life run); ``start``: the stream's first moment;
    ``meter`` (``scale_profile.CpuMeter``) is started at the first publish and stopped at the last commit."""
    if reset:
        _reset(fleet.url)
    else:
        _forget_heartbeats(fleet.url)
    since = datetime.now(UTC)
    processes = _workers(fleet.url, broker, workers, shared, logs)
    try:
        deadline = time.monotonic() + 180
        while not _subscribed(fleet.url, workers):  # each worker's heartbeat carries its counters once it runs
            if time.monotonic() > deadline:
                raise RuntimeError("the ingest workers did not start")
            time.sleep(0.5)
        time.sleep(2.0)  # subscriptions confirmed a moment after the first beat
        start = start or telemetry._stream_start(messages, len(fleet.vins))
        if meter is not None:
            meter.start()
        began = time.perf_counter()
        sender = threading.Thread(target=telemetry.publish_backlog, args=(broker, fleet.vins, messages, start),
                                  daemon=True)
        sender.start()
        deadline = time.monotonic() + 900
        while _stored(fleet.url, since) < messages:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {_stored(fleet.url, since):,} of {messages:,} stored")
            time.sleep(0.05)
        seconds = time.perf_counter() - began
        if meter is not None:
            meter.stop()
        sender.join(60)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(120)
        forget_sessions(broker, [p.args[p.args.index("--client-id") + 1] for p in processes])
    return {"msg_per_s": round(messages / seconds), "seconds": round(seconds, 2)}


def console_load(url: str, *, consoles: int, seconds: float) -> dict:
    """Statements per second N console streams make the database run, polling vs pushed."""
    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.web.live import CaseWatch
    from forecourt.web.views.console import case_changes

    engine = get_engine(url)
    sessions = make_sessionmaker(engine)
    counted = {"n": 0}

    def count(*_):
        counted["n"] += 1

    async def streams(watch) -> None:
        async def one() -> None:
            async for _ in case_changes(sessions, after=0, lifetime=seconds, heartbeat=60, watch=watch):
                pass
        await asyncio.gather(*(one() for _ in range(consoles)))

    figures = {}
    event.listen(engine, "before_cursor_execute", count)
    try:
        for name, watch in (("polling", None), ("pushed", CaseWatch(url))):
            if watch is not None:
                watch.start()
            counted["n"] = 0
            began = time.perf_counter()
            asyncio.run(streams(watch))
            elapsed = time.perf_counter() - began
            # the watcher's own reads go through the same engine, so they are counted too
            figures[f"console_{name}_queries_per_s"] = round(counted["n"] / elapsed, 1)
            if watch is not None:
                watch.stop()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return figures


def retention(url: str, *, rows: int) -> dict:
    """One month of ``rows`` positions dropped as a partition; the same rows in another month deleted."""
    from forecourt.core import partitions
    from forecourt.core.db import get_engine, make_sessionmaker, transaction

    engine = get_engine(url)
    now = datetime.now(UTC)
    dropped_month, deleted_month = partitions.month_start(now, -14), partitions.month_start(now, -13)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        vehicle = session.scalar(text("SELECT min(id) FROM vehicles"))
        for month in (dropped_month, deleted_month):
            partitions.create_month(session, "telematics_positions", month)
            session.execute(text(
                "INSERT INTO telematics_positions (vehicle_id, measured_at, latitude, longitude, source) "
                "SELECT :vehicle, :month + (g * interval '1 second'), 52.5, 13.4, 'embedded' "
                "FROM generate_series(1, :rows) g"), {"vehicle": vehicle, "month": month, "rows": rows})
        session.execute(text("ANALYZE telematics_positions"))
    began = time.perf_counter()
    with transaction(sessions) as session:
        session.execute(text("DELETE FROM telematics_positions WHERE measured_at >= :a AND measured_at < :b"),
                        {"a": deleted_month, "b": partitions.month_start(deleted_month, 1)})
    delete_seconds = time.perf_counter() - began
    began = time.perf_counter()
    with transaction(sessions) as session:
        dropped, _ = partitions.detach_before(session=session, table="telematics_positions",
                                              cutoff=partitions.month_start(dropped_month, 1))
    partitions.drop_all_detached(sessions, "telematics_positions")
    drop_seconds = time.perf_counter() - began
    with transaction(sessions) as session:
        partitions.detach_before(session=session, table="telematics_positions", cutoff=partitions.month_start(now, -12))
    partitions.drop_all_detached(sessions, "telematics_positions")
    return {"retention_rows": rows, "retention_row_delete_seconds": round(delete_seconds, 3),
            "retention_partition_drop_seconds": round(drop_seconds, 3), "retention_partitions_dropped": dropped}


PARTS = ("steps", "fault", "longlife", "consoles", "retention")


def run(*, sizes: Sizes, output: Path | None, console: Console, parts: tuple[str, ...] = PARTS) -> dict:
    """Every part by default; ``parts`` names some, to measure them again on their own (their keys
    replace the same keys in ``output``, the others stay as they were)."""
    from bench import scale_fault, scale_longlife, scale_steps

    url = PG_URL
    fleet = telemetry.prepare_fleet("postgresql", url, cars=sizes.cars, trackers=0, console=console)
    figures: dict = {"engine": "postgresql", "cores": os.cpu_count(), "load_before": telemetry.load(),
                     "parts_measured": list(parts)}
    if "steps" in parts:
        figures |= {"messages": sizes.messages, "cars": sizes.cars}
    machine = report.machine(url)
    try:
        with tempfile.TemporaryDirectory() as folder, private_mosquitto(Path(folder)) as broker:
            if "steps" in parts:
                figures |= scale_steps.measure(fleet, broker, sizes=sizes, logs=Path(folder), console=console)
            if "fault" in parts:
                figures |= scale_fault.run(fleet, broker, messages=sizes.fault_messages, logs=Path(folder),
                                           console=console)
            if "longlife" in parts:
                figures |= scale_longlife.run(fleet, broker, cars=sizes.longlife_cars, days=sizes.longlife_days,
                                              messages=sizes.longlife_messages, page_requests=sizes.page_requests,
                                              logs=Path(folder), console=console)
        if "consoles" in parts:
            figures |= console_load(url, consoles=sizes.consoles, seconds=sizes.console_seconds)
            figures["consoles"] = sizes.consoles
            console.print(f"{sizes.consoles} consoles: polling {figures['console_polling_queries_per_s']:,} "
                          f"queries/s, pushed {figures['console_pushed_queries_per_s']:,}")
            # the same consoles on two web processes: what they cost at rest, and an alert's way to all of them
            figures |= live.consoles_on_two_processes(url, fleet.vins, consoles=sizes.consoles, console=console)
        if "retention" in parts:
            figures |= retention(url, rows=sizes.retention_rows)
            console.print(f"retention of {sizes.retention_rows:,} positions: row delete "
                          f"{figures['retention_row_delete_seconds']} s, partition drop "
                          f"{figures['retention_partition_drop_seconds']} s")
    finally:
        telemetry.drop("postgresql", url)
    figures["load_after"] = telemetry.load()
    kept = json.loads(output.read_text()) if output is not None and output.exists() else {}
    if set(parts) != set(PARTS):  # the other parts' figures stay; this run's load is named after its parts
        figures = kept.get("figures", {}) | {f"{key}_{'_'.join(parts)}" if key in ("load_before", "load_after")
                                             else key: value for key, value in figures.items()}
    # what other benchmarks write into the file (the pipeline page's figures) stays as it is
    document = {key: value for key, value in kept.items() if key not in ("machine", "figures", "reproduce")} | {
        "machine": machine, "figures": figures,
        "reproduce": "make bench (or .venv/bin/python -m bench --only scale [--scale-parts ...])"}
    if output is not None:
        report.write(output, document)
    return document
