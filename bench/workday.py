"""A working day while the fleet drives: six people use Forecourt while 200 cars report once a second.

Per engine, a fresh database gets the demo network ``make run`` builds (``forecourt demo``). Then
the product runs as ``make run`` runs it — ``forecourt serve --worker`` in a process of its own — and
six personas (driver, sales, service, call-centre agent, insurer, carmaker admin), each a client
with its own cookies in a thread of this process, go through their day with a short pause between
clicks: log in, open customer 360s, lists, a search, book a service visit and cancel it, watch the
On Call console. The same mix runs alone (the baseline) and while ``forecourt simulate`` drives
``cars`` demo cars reporting ``rate`` messages a second over MQTT, the two phases alternating in
``rounds`` rounds so that the shared machine's other load falls on both alike. The cars report
through a private Mosquitto into ``forecourt ingest`` — a fleet's ingest path: its store and
detector processes write to the same database as the web server, taking turns with it. (A fleet this size
does not report over HTTP: one car's report per request, each with its trips and health refreshed,
is about 45 messages a second on this 2-CPU machine; ``make run``'s 8 cars at 4 msg/s do.)

Every answer other than the expected 2xx/3xx is a failed request and is listed by kind and status.
Per request type the p50, p95 and count are written for both phases, with the ratio of p95s, the
WAL's largest size (SQLite), what the simulator delivered, and the server's own refusal counters
from ``/metrics``. ``FORECOURT_BENCH_WORKDAY_SECONDS`` shortens each phase (default 120 s, in all
rounds together); ``FORECOURT_BENCH_WORKDAY_ROUNDS`` sets the rounds (default 4).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from bench import datasets, report
from bench.broker import private_mosquitto

RESULTS = Path(__file__).resolve().parent / "results" / "workday.json"
PG_URL = os.environ.get("FORECOURT_BENCH_WORKDAY_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/forecourt_bench_workday")
TARGET_P95_MS = 250.0
TARGET_RATIO = 2.0
PASSWORD = "forecourt-demo"
PERSONAS = {
    "driver": "driver@example.com",
    "sales": "sales@brandt-berlin.example",
    "service": "service@brandt-berlin.example",
    "agent": "agent@aurora.example",
    "insurer": "insurer@hanse-versicherung.example",
    "admin": "admin@aurora.example",
}
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
CUSTOMER_LINK = re.compile(r'href="/workspace/customers/(\d+)[?"]')


@dataclass(frozen=True)
class Sizes:
    seconds: float = float(os.environ.get("FORECOURT_BENCH_WORKDAY_SECONDS", "120"))
    cars: int = 200
    rate: float = 200.0  # messages a second, whole fleet: each car once a second
    customers: int = 2_000  # the demo network of ``make run``
    # The phases alternate in this many rounds (alone, driving, alone, driving...), so that whatever
    # else the shared machine does falls on both phases alike instead of on one of them.
    rounds: int = int(os.environ.get("FORECOURT_BENCH_WORKDAY_ROUNDS", "4"))
    think_seconds: tuple[float, float] = (0.1, 0.4)  # a person's pause between two clicks


def default_url(engine: str) -> str:
    return f"sqlite:///{datasets.DATA_DIR / 'workday.db'}" if engine == "sqlite" else PG_URL


# --- what a person does ----------------------------------------------------------------------------

class Refused(Exception):
    """An answer a person would have seen as a failure."""


@dataclass
class Tally:
    """Timings per request type and failures, shared by the personas' threads."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, client: httpx.Client, method: str, url: str, *, ok=(200,), **kwargs) -> httpx.Response:
        began = time.perf_counter()
        try:
            response = client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            self._fail(kind, f"{method} {url}: {type(error).__name__}")
            raise Refused(kind) from error
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code not in ok:
            self._fail(kind, f"{method} {url}: {response.status_code} {response.text[:120]!r}")
            raise Refused(kind)
        with self.lock:
            self.times[kind].append(elapsed)
        return response

    def _fail(self, kind: str, example: str) -> None:
        with self.lock:
            self.failures[f"{kind}"] += 1
            if len(self.examples) < 20:
                self.examples.append(example)


