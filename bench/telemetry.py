"""Telemetry ingest throughput: MQTT QoS 1, the HTTP batch endpoint and Teltonika TCP.

Per engine, a fresh database gets a fleet from the demo builder (customers, cars, ownerships and
the consent grants the demo hands out, so the location-consent check sees real owners), plus an
embedded unit for each benchmark car and a few Teltonika trackers. Then:

* ``mqtt``: cars' VSS JSON messages (7 signals, location included) are published with QoS 1 to a
  private Mosquitto (unlimited inflight and queue) by a separate process, into the persistent
  session of a worker that is offline meanwhile. The real ``MqttIngestWorker`` then drains the
  backlog exactly as ``forecourt ingest`` runs it: decode, dedupe, consent, samples, positions,
  twin, commit, PUBACK, while the detector process beside it judges health and rebuilds trips for
  the cars each batch touched. Timed from the first batch taken until the last batch is done and
  the detector process has caught up with it. Draining a backlog keeps the publisher's CPU out of the
  measurement on a small machine; a live fleet publishes from elsewhere.
* ``baseline``: the same messages through a bare subscriber (the same MQTT client and batching) that only
  JSON-decodes, inserts flat rows into a plain table, commits and acknowledges. The distance to it
  is what the platform's checks cost; the two are measured one after another in the same run.
* ``http``: concurrent httpx clients (another process) post batches of samples to
  ``POST /api/telemetry/{vin}`` on a real uvicorn server.
* ``teltonika``: simulated trackers (another process) hold TCP connections to the real listener
  and send Codec 8 frames of several records each, waiting for each acknowledgement.
"""

from __future__ import annotations

import asyncio
import collections
import io
import json
import multiprocessing
import os
import queue
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, insert, select, text

from bench import datasets

DATA_DIR = datasets.DATA_DIR
PG_URL = os.environ.get("FORECOURT_BENCH_TELEMETRY_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/forecourt_bench_telemetry")
TOPIC = "vehicles/{vin}/telemetry"
BATCH_SIZE = 2000  # as `forecourt ingest` defaults
TARGET_MSG_PER_S = 10_000
TARGET_RATIO = 0.8
SIGNALS_PER_MESSAGE = 7
FIRST_IMEI = 356307042441000


def default_url(engine: str) -> str:
    return f"sqlite:///{DATA_DIR / 'telemetry.db'}" if engine == "sqlite" else PG_URL


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def device_secret(identifier: str) -> str:
    """Deterministic so the client process can sign requests without being told every secret."""
    return f"bench-secret-{identifier}"


# --- the fleet ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fleet:
    engine: str
    url: str
    vins: list[str]
    imeis: list[str]
    owned: int  # cars with a current owner (their positions need the owner's consent)
    built_seconds: float


def prepare_fleet(engine: str, url: str, *, cars: int, trackers: int, console: Console) -> Fleet:
    """A fresh database with ``cars`` embedded units and ``trackers`` Teltonika trackers."""
    from forecourt.bootstrap import prepare_database
    from forecourt.core import auth
    from forecourt.core.config import get_settings
    from forecourt.core.db import get_engine
    from forecourt.demo.network import build_demo_network
    from forecourt.telematics.models import Device
    from forecourt.telematics.readings import Source
    from forecourt.vehicles.models import Ownership, Vehicle

    started = time.perf_counter()
    datasets._recreate(engine, url)
    settings = get_settings(database_url=url)
    prepare_database(settings)
    build_demo_network(settings=settings, customers=cars + trackers, dealers=10, seed=7,
                       console=Console(file=io.StringIO()))
    db = get_engine(url)
    with db.begin() as conn:
        vehicles = conn.execute(select(Vehicle.id, Vehicle.vin).order_by(Vehicle.id).limit(cars + trackers)).all()
        if len(vehicles) < cars + trackers:
            raise RuntimeError(f"the demo builder made {len(vehicles)} cars; {cars + trackers} are needed")
        imeis = [str(FIRST_IMEI + i) for i in range(trackers)]
        rows = [{"kind": Source.EMBEDDED.value, "identifier": vin, "vehicle_id": vid,
                 "secret_digest": auth.token_digest(device_secret(vin)), "is_active": True}
                for vid, vin in vehicles[:cars]]
        rows += [{"kind": Source.TRACKER.value, "identifier": imei, "vehicle_id": vid,
                  "secret_digest": auth.token_digest(device_secret(imei)), "is_active": True}
                 for (vid, _), imei in zip(vehicles[cars:], imeis, strict=True)]
        conn.execute(insert(Device), rows)
        owned = conn.scalar(select(func.count(func.distinct(Ownership.vehicle_id))).where(
            Ownership.ended_at.is_(None), Ownership.vehicle_id.in_([v for v, _ in vehicles[:cars]])))
        if engine == "postgresql":
            conn.execute(text("ANALYZE"))
    console.print(f"[dim]{engine}: {cars:,} cars ({owned:,} owned) and {trackers} trackers in "
                  f"{time.perf_counter() - started:.1f} s[/dim]")
    return Fleet(engine=engine, url=url, vins=[vin for _, vin in vehicles[:cars]], imeis=imeis, owned=owned,
                 built_seconds=round(time.perf_counter() - started, 1))


