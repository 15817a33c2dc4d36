"""Runs a simulated fleet: paces messages with a token bucket, spreads cars over worker threads,
counts what was delivered and refused.

Pacing: ``rate`` messages per second in total, so with N cars each one reports every N / rate
seconds of wall time. Each report moves its car on by that interval times ``speedup`` of simulated
time (at least one second, the car model's resolution), and is stamped with the simulated time, so
a fleet can cover a day's driving in minutes while every car's timeline stays consistent.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from random import Random

from sqlalchemy.orm import Session, sessionmaker

from forecourt.core.db import transaction
from forecourt.telematics.simulator import fleet
from forecourt.telematics.simulator.drive import SimulatedCar
from forecourt.telematics.simulator.fleet import SimVehicle
from forecourt.telematics.simulator.transports import Sender, make_sender

log = logging.getLogger(__name__)


@dataclass
class SimulationConfig:
    vehicles: int = 8
    rate: float = 4.0  # messages per second, whole fleet
    via: str = "http"
    duration: float | None = None  # seconds of wall time; None runs until stopped
    crash: bool = False
    speedup: float = 1.0
    seed: int = 7
    server: str = "http://127.0.0.1:8000"
    mqtt: str = "mqtt://127.0.0.1:1883"
    teltonika: str = "127.0.0.1:5027"
    workers: int = 8
    start: datetime | None = None  # simulated time of the first report; now by default
    commands: bool = True  # cars take lock and unlock commands: over MQTT (mqtt, http) or Codec 12 (teltonika)
    ignore_commands: bool = False  # ... and, for tests of timeouts, never answer them
    first: tuple[int, ...] = ()  # vehicle ids driven before any other (the demo drivers' own cars)

    @property
    def interval_s(self) -> float:
        """Simulated seconds between two reports of one car."""
        return max(1.0, self.speedup * self.vehicles / self.rate)


@dataclass
class SimulationStats:
    sent: int = 0
    delivered: int = 0
    errors: int = 0
    last_error: str = ""
    vehicles: int = 0
    crashed_vin: str | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0


class TokenBucket:
    """``rate`` tokens a second, a burst of at most ``capacity``; ``take`` waits for one."""

    def __init__(self, rate: float, capacity: float | None = None):
        self.rate = rate
        self.capacity = capacity or max(1.0, rate * 0.05)
        self.tokens = 1.0
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self, stop: threading.Event) -> bool:
        while not stop.is_set():
            with self.lock:
                moment = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (moment - self.stamp) * self.rate)
                self.stamp = moment
                if self.tokens >= 1:
                    self.tokens -= 1
                    return True
                wait = (1 - self.tokens) / self.rate
            stop.wait(wait)
        return False


class Simulation:
    def __init__(self, config: SimulationConfig, sessions: sessionmaker[Session]):
        if config.rate <= 0 or config.vehicles <= 0:
            raise ValueError("vehicles and rate must be positive")
        self.config, self.sessions = config, sessions
        self.rng = Random(config.seed)
        self.stats = SimulationStats()
        self.fleet: list[SimVehicle] = []
        self.cars: dict[str, SimulatedCar] = {}
        self.responder = None  # ``locks.CommandResponder`` while the fleet runs

    def prepare(self) -> list[SimVehicle]:
        """Pick the cars and register their devices (committed, so the server knows them). It writes, so
        it takes the database's write turn first: beside a starting server and worker, a transaction that
        read first was refused on SQLite and the fleet never started."""
        with transaction(self.sessions, write=True) as session:
            self.fleet = fleet.prepare(session=session, count=self.config.vehicles, via=self.config.via, rng=self.rng,
                                       first=self.config.first)
        if not self.fleet:
            raise RuntimeError("No vehicles to simulate: run 'forecourt demo' first.")
        start = self.config.start or datetime.now(UTC).replace(microsecond=0)
        for vehicle in self.fleet:
            self.cars[vehicle.device_id] = SimulatedCar.create(Random(self.rng.getrandbits(64)), start,
                                                               odometer_km=vehicle.odometer_km)
        if self.config.crash:
            expected = (self.config.duration or 360) * self.config.rate / len(self.fleet)
            crashing = self.fleet[0]
            self.cars[crashing.device_id].crash_after_s = max(2, int(expected // 4)) * self.config.interval_s
            self.stats.crashed_vin = crashing.vin
        self.stats.vehicles = len(self.fleet)
        return self.fleet

    def run(self, stop: threading.Event, sender: Sender | None = None) -> SimulationStats:
        """Send until ``stop`` is set or the duration has passed; returns the final counts."""
        config = self.config
        if not self.fleet:
            self.prepare()
        sender = sender or make_sender(config.via, server=config.server, mqtt=config.mqtt,
                                       teltonika=config.teltonika, client_id=f"forecourt-sim-{uuid.uuid4().hex[:8]}")
        responder = self._take_commands(sender)
        bucket = TokenBucket(config.rate)
        self.stats.started = time.monotonic()
        deadline = None if config.duration is None else self.stats.started + config.duration
        ended = threading.Event()
        if deadline is not None:
            timer = threading.Timer(config.duration, ended.set)
            timer.daemon = True
            timer.start()
        halt = _Either(stop, ended)
        groups = [self.fleet[i::config.workers] for i in range(min(config.workers, len(self.fleet)))]
        threads = [threading.Thread(target=self._drive, args=(group, sender, bucket, halt), daemon=True,
                                    name=f"simulator-{i}") for i, group in enumerate(groups)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.stats.finished = time.monotonic()  # the rate is over the sending time, not the goodbye
        undelivered = sender.close()
        if responder is not None:
            responder.close()
        ended.set()
        with self.stats.lock:
            self.stats.delivered -= undelivered
            self.stats.errors += undelivered
        return self.stats

    def _take_commands(self, sender: Sender):
        """The fleet's cars listen for commands on the broker; without one they only report."""
        from forecourt.telematics.simulator.locks import CommandResponder, DoorLocks

        if not self.config.commands or self.config.via not in ("mqtt", "http", "teltonika"):
            return None
        if self.config.via == "teltonika":  # trackers take Codec 12 commands on their own connection
            sender.locks = DoorLocks([vehicle.vin for vehicle in self.fleet], ignore=self.config.ignore_commands)
            return None

        try:
            responder = CommandResponder(self.config.mqtt, [vehicle.vin for vehicle in self.fleet],
                                         ignore=self.config.ignore_commands,
                                         client_id=f"forecourt-sim-commands-{uuid.uuid4().hex[:8]}")
        except OSError as error:
            log.warning("the simulated cars take no commands: the broker at %s cannot be reached (%s)",
                        self.config.mqtt, error)
            return None
        responder.wait_ready()
        sender.locks = responder.locks
        self.responder = responder
        return responder

    def _drive(self, group: list[SimVehicle], sender: Sender, bucket: TokenBucket, halt: _Either) -> None:
        sequences = {v.device_id: 0 for v in group}
        interval = self.config.interval_s
        while True:
            for vehicle in group:
                if not bucket.take(halt):
                    return
                car = self.cars[vehicle.device_id]
                first = sequences[vehicle.device_id] == 0
                snapshot = car.snapshot() if first else car.advance(interval)
                sequences[vehicle.device_id] += 1
                try:
                    delivered = sender.send(vehicle, snapshot, sequences[vehicle.device_id])
                except Exception as error:  # a sender bug must not end the fleet; count it and go on
                    log.exception("sending for %s failed", vehicle.vin)
                    sender.last_error, delivered = f"{type(error).__name__}: {error}", False
                with self.stats.lock:
                    self.stats.sent += 1
                    if delivered:
                        self.stats.delivered += 1
                    else:
                        self.stats.errors += 1
                        self.stats.last_error = sender.last_error


