"""Open consoles on two web processes (part of ``python -m bench --only scale``, PostgreSQL).

Two ``forecourt serve`` processes on loopback, N console streams split between them (server-sent
events, an agent's API token). Two figures:

* **At rest**: the transactions the whole database ran (``pg_stat_database``), first with both
  processes up and no console open (the baseline, same run), then with the N consoles open; the
  difference per second is what the consoles cost. Each backend reports its counts within about
  ten seconds of going idle, so each window is read again after ``FLUSH_SECONDS``.
* **Alert to console**: an SOS report posted to the first process (``/api/telemetry/{vin}``, as a
  car's unit sends it) opens a case; the time from sending it to the ``cases`` event on each of the
  N streams — on both processes — gives p50 and p99 (and the p50 of the POST's own answer, which
  the case is opened within, for comparison).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

from rich.console import Console

from bench import oncall, telemetry

FLUSH_SECONDS = 11.0


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(url: str, port: int, log) -> subprocess.Popen:
    env = os.environ | {"FORECOURT_DATABASE_URL": url, "FORECOURT_COOKIE_SECURE": "false"}
    return subprocess.Popen([sys.executable, "-m", "forecourt.cli", "serve", "--no-migrate", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def _answers(port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _transactions(url: str) -> int:
    """Every transaction the database ran so far, as the statistics collector knows it (one of its own)."""
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        return connection.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                                  "WHERE datname = current_database()").fetchone()[0]


def _rate(url: str, seconds: float) -> float:
    """Transactions per second over a window of ``seconds`` at rest, less the two that read it."""
    time.sleep(FLUSH_SECONDS)  # what happened before the window has been reported
    began, first = time.perf_counter(), _transactions(url)
    time.sleep(seconds + FLUSH_SECONDS)
    last = _transactions(url)
    return max(last - first - 1, 0) / (time.perf_counter() - began)


async def _follow(base: str, token: str, seen: list, opened: asyncio.Event, stop: asyncio.Event, client) -> None:
    """One console's stream, read off a plain socket: 200 streams parsed by one client process through
    httpx cost more CPU than the two servers spend sending, and the figure would be the client's. Each
    event's ``id:`` line is timestamped as its bytes arrive; the stream is opened again when it ends."""
    del client  # the streams do not share the client's pool
    host, port = base.removeprefix("http://").split(":")
    last = None
    while not stop.is_set():
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            resume = f"Last-Event-ID: {last}\r\n" if last is not None else ""
            writer.write((f"GET /console/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                          f"Accept: text/event-stream\r\n{resume}\r\n").encode())
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(f"the console stream answered {status!r}")
            buffer = b""
            while not stop.is_set():
                chunk = await reader.read(65536)
                if not chunk:
                    break  # the stream's lifetime ended: open it again, from the last event seen
                arrived = time.perf_counter()
                opened.set()
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.startswith(b"id: "):
                        last = int(line[4:])
                        seen.append((arrived, last))
        finally:
            writer.close()


def _newest_event(url: str) -> int:
    from forecourt.assist import cases
    from forecourt.core.db import get_engine, make_sessionmaker

    with make_sessionmaker(get_engine(url))() as session:
        return cases.last_event_id(session=session)


async def _measure(url: str, bases: list[str], token: str, vins: list[str], *, consoles: int, alerts: int,
                   idle_seconds: float) -> dict:
    import httpx

    figures = {"console_baseline_queries_per_s": round(await asyncio.to_thread(_rate, url, idle_seconds), 2)}
    stop = asyncio.Event()
    streams = [[] for _ in range(consoles)]
    opened = [asyncio.Event() for _ in range(consoles)]
    limits = httpx.Limits(max_connections=consoles + 10, max_keepalive_connections=consoles + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None), limits=limits) as client:
        tasks = [asyncio.create_task(_follow(bases[i % len(bases)], token, streams[i], opened[i], stop, client))
                 for i in range(consoles)]
        deadline = time.monotonic() + 300
        while not all(event.is_set() for event in opened):
            failed = [task for task in tasks if task.done()]
            if failed or time.monotonic() > deadline:
                raise RuntimeError(f"{sum(e.is_set() for e in opened)} of {consoles} consoles opened; "
                                   f"{failed[0].exception() if failed else 'timed out'}")
            await asyncio.sleep(0.1)
        with_consoles = await asyncio.to_thread(_rate, url, idle_seconds)
        figures["console_open_queries_per_s"] = round(with_consoles, 2)
        figures["console_idle_queries_per_s"] = round(max(with_consoles - figures["console_baseline_queries_per_s"],
                                                          0.0), 2)
        latencies, missed, answered = [], 0, []
        for index in range(-1, alerts):  # the first, untimed, warms both processes up
            before = await asyncio.to_thread(_newest_event, url)
            body = json.dumps({"timestamp": datetime.now(UTC).isoformat(), "events": ["sos"],
                               "Vehicle.CurrentLocation.Latitude": 52.5, "Vehicle.CurrentLocation.Longitude": 13.4})
            vin = vins[index % len(vins)]
            sent = time.perf_counter()
            answer = await client.post(f"{bases[0]}/api/telemetry/{vin}", content=body,
                                       headers={"Authorization": f"Bearer {telemetry.device_secret(vin)}"})
            answer.raise_for_status()
            if index >= 0:
                answered.append((time.perf_counter() - sent) * 1000)
            deadline = time.perf_counter() + 5.0
            arrivals: list[float | None] = [None] * consoles
            while time.perf_counter() < deadline and any(a is None for a in arrivals):
                for i, seen in enumerate(streams):
                    if arrivals[i] is None:
                        arrivals[i] = next((at for at, event_id in seen if event_id > before), None)
                await asyncio.sleep(0.005)
            if index >= 0:
                missed += sum(1 for a in arrivals if a is None)
                latencies += [(a - sent) * 1000 for a in arrivals if a is not None]
            await asyncio.sleep(0.3)
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()
    figures |= {"alert_to_console_p50_ms": round(median(latencies), 1) if latencies else None,
                "alert_to_console_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1)
                if latencies else None,
                "alert_to_console_samples": len(latencies), "alert_to_console_missed": missed,
                "alerts": alerts, "alert_post_p50_ms": round(median(answered), 1) if answered else None}
    return figures


def consoles_on_two_processes(url: str, vins: list[str], *, consoles: int, alerts: int = 20,
                              idle_seconds: float = 10.0, console: Console) -> dict:
    """Both figures with ``consoles`` streams split over two web processes on this machine."""
    token = oncall._agent_token(url)
    ports = [_free_port(), _free_port()]
    with tempfile.TemporaryDirectory() as folder, (Path(folder) / f"web-{uuid.uuid4().hex[:6]}.log").open("wb") as log:
        processes = [_serve(url, port, log) for port in ports]
        try:
            deadline = time.monotonic() + 180
            while not all(_answers(port) for port in ports):
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    raise RuntimeError("the web processes did not start")
                time.sleep(0.5)
            figures = asyncio.run(_measure(url, [f"http://127.0.0.1:{port}" for port in ports], token, vins,
                                           consoles=consoles, alerts=alerts, idle_seconds=idle_seconds))
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)
    figures["console_web_processes"] = len(ports)
    console.print(f"{consoles} consoles on two web processes: {figures['console_idle_queries_per_s']} queries/s "
                  f"at rest (baseline {figures['console_baseline_queries_per_s']}); alert to console p50 "
                  f"{figures['alert_to_console_p50_ms']} ms, p99 {figures['alert_to_console_p99_ms']} ms "
                  f"({figures['alert_to_console_missed']} missed)")
    return figures
