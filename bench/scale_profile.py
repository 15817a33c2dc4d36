"""Where the cores go while the ingest workers drain a stream: CPU seconds per part of the pipeline.

On a machine with two cores that other work shares, throughput alone cannot say whether a second
worker failed to help because of the design or because no core was free. So every process of the
pipeline is read from ``/proc`` (user + system time) every quarter second while the stream is
drained: the broker, this database's PostgreSQL backends, each ingest worker's receiving process
and its store and detector processes, the publisher, and the whole machine's busy time. From that:

* ``cpu_seconds_per_1000_msgs`` — what the pipeline spends per thousand messages, by part;
* ``msg_per_s_per_core`` — messages per CPU second of the whole pipeline: what each core adds when
  the cores are the pipeline's alone, whatever else ran beside it; ``..._server_side`` the same
  without the benchmark's own publisher and polling (a deployment's cars publish from elsewhere);
* ``machine_busy`` — how busy both cores were; ``pipeline_share_of_busy`` — how much of that was ours.

Linux only (``/proc``); elsewhere the figures are left out.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, or None if it is gone."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK, sum(values[:8]) / TICK


class CpuMeter:
    """CPU seconds of every process of the pipeline between ``start`` and ``stop``."""

    def __init__(self, database: str, broker_port: int | None = None):
        self.database, self.broker_port = database, broker_port
        self.me = os.getpid()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.roles: dict[int, str] = {}
        self._stop = threading.Event()

    def _role(self, pid: int, parent: int, command: str) -> str | None:
        if pid == self.me:
            return "bench"
        if command.startswith("postgres:") and f" {self.database} " in command:
            return "postgresql"
        if "mosquitto" in command and (self.broker_port is None or parent == self.me):
            return "mosquitto"
        if "forecourt.cli ingest" in command:
            return "ingest receiving"
        parent_role = self.roles.get(parent)
        if parent_role in ("ingest receiving", "ingest children"):
            return "ingest children"  # the store and detector processes
        if parent == self.me:
            return "publisher"
        return None

    def _sample(self) -> None:
        for entry in PROC.iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            stat = _stat(pid)
            if stat is None:
                continue
            parent, seconds = stat
            if pid not in self.roles:
                role = self._role(pid, parent, _cmdline(pid))
                if role is None:
                    continue
                self.roles[pid] = role
                self.first.setdefault(pid, 0.0 if self._started else seconds)
            self.last[pid] = seconds

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            self._sample()

    def start(self) -> CpuMeter:
        self._started = False
        self._sample()
        self._started = True  # processes found from now on were born during the run: all their time counts
        self.began, self.busy_before = time.perf_counter(), _machine_busy()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.wall = time.perf_counter() - self.began
        self.busy_after = _machine_busy()

    def figures(self, messages: int) -> dict:
        by_role: dict[str, float] = defaultdict(float)
        for pid, role in self.roles.items():
            by_role[role] += self.last.get(pid, 0.0) - self.first.get(pid, 0.0)
        pipeline = sum(by_role.values())
        busy = self.busy_after[0] - self.busy_before[0]
        total = self.busy_after[1] - self.busy_before[1]
        return {
            "cpu_seconds": {role: round(seconds, 2) for role, seconds in sorted(by_role.items())},
            "cpu_seconds_per_1000_msgs": {role: round(seconds * 1000 / messages, 3)
                                          for role, seconds in sorted(by_role.items())},
            "msg_per_s_per_core": round(messages / pipeline) if pipeline else None,
            # the broker, the database and the workers: what a deployment runs (the cars publish elsewhere)
            "msg_per_s_per_core_server_side": server_rate(by_role, messages),
            "machine_busy": round(busy / total, 3) if total else None,
            "pipeline_share_of_busy": round(pipeline / busy, 3) if busy else None,
            "wall_seconds": round(self.wall, 2),
        }


def server_rate(cpu_seconds: dict[str, float], messages: int) -> int | None:
    """Messages per CPU second of the server side alone: without this benchmark's publisher and polling."""
    server = sum(seconds for role, seconds in cpu_seconds.items() if role not in ("bench", "publisher"))
    return round(messages / server) if server else None


def measured(run, *, database: str, messages: int) -> dict:
    """``run(meter)`` (one throughput measurement, which starts and stops the meter around the stream)
    with its CPU profile; returns the run's figures and ``profile``."""
    meter = CpuMeter(database)
    result = run(meter)
    return result | {"profile": meter.figures(messages)}