class _Either:
    """Set when either of two events is; what the token bucket waits on."""

    def __init__(self, first: threading.Event, second: threading.Event):
        self.first, self.second = first, second

    def is_set(self) -> bool:
        return self.first.is_set() or self.second.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 0.05 if end is None else min(0.05, end - time.monotonic())
            if left <= 0:
                break
            time.sleep(left)
        return self.is_set()


def beside_server(config: SimulationConfig, sessions: sessionmaker[Session], host: str, port: int,
                  stop: threading.Event) -> threading.Thread:
    """A daemon thread that waits for the web server to listen, then drives the fleet against it.

    Problems are logged, never raised: the demo fleet is decoration and must not take the server down.
    """
    def run() -> None:
        while not stop.is_set():
            try:
                socket.create_connection((host if host not in ("0.0.0.0", "::") else "127.0.0.1", port), 0.5).close()
                break
            except OSError:
                stop.wait(0.3)
        try:
            simulation = Simulation(config, sessions)
            simulation.prepare()
            log.info("simulating %d vehicles via %s at %.1f msg/s", len(simulation.fleet), config.via, config.rate)
            simulation.run(stop)
        except Exception:
            log.exception("the simulated fleet stopped")

    thread = threading.Thread(target=run, daemon=True, name="simulated-fleet")
    thread.start()
    return thread