def log_in(client: httpx.Client, email: str, password: str = PASSWORD, tally: Tally | None = None) -> httpx.Response:
    """The login form as a browser fills it: the page (for its form token), the post, the landing page.
    Returns the landing page; raises ``Refused`` (with a tally) or ``AssertionError`` on any refusal."""
    tally = tally or Tally()
    page = tally.timed("login", client, "GET", "/login")
    token = FORM_TOKEN.search(page.text)
    assert token, "the login page has no form token"
    answer = tally.timed("login", client, "POST", "/login", ok=(303,),
                         data={"email": email, "password": password, "next": "", "form_token": token.group(1)})
    return tally.timed("landing", client, "GET", answer.headers["location"])


def _customers(page: httpx.Response) -> list[int]:
    return sorted({int(x) for x in CUSTOMER_LINK.findall(page.text)})


def _driver(client: httpx.Client, tally: Tally, rng: random.Random, state: dict) -> None:
    if "token" not in state:
        log_in(client, PERSONAS["driver"], tally=tally)  # the portal's pages
        answer = tally.timed("login", client, "POST", "/api/auth/token",  # the phone app's API
                             json={"email": PERSONAS["driver"], "password": PASSWORD})
        state["token"] = answer.json()["access_token"]
        mine = tally.timed("list", client, "GET", "/api/me/vehicles", headers=_bearer(state)).json()
        state["vins"] = [v["vehicle"]["vin"] if "vehicle" in v else v["vin"] for v in mine]
    headers = _bearer(state)
    choice = rng.random()
    if choice < 0.35:
        tally.timed("page", client, "GET", "/me")
        tally.timed("page", client, "GET", "/me/access-log")
    elif choice < 0.6 and state["vins"]:
        tally.timed("page", client, "GET", f"/me/vehicles/{state['vins'][0]}")
    else:
        vin = state["vins"][0]
        offer = tally.timed("booking", client, "GET", f"/api/me/service/vehicles/{vin}/slots", headers=headers).json()
        if offer["dealer"] and offer["slots"]:
            slot = rng.choice(offer["slots"][:20])
            booked = tally.timed("booking", client, "POST", f"/api/me/service/vehicles/{vin}/bookings",
                                 ok=(201, 409), headers=headers,
                                 json={"job": offer["job"], "dealer_id": offer["dealer"]["id"], "bay": slot["bay"],
                                       "starts_at": slot["starts_at"]})
            if booked.status_code == 201:
                tally.timed("booking", client, "POST", f"/api/me/service/bookings/{booked.json()['id']}/cancel",
                            headers=headers)


def _bearer(state: dict) -> dict:
    return {"Authorization": f"Bearer {state['token']}"}


def _staff(purpose: str | None, extra: list[tuple[str, str]]):
    query = f"?purpose={purpose}" if purpose else ""

    def act(client: httpx.Client, tally: Tally, rng: random.Random, state: dict) -> None:
        choice = rng.random()
        if choice < 0.3 or "customers" not in state:
            page = tally.timed("list", client, "GET", f"/workspace/customers{query}")
            state["customers"] = _customers(page) or state.get("customers", [])
        elif choice < 0.45:
            joiner = "&" if query else "?"
            tally.timed("search", client, "GET", f"/workspace/customers{query}{joiner}q={rng.choice('aehmnrs')}")
        elif choice < 0.8 and state["customers"]:
            tally.timed("360", client, "GET", f"/workspace/customers/{rng.choice(state['customers'])}{query}")
        else:
            kind, path = rng.choice(extra)
            tally.timed(kind, client, "GET", path)
    return act