def drop(engine: str, url: str) -> None:
    """PostgreSQL's bench database is dropped after the run; the SQLite file stays for inspection."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from forecourt.core.db import get_engine

    get_engine(url).dispose()
    get_engine(url, False).dispose()
    if engine != "postgresql":
        return
    admin = create_engine(datasets._pg_admin_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --- what a car sends ----------------------------------------------------------------------------

def car_message(vin_index: int, sequence: int, start: datetime) -> bytes:
    """One VSS JSON sample as an embedded unit publishes it every few seconds while driving."""
    at = start + timedelta(seconds=5 * sequence)
    return json.dumps({
        "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "Vehicle.Speed": float(30 + (sequence * 7 + vin_index) % 90),
        "Vehicle.TraveledDistance": 20_000 + vin_index + sequence // 3,
        "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current": float(90 - (sequence % 60) * 0.5),
        "Vehicle.LowVoltageBattery.CurrentVoltage": 12.6,
        "Vehicle.CurrentLocation.Latitude": round(48.0 + (vin_index % 500) * 0.01 + sequence * 0.0004, 6),
        "Vehicle.CurrentLocation.Longitude": round(9.0 + (vin_index // 500) * 0.01 + sequence * 0.0004, 6),
        "Vehicle.CurrentLocation.Heading": float((vin_index * 13 + sequence) % 360),
    }, separators=(",", ":")).encode()


def _stream_start(messages: int, cars: int) -> datetime:
    """Timestamps end about now, so trips and health treat the stream as current driving."""
    span = timedelta(seconds=5 * (messages // max(cars, 1) + 1))
    return (datetime.now(UTC) - span - timedelta(minutes=1)).replace(microsecond=0)


# --- MQTT ----------------------------------------------------------------------------------------

def _publish(broker: str, vins: list[str], messages: int, start: datetime, done) -> None:
    """Runs in its own process: publishes the whole stream with QoS 1 and waits for every PUBACK."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    host, port = broker.removeprefix("mqtt://").split(":")
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"bench-fleet-{uuid.uuid4().hex[:8]}",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.connect(host, int(port))
    client.loop_start()
    cars = len(vins)
    began = time.perf_counter()
    # At most 20,000 messages outstanding: paho numbers them with 16-bit ids, so a longer stream
    # must let acknowledged ones go before their ids come round again.
    pending: collections.deque = collections.deque()
    for m in range(messages):
        car = m % cars
        pending.append(client.publish(TOPIC.format(vin=vins[car]), car_message(car, m // cars, start), qos=1))
        if len(pending) >= 20_000:
            pending.popleft().wait_for_publish(600)
    for info in pending:
        info.wait_for_publish(600)
    elapsed = time.perf_counter() - began
    client.loop_stop()
    client.disconnect()
    done.put(elapsed)


def _result(done, process, timeout: float = 900):
    """The helper process's answer; fails at once if it died instead of answering."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return done.get(timeout=0.5)
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError(f"the helper process exited with code {process.exitcode}") from None
    raise RuntimeError("the helper process did not answer in time")


def publish_backlog(broker: str, vins: list[str], messages: int, start: datetime) -> float:
    """Publishes from a separate process; returns its publishing time in seconds."""
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    process = context.Process(target=_publish, args=(broker, vins, messages, start, done), daemon=True)
    process.start()
    try:
        elapsed = _result(done, process)
    finally:
        process.join(30)
    return elapsed


def prime_session(broker: str, client_id: str) -> None:
    """Creates the subscriber's persistent session, so the broker queues the backlog for it."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from forecourt.telematics.listeners.mqtt import SESSION_EXPIRY_SECONDS, TOPIC as WORKER_TOPIC

    subscribed = threading.Event()
    host, port = broker.removeprefix("mqtt://").split(":")
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_subscribe = lambda *_: subscribed.set()
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
    client.connect(host, int(port), clean_start=True, properties=properties)
    client.loop_start()
    client.subscribe(WORKER_TOPIC, qos=1)
    if not subscribed.wait(10):
        raise RuntimeError("the broker did not confirm the subscription")
    client.disconnect()
    client.loop_stop()


def _wait_for(count_of, target: int, timeout: float, thread: threading.Thread) -> None:
    deadline = time.monotonic() + timeout
    while count_of() < target:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"only {count_of():,} of {target:,} messages were processed")
        time.sleep(0.02)


def run_worker(url: str, broker: str, client_id: str, messages: int, *, batch_size: int = BATCH_SIZE) -> dict:
    """The product's worker, wired like ``forecourt ingest``, drains the backlog."""
    from forecourt.cli import ingest_worker

    # The workshop's handlers are left out: every demo car is overdue for service, so they would time
    # 5,000 one-off service proposals rather than ingest.
    worker, children = ingest_worker(url, broker, client_id=client_id, batch_size=batch_size,
                                     service_proposals=False)
    marks: dict[str, float] = {}
    handle = worker.handle

    def timed(batch, **kwargs):
        marks.setdefault("first", time.perf_counter())
        handle(batch, **kwargs)
        marks["last"] = time.perf_counter()

    worker.handle = timed
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="bench-mqtt-worker", daemon=True)
    thread.start()
    try:
        _wait_for(lambda: worker.stats.messages, messages, 900, thread)
        children.wait_until_caught_up()  # end to end: trips and health of the last batch are done too
        marks["last"] = max(marks["last"], time.perf_counter())
    finally:
        stop.set()
        thread.join(30)
        children.close()
    seconds = marks["last"] - marks["first"]
    stats = worker.stats
    return {"mqtt_qos1_msg_per_s": round(stats.messages / seconds),
            "mqtt_samples_per_s": round(stats.stored * SIGNALS_PER_MESSAGE / seconds),
            "mqtt_rows_written": _rows_written(url), "mqtt_readings_stored": stats.stored,
        "mqtt_duplicates": stats.duplicates, "mqtt_rejected": stats.rejected, "mqtt_batches": stats.batches,
        "mqtt_seconds": round(seconds, 2), "mqtt_messages": stats.messages}


def _rows_written(url: str) -> dict[str, int]:
    """What the pipeline wrote: location signals go to positions, and only with the owner's consent."""
    from forecourt.core.db import get_engine
    from forecourt.telematics.models import Position, Sample

    with get_engine(url).connect() as conn:
        samples = conn.scalar(select(func.count()).select_from(Sample))
        positions = conn.scalar(select(func.count()).select_from(Position))
    return {"samples": samples, "positions": positions}


BASELINE_TABLE = "bench_plain_samples"


def run_baseline(url: str, broker: str, client_id: str, messages: int, *, batch_size: int = BATCH_SIZE,
                 linger: float = 0.02) -> dict:
    """The least an ingest can do: decode, insert flat rows, commit, acknowledge.

    Same MQTT client, session, batch size and commit-then-PUBACK as the worker, so the ratio
    is what the product does beyond that."""
    from forecourt.core.db import get_engine

    engine = get_engine(url)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {BASELINE_TABLE}")
        conn.exec_driver_sql(f"CREATE TABLE {BASELINE_TABLE} (vin VARCHAR(17), measured_at VARCHAR(40), "
                             f"path VARCHAR(200), value {'DOUBLE PRECISION' if postgres else 'REAL'})")
    statement = f"INSERT INTO {BASELINE_TABLE} VALUES ({', '.join(['%s' if postgres else '?'] * 4)})"

    def store_plainly(batch: list[tuple[str, bytes]]) -> int:
        rows = []
        for topic, payload in batch:
            document = json.loads(payload)
            vin = topic.split("/")[1]
            at = document.pop("timestamp")
            rows.extend((vin, at, path, value) for path, value in document.items())
        with engine.begin() as conn:
            conn.exec_driver_sql(statement, rows)
        return len(rows)

    done, rows_written, seconds = asyncio.run(_drain_plainly(broker, client_id, messages, batch_size, linger, store_plainly))
    return {"baseline_msg_per_s": round(done / seconds), "baseline_samples_per_s": round(rows_written / seconds),
            "baseline_seconds": round(seconds, 2), "baseline_messages": done}


async def _drain_plainly(broker: str, client_id: str, messages: int, batch_size: int, linger: float,
                         insert) -> tuple[int, int, float]:
    import gmqtt
    from gmqtt.mqtt.constants import MQTTv50

    from forecourt.telematics.listeners.mqtt import (RECEIVE_MAXIMUM, SESSION_EXPIRY_SECONDS, Lane, acknowledge,
                                                      let_acknowledgements_out, take_qos1)

    loop = asyncio.get_running_loop()
    lane = Lane(batch_size=batch_size, linger=linger, arrived=asyncio.Event())
    client = gmqtt.Client(client_id, clean_session=False, optimistic_acknowledgement=False,
                          session_expiry_interval=SESSION_EXPIRY_SECONDS, receive_maximum=RECEIVE_MAXIMUM)
    take_qos1(client, lambda topic, payload, packet_id: lane.add((topic, payload), packet_id))  # as the worker
    host, port = broker.removeprefix("mqtt://").split(":")
    await client.connect(host, int(port), version=MQTTv50)
    done = rows_written = 0
    first = last = 0.0
    try:
        while done < messages:
            if not lane.batches:
                lane.arrived.clear()
                await asyncio.wait_for(lane.arrived.wait(), 60)
                continue
            first = first or time.perf_counter()
            if not lane.full:
                await asyncio.sleep(linger)
            batch = lane.batches.popleft()
            rows_written += await loop.run_in_executor(None, insert, batch.messages)
            acknowledge(client, batch)  # PUBACKs, now that the batch is committed
            done += len(batch.messages)
            last = time.perf_counter()
    finally:
        await let_acknowledgements_out()
        await client.disconnect()
    return done, rows_written, last - first


def measure_mqtt(fleet: Fleet, *, messages: int, console: Console) -> dict:
    """Baseline, then the worker, each draining the same-sized backlog through its own private broker."""
    from bench.broker import private_mosquitto

    start = _stream_start(messages, len(fleet.vins))
    figures: dict = {"messages": messages, "cars": len(fleet.vins), "cars_owned": fleet.owned,
                     "signals_per_message": SIGNALS_PER_MESSAGE, "batch_size": BATCH_SIZE}
    scratch = DATA_DIR / "mosquitto"
    scratch.mkdir(parents=True, exist_ok=True)
    for variant in ("baseline", "mqtt"):
        with private_mosquitto(scratch) as broker:
            client_id = f"bench-{variant}-{uuid.uuid4().hex[:8]}"
            prime_session(broker, client_id)
            # The baseline reuses the same timestamps: it has no dedupe and its own table.
            published = publish_backlog(broker, fleet.vins, messages, start)
            figures[f"{variant}_publish_msg_per_s"] = round(messages / published)
            figures[f"load_average_before_{variant}"] = load()
            if variant == "baseline":
                figures.update(run_baseline(fleet.url, broker, client_id, messages))
            else:
                figures.update(run_worker(fleet.url, broker, client_id, messages))
            figures[f"load_average_after_{variant}"] = load()
        console.print(f"[dim]{fleet.engine} {variant}: {figures[f'{variant}_msg_per_s' if variant == 'baseline' else 'mqtt_qos1_msg_per_s']:,} msg/s[/dim]")
    figures["ratio_to_baseline"] = round(figures["mqtt_qos1_msg_per_s"] / figures["baseline_msg_per_s"], 3)
    figures["meets_msg_per_s_target"] = figures["mqtt_qos1_msg_per_s"] >= TARGET_MSG_PER_S
    figures["meets_ratio_target"] = figures["ratio_to_baseline"] >= TARGET_RATIO
    return figures


# --- HTTP ----------------------------------------------------------------------------------------

def _http_body(car: int, request: int, per_request: int, start: datetime) -> bytes:
    samples = [json.loads(car_message(car, request * per_request + k, start)) for k in range(per_request)]
    return json.dumps({"samples": samples}, separators=(",", ":")).encode()


def _http_clients(base: str, vins: list[str], requests: int, warmup: int, per_request: int, concurrency: int,
                  start: datetime, done) -> None:
    """Runs in its own process: ``concurrency`` clients share one queue of requests."""
    import httpx

    bodies = [(vins[r % len(vins)], _http_body(r % len(vins), r // len(vins), per_request, start))
              for r in range(warmup + requests)]

    async def main() -> tuple[float, int, list[int]]:
        statuses: list[int] = []
        async with httpx.AsyncClient(base_url=base, timeout=120,
                                     limits=httpx.Limits(max_connections=concurrency)) as client:
            async def post(vin: str, body: bytes) -> None:
                try:
                    response = await client.post(f"/api/telemetry/{vin}", content=body, headers={
                        "Authorization": f"Bearer {device_secret(vin)}", "Content-Type": "application/json"})
                    statuses.append(response.status_code)
                except httpx.HTTPError:
                    statuses.append(0)  # counted as a failure; the run goes on

            async def lane(jobs: list[tuple[str, bytes]]) -> None:
                for vin, body in jobs:
                    await post(vin, body)

            await asyncio.gather(*(lane(bodies[i:warmup:concurrency]) for i in range(concurrency)))
            began = time.perf_counter()
            timed = bodies[warmup:]
            await asyncio.gather(*(lane(timed[i::concurrency]) for i in range(concurrency)))
            return time.perf_counter() - began, len(timed), statuses

    done.put(asyncio.run(main()))


def measure_http(fleet: Fleet, *, requests: int, per_request: int, concurrency: int, console: Console) -> dict:
    from bench.server import serving
    from forecourt.core.config import get_settings

    start = _stream_start(requests * per_request, len(fleet.vins)) - timedelta(days=1)  # apart from MQTT's stream
    warmup = max(concurrency * 2, requests // 20)
    before = load()
    with serving(get_settings(database_url=fleet.url)) as (base, _app):
        context = multiprocessing.get_context("spawn")
        done = context.Queue()
        process = context.Process(target=_http_clients, args=(base, fleet.vins, requests, warmup, per_request,
                                                              concurrency, start, done), daemon=True)
        process.start()
        try:
            seconds, sent, statuses = _result(done, process)
        finally:
            process.join(30)
    refused = sum(1 for s in statuses if s != 202)  # warm-up included; reported, not hidden
    console.print(f"[dim]{fleet.engine} http: {sent / seconds:,.0f} requests/s[/dim]")
    return {"http_requests": sent, "http_failed_requests": refused, "http_samples_per_request": per_request, "http_concurrency": concurrency,
            "http_requests_per_s": round((sent - refused) / seconds, 1),
            "http_samples_per_s": round((sent - refused) * per_request / seconds),
            "http_seconds": round(seconds, 2), "load_average_before_http": before, "load_average_after_http": load()}


# --- Teltonika -----------------------------------------------------------------------------------

def codec8_record(at_ms: int, *, latitude: float, longitude: float, speed: int, angle: int,
                  odometer_m: int, millivolts: int) -> bytes:
    """One Codec 8 AVL record: timestamp, priority, GPS element, then the IO element groups."""
    gps = struct.pack(">iihHBH", round(longitude * 1e7), round(latitude * 1e7), 120, angle, 9, speed)
    io1 = {239: 1, 240: 1}  # ignition, movement
    io2 = {66: millivolts}  # external voltage
    io4 = {16: odometer_m}  # total odometer
    elements = bytes([0, len(io1) + len(io2) + len(io4)])
    for size, group in ((1, io1), (2, io2), (4, io4), (8, {})):
        elements += bytes([len(group)]) + b"".join(bytes([k]) + v.to_bytes(size, "big") for k, v in group.items())
    return at_ms.to_bytes(8, "big") + b"\x00" + gps + elements


def codec8_frame(records: list[bytes]) -> bytes:
    from forecourt.telematics.decoders.teltonika import crc16_ibm

    data = bytes([0x08, len(records)]) + b"".join(records) + bytes([len(records)])
    return b"\x00\x00\x00\x00" + len(data).to_bytes(4, "big") + data + crc16_ibm(data).to_bytes(4, "big")


def _tracker_frames(index: int, frames: int, per_frame: int, start_ms: int) -> list[bytes]:
    out = []
    for f in range(frames):
        records = []
        for r in range(per_frame):
            n = f * per_frame + r
            records.append(codec8_record(start_ms + n * 10_000, latitude=50.0 + index * 0.01 + n * 0.0003,
                                         longitude=8.0 + n * 0.0003, speed=40 + n % 50, angle=(n * 3) % 360,
                                         odometer_m=1_000_000 + n * 120, millivolts=12_600))
        out.append(codec8_frame(records))
    return out


def _trackers(port: int, imeis: list[str], frames: int, per_frame: int, start_ms: int, done) -> None:
    """Runs in its own process: one connection per tracker, each frame waits for its ACK."""
    streams = [_tracker_frames(i, frames, per_frame, start_ms) for i in range(len(imeis))]

    async def tracker(imei: str, stream: list[bytes]) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(len(imei).to_bytes(2, "big") + imei.encode())
        await writer.drain()
        if await reader.readexactly(1) != b"\x01":
            raise RuntimeError(f"tracker {imei} was refused")
        acked = 0
        for frame in stream:
            writer.write(frame)
            await writer.drain()
            acked += int.from_bytes(await reader.readexactly(4), "big")
        writer.close()
        return acked

    async def main() -> tuple[float, int]:
        began = time.perf_counter()
        acked = await asyncio.gather(*(tracker(imei, stream) for imei, stream in zip(imeis, streams, strict=True)))
        return time.perf_counter() - began, sum(acked)

    done.put(asyncio.run(main()))


def measure_teltonika(fleet: Fleet, *, frames: int, per_frame: int, console: Console) -> dict:
    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.telematics.insights import Refresher
    from forecourt.telematics.listeners.teltonika import TeltonikaListener

    sessions = make_sessionmaker(get_engine(fleet.url))
    listener = TeltonikaListener(sessions=sessions, after_commit=Refresher(sessions).after_batch)
    ready: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()

    async def serve() -> None:
        server = await listener.serve("127.0.0.1", 0)
        ready.put(server.sockets[0].getsockname()[1])
        async with server:
            while not stop.is_set():
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=lambda: asyncio.run(serve()), name="bench-teltonika", daemon=True)
    thread.start()
    port = ready.get(timeout=20)
    start_ms = int((datetime.now(UTC) - timedelta(days=2)).timestamp()) * 1000
    before = load()
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    process = context.Process(target=_trackers, args=(port, fleet.imeis, frames, per_frame, start_ms, done),
                              daemon=True)
    process.start()
    try:
        seconds, acked = _result(done, process)
    finally:
        process.join(30)
        stop.set()
        thread.join(10)
    expected = len(fleet.imeis) * frames * per_frame
    if acked != expected:
        raise RuntimeError(f"the listener acknowledged {acked} of {expected} records")
    console.print(f"[dim]{fleet.engine} teltonika: {acked / seconds:,.0f} records/s[/dim]")
    return {"teltonika_connections": len(fleet.imeis), "teltonika_frames_per_connection": frames,
            "teltonika_records_per_frame": per_frame, "teltonika_records": acked,
            "teltonika_records_per_s": round(acked / seconds), "teltonika_frames_per_s": round(acked / per_frame / seconds, 1),
            "teltonika_seconds": round(seconds, 2), "load_average_before_teltonika": before,
            "load_average_after_teltonika": load()}


# --- the run -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sizes:
    messages: int = 100_000
    cars: int = 5_000
    http_requests: int = 400
    http_samples: int = 50
    http_concurrency: int = 4
    trackers: int = 20
    tracker_frames: int = 50
    records_per_frame: int = 10


def measure(engine: str, url: str, sizes: Sizes, console: Console, *, keep: bool = False) -> dict:
    load_before = load()
    fleet = prepare_fleet(engine, url, cars=sizes.cars, trackers=sizes.trackers, console=console)
    try:
        figures = {"fleet_built_seconds": fleet.built_seconds}
        figures |= measure_mqtt(fleet, messages=sizes.messages, console=console)
        # On SQLite, concurrent posts to the async endpoint stall on the write lock (one request holds
        # BEGIN IMMEDIATE across an await while another blocks the event loop in busy_timeout), so
        # SQLite is measured with one client until that is fixed.
        concurrency = 1 if engine == "sqlite" else sizes.http_concurrency
        figures |= measure_http(fleet, requests=sizes.http_requests, per_request=sizes.http_samples,
                                concurrency=concurrency, console=console)
        figures |= measure_teltonika(fleet, frames=sizes.tracker_frames, per_frame=sizes.records_per_frame,
                                     console=console)
    finally:
        if not keep:
            drop(engine, url)
    return {**figures, "load_average_before": load_before, "load_average_after": load()}


def document(results: dict[str, dict], *, sizes: Sizes, machine_info: dict) -> dict:
    return {"benchmark": "telemetry", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "messages": sizes.messages, "cars": sizes.cars, "target_msg_per_s": TARGET_MSG_PER_S,
            "target_ratio_to_baseline": TARGET_RATIO, **results, "machine": machine_info}


def table(results: dict[str, dict]):
    from rich.table import Table

    out = Table(title=f"Telemetry ingest throughput (target: ≥ {TARGET_MSG_PER_S:,} msg/s and ≥ "
                      f"{TARGET_RATIO:.0%} of the baseline)", title_justify="left")
    for column in ("engine", "path", "per second", "samples/s", "load before → after"):
        out.add_column(column, justify="left" if column in ("engine", "path") else "right")

    def span(figures, name):
        return f"{figures[f'load_average_before_{name}'][0]:.2f} → {figures[f'load_average_after_{name}'][0]:.2f}"

    for engine, f in results.items():
        style = "green" if f["meets_msg_per_s_target"] and f["meets_ratio_target"] else "red"
        out.add_row(engine, "baseline: decode, insert, commit, ack", f"{f['baseline_msg_per_s']:,} msg",
                    f"{f['baseline_samples_per_s']:,}", span(f, "baseline"))
        out.add_row(engine, f"MQTT QoS 1 worker ({f['ratio_to_baseline']:.0%} of baseline)",
                    f"[{style}]{f['mqtt_qos1_msg_per_s']:,} msg[/{style}]", f"{f['mqtt_samples_per_s']:,}",
                    span(f, "mqtt"))
        out.add_row(engine, f"HTTP batch, {f['http_samples_per_request']} samples, {f['http_concurrency']} clients",
                    f"{f['http_requests_per_s']:,} req", f"{f['http_samples_per_s']:,}", span(f, "http"))
        out.add_row(engine, f"Teltonika TCP, {f['teltonika_connections']} trackers",
                    f"{f['teltonika_records_per_s']:,} rec", "", span(f, "teltonika"))
    return out


def run(*, engines: list[str], sizes: Sizes, output: Path | None, console: Console,
        urls: dict[str, str] | None = None) -> dict:
    from bench import report

    results = {engine: measure(engine, (urls or {}).get(engine) or default_url(engine), sizes, console)
               for engine in engines}
    machine = report.machine(None)
    if "postgresql" in engines:
        machine["postgresql"] = _pg_version()
    doc = document(results, sizes=sizes, machine_info=machine)
    console.print(table(results))
    if output is not None:
        report.write(output, doc)
        console.print(f"Written to {output}")
    return doc


def _pg_version() -> str | None:
    from sqlalchemy import create_engine

    admin = create_engine(datasets._pg_admin_url(PG_URL))
    try:
        with admin.connect() as conn:
            return conn.scalar(text("SHOW server_version"))
    except Exception:  # the figures are still worth writing without the version
        return None
    finally:
        admin.dispose()