def _agent(client: httpx.Client, tally: Tally, rng: random.Random, state: dict) -> None:
    if rng.random() < 0.3:
        tally.timed("console", client, "GET", "/console")
    tally.timed("console", client, "GET", "/console/queue")


def _admin(client: httpx.Client, tally: Tally, rng: random.Random, state: dict) -> None:
    kind, path = rng.choice([("list", "/admin/organizations"), ("list", "/admin/users"), ("list", "/admin/audit"),
                             ("page", "/admin/purposes"), ("page", "/admin/background"),
                             ("page", "/workspace/pipeline")])
    tally.timed(kind, client, "GET", path)


ACTIONS = {
    "driver": _driver,
    "sales": _staff("sales_contact", [("list", "/workspace/leads"), ("page", "/workspace/pipeline")]),
    "service": _staff("service_reminders", [("page", "/workspace/service/calendar"),
                                            ("list", "/workspace/service/loaners")]),
    "agent": _agent,
    "insurer": _staff(None, [("list", "/workspace/customers")]),
    "admin": _admin,
}


def persona(name: str, base: str, tally: Tally, stop: threading.Event, sizes: Sizes, seed: int) -> None:
    """One person's day: log in, a dozen clicks with pauses, then a new session (a fresh login)."""
    rng = random.Random(seed)
    while not stop.is_set():
        with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
            state: dict = {}
            try:
                if name != "driver":  # the driver logs in twice: the portal and the phone app
                    log_in(client, PERSONAS[name], tally=tally)
                for _ in range(12):
                    if stop.is_set():
                        break
                    ACTIONS[name](client, tally, rng, state)
                    time.sleep(rng.uniform(*sizes.think_seconds))
            except Refused:
                time.sleep(0.5)  # a refused person starts again, as they would


def workday(base: str, sizes: Sizes, seconds: float, tally: Tally | None = None) -> Tally:
    """The six personas for ``seconds``; timings are added to ``tally`` (a phase spans several rounds)."""
    tally, stop = tally if tally is not None else Tally(), threading.Event()
    threads = [threading.Thread(target=persona, args=(name, base, tally, stop, sizes, i), daemon=True,
                                name=f"persona-{name}") for i, name in enumerate(PERSONAS)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(90)
    return tally


# --- the product, as make run starts it ------------------------------------------------------------

def _environment(url: str) -> dict:
    return os.environ | {"FORECOURT_DATABASE_URL": url, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200",
                         "FORECOURT_SMTP_PORT": "1"}  # no mail server here: e-mails wait in the outbox


def _free_port() -> int:
    from bench.broker import free_port

    return free_port()


class Product:
    """``forecourt serve --worker`` on a port of its own, its output in a file."""

    def __init__(self, url: str, log: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "forecourt.cli", "serve", "--port", str(self.port), "--no-migrate",
                 "--worker"], env=_environment(url), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/api/health", timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"forecourt serve did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)

    def counters(self) -> dict:
        text = httpx.get(f"{self.base}/metrics", timeout=30).text
        return {m.group(1): float(m.group(2)) for m in
                re.finditer(r"^forecourt_web_(\w+)_total (\S+)$", text, re.MULTILINE)}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def simulate(url: str, broker: str, sizes: Sizes, seconds: float, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "forecourt.cli", "simulate", "--via", "mqtt", "--mqtt", broker,
             "-n", str(sizes.cars), "--rate", f"{sizes.rate:g}", "--duration", f"{seconds:g}", "--workers", "4"],
            env=_environment(url), stdout=out, stderr=subprocess.STDOUT)


def ingest(url: str, broker: str, log: Path) -> subprocess.Popen:
    """``forecourt ingest`` as deployed: its own processes, the product's settings."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "forecourt.cli", "ingest", "--mqtt", broker, "--client-id",
             f"workday-{os.getpid()}"], env=_environment(url), stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while "Ingesting" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"forecourt ingest did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


def _wal_watch(url: str, stop: threading.Event, seen: dict) -> None:
    if not url.startswith("sqlite"):
        return
    from sqlalchemy.engine import make_url

    wal = Path(f"{make_url(url).database}-wal")
    sizes = seen.setdefault("wal_sizes", [])
    while not stop.wait(0.5):
        try:
            sizes.append(wal.stat().st_size)
        except OSError:
            sizes.append(0)  # no log at all: cut and removed


def _stored_since(url: str, since: datetime) -> int:
    """Messages the ingest worker committed during the phase (each is one received-message row)."""
    from sqlalchemy import func, select

    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.telematics.models import ReceivedMessage

    with make_sessionmaker(get_engine(url))() as session:
        return session.scalar(select(func.count()).select_from(ReceivedMessage)
                              .where(ReceivedMessage.received_at >= since))


def summarise(tally: Tally) -> dict:
    kinds = sorted(tally.times)
    out = {"requests": sum(len(v) for v in tally.times.values()), "failed": sum(tally.failures.values()),
           "failed_by_kind": dict(tally.failures), "failure_examples": tally.examples, "by_kind": {}}
    for kind in kinds:
        values = tally.times[kind]
        out["by_kind"][kind] = {"n": len(values), "p50_ms": round(report.percentile(values, 0.5), 1),
                                "p95_ms": round(report.percentile(values, 0.95), 1),
                                "max_ms": round(max(values), 1)}
    return out


def prepare(engine: str, url: str, sizes: Sizes, console: Console) -> None:
    from forecourt.bootstrap import prepare_database
    from forecourt.core.config import get_settings
    from forecourt.demo.network import build_demo_network

    datasets._recreate(engine, url)
    settings = get_settings(database_url=url)
    prepare_database(settings)
    build_demo_network(settings=settings, customers=sizes.customers, console=Console(file=open(os.devnull, "w")))
    console.print(f"[dim]{engine}: demo network with {sizes.customers:,} customers built[/dim]")


def measure(engine: str, url: str, sizes: Sizes, console: Console, workdir: Path) -> dict:
    prepare(engine, url, sizes, console)
    workdir.mkdir(parents=True, exist_ok=True)
    product = Product(url, workdir / f"workday-serve-{engine}.log")
    seen: dict = {}
    stop_watch = threading.Event()
    watcher = threading.Thread(target=_wal_watch, args=(url, stop_watch, seen), daemon=True)
    watcher.start()
    rounds = max(1, sizes.rounds)
    window = sizes.seconds / rounds
    baseline, driving, sim_logs = Tally(), Tally(), []
    try:
        started = datetime.now(UTC)
        with private_mosquitto(workdir) as broker:
            # Ingest runs through both phases (idle while the cars are parked), so the phases differ
            # only in the fleet reporting.
            worker = ingest(url, broker, workdir / f"workday-ingest-{engine}.log")
            try:
                for turn in range(1, rounds + 1):
                    console.print(f"[dim]{engine}: round {turn}/{rounds}: {window:g} s without telemetry, then "
                                  f"{window:g} s with {sizes.cars} cars at {sizes.rate:g} msg/s[/dim]")
                    workday(product.base, sizes, window, baseline)
                    sim_logs.append(workdir / f"workday-simulate-{engine}-{turn}.log")
                    cars = simulate(url, broker, sizes, window + 7, sim_logs[-1])
                    time.sleep(5)  # the fleet is registered and reporting
                    workday(product.base, sizes, window, driving)
                    cars.wait(120)
                stored = _stored_since(url, started)
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(60)
        counters = product.counters()
    finally:
        stop_watch.set()
        product.stop()
    done = [re.search(r"Done: ([\d,]+) sent, ([\d,]+) delivered, ([\d,]+) errors, ([\d.,]+) msg/s",
                      log.read_text()) for log in sim_logs]
    figures = {"baseline": summarise(baseline), "with_telemetry": summarise(driving)}
    if all(done):
        def total(group: int) -> int:
            return sum(int(match.group(group).replace(",", "")) for match in done)

        figures["telemetry"] = {"sent": total(1), "delivered": total(2), "errors": total(3),
                                "msg_per_s": round(sum(float(m.group(4).replace(",", "")) for m in done) / len(done), 1),
                                "messages_stored": stored}
    figures["server_counters"] = counters
    sizes = seen.get("wal_sizes") or []
    figures["wal_max_bytes"] = max(sizes) if sizes else None  # sampled twice a second, both phases
    figures["wal_p50_bytes"] = report.percentile(sizes, 0.5) if sizes else None
    ratios = {}
    for kind, row in figures["with_telemetry"]["by_kind"].items():
        base_row = figures["baseline"]["by_kind"].get(kind)
        if base_row and base_row["p95_ms"]:
            ratios[kind] = round(row["p95_ms"] / base_row["p95_ms"], 2)
    figures["p95_ratio_to_baseline"] = ratios
    worst = max((r["p95_ms"] for r in figures["with_telemetry"]["by_kind"].values()), default=0)
    figures["no_failed_requests"] = figures["baseline"]["failed"] == 0 and figures["with_telemetry"]["failed"] == 0
    figures["meets_p95_target"] = worst < TARGET_P95_MS
    figures["meets_ratio_target"] = bool(ratios) and max(ratios.values()) <= TARGET_RATIO
    return figures


def table(results: dict) -> Table:
    out = Table(title=f"A working day while {Sizes.cars} cars drive (p95 in ms; target < {TARGET_P95_MS:g} ms, "
                      f"≤ {TARGET_RATIO:g}× the baseline)", title_justify="left")
    for column in ("engine", "request", "n", "baseline p95", "driving p50", "driving p95", "ratio", "failed"):
        out.add_column(column, justify="left" if column in ("engine", "request") else "right")
    for engine, figures in results.items():
        driving, base = figures["with_telemetry"], figures["baseline"]
        for kind, row in driving["by_kind"].items():
            b = base["by_kind"].get(kind, {})
            out.add_row(engine, kind, str(row["n"]), f"{b.get('p95_ms', '—')}", f"{row['p50_ms']}",
                        f"{row['p95_ms']}", f"{figures['p95_ratio_to_baseline'].get(kind, '—')}",
                        str(driving["failed_by_kind"].get(kind, 0)))
        out.add_row(engine, "[bold]all[/bold]", str(driving["requests"]), "", "", "", "",
                    f"{driving['failed']} (baseline {base['failed']})")
    return out


def run(*, engines: list[str], sizes: Sizes, output: Path | None, console: Console,
        urls: dict[str, str] | None = None, workdir: Path | None = None) -> dict:
    workdir = workdir or datasets.DATA_DIR
    results = {}
    for engine in engines:
        url = (urls or {}).get(engine) or default_url(engine)
        results[engine] = measure(engine, url, sizes, console, workdir)
    doc = {"benchmark": "workday", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
           "measured": "six personas (login, 360, lists, search, booking, console) against `forecourt serve "
                       "--worker`, alone and while `forecourt simulate --via mqtt` drives the cars into "
                       "`forecourt ingest`, the two phases alternating in rounds",
           "seconds_per_phase": sizes.seconds, "rounds": max(1, sizes.rounds), "cars": sizes.cars, "msg_per_s": sizes.rate,
           "customers": sizes.customers, "think_seconds": list(sizes.think_seconds),
           "target_p95_ms": TARGET_P95_MS, "target_ratio": TARGET_RATIO, **results,
           "machine": report.machine(PG_URL if "postgresql" in engines else None)}
    console.print(table(results))
    if output is not None:
        report.write(output, doc)
        console.print(f"Written to {output}")
    return doc
