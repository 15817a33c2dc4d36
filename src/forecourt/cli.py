"""The ``forecourt`` command: serve, demo, db, ingest, worker, simulate, outbox, oncall, mailsink."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import Console

from forecourt.core.config import get_settings
from forecourt.core.errors import Conflict

app = typer.Typer(help="Forecourt — carmaker, dealers and partners serving one driver who owns their data.",
                  no_args_is_help=True, rich_markup_mode="rich")
db_app = typer.Typer(help="Database schema and maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema and load reference data."""
    from forecourt.bootstrap import prepare_database

    settings = get_settings()
    prepare_database(settings)
    console.print(f"[green]Database ready[/green] at {settings.database_url}")


@db_app.command("recount-pipeline")
def db_recount_pipeline(check: bool = typer.Option(False, "--check", help="Only compare the rollup with a "
                                                                          "recount; change nothing")) -> None:
    """Recount the pipeline dashboards' monthly rollup from the deals (after deals were written without the
    application, or should it ever disagree with them)."""
    from forecourt.core.db import get_engine, make_sessionmaker, transaction
    from forecourt.models import load_all
    from forecourt.sales import rollup

    load_all()
    settings = get_settings()
    with transaction(make_sessionmaker(get_engine(settings.database_url)), write=not check) as session:
        if check:
            found = rollup.differences(session=session)
            for row in found[:20]:
                console.print(f"{row['table']} {row['key']}: stored {row['stored']}, counted {row['counted']}")
            console.print(f"{len(found):,} rows of the rollup disagree with the deals" if found
                          else "[green]The rollup agrees with the deals[/green]")
            if found:
                raise typer.Exit(1)
            return
        counts = rollup.rebuild(session=session)
    console.print("[green]Rollup recounted[/green]: " + ", ".join(f"{table} {n:,} rows" for table, n in counts.items()))


@app.command()
def serve(host: str = typer.Option(None, help="Address to listen on (default from settings)"),
          port: int = typer.Option(None, help="Port (default 8000)"),
          migrate: bool = typer.Option(True, help="Migrate the database first"),
          reload: bool = typer.Option(False, help="Reload on code changes (development)"),
          simulate: int = typer.Option(0, min=0, help="Also drive this many demo cars, reporting over HTTP to "
                                                      "this server (a live demo without a broker)"),
          worker: bool = typer.Option(False, "--worker", help="Also run `forecourt worker` (e-mails, events, "
                                                              "the schedule); it stops when the server stops")) -> None:
    """Serve the web app and API."""
    import uvicorn

    from forecourt.bootstrap import prepare_database

    settings = get_settings()
    if migrate:
        prepare_database(settings)
    host, port = host or settings.host, port or settings.port
    console.print(f"Forecourt on [bold]http://{host}:{port}[/bold]  (database: {settings.database_url})")
    if simulate:
        _simulate_beside(settings, host, port, simulate)
        console.print(f"{simulate} demo cars are driving; the access log is off so the console stays readable.")
    background = _worker_beside() if worker else None
    try:
        uvicorn.run("forecourt.web.app:create_app", factory=True, host=host, port=port, reload=reload,
                    log_level="info", proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips,
                    access_log=not simulate)
    finally:
        if background is not None:
            background.terminate()  # SIGTERM: it finishes the jobs in hand
            try:
                background.wait(30)
            except Exception:
                background.kill()


def _worker_beside():
    """``forecourt worker`` as a child that watches this process: if the server dies, even by
    SIGKILL, the worker notices that its parent is gone and stops."""
    import os
    import subprocess
    import sys

    console.print("Starting [bold]forecourt worker[/bold] beside the server")
    return subprocess.Popen([sys.executable, "-m", "forecourt.cli", "worker", "--parent-pid", str(os.getpid())])


@app.command()
def worker(parent_pid: int = typer.Option(None, help="Stop when the process with this id is no longer this "
                                                     "worker's parent (set by `serve --worker`)")) -> None:
    """Run the background work: deliver domain events, send the outbox, run the schedule (Huey).

    Stop it with SIGTERM or Ctrl-C; it finishes the jobs in hand. Run as many as you like on
    PostgreSQL: they share the queue and never deliver one event or e-mail twice at once."""
    import logging

    from forecourt import worker as background
    from forecourt.bootstrap import prepare_database
    from forecourt.core.jobs import jobs_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    prepare_database(settings)
    console.print(f"Worker on {settings.database_url}, jobs queued in {jobs_url(settings)}")
    background.run(settings, parent_pid=parent_pid)


@app.command()
def demo(customers: int = typer.Option(2000, min=10, help="How many customers to create"),
         dealers: int = typer.Option(45, min=2, help="How many dealers"),
         seed: int = typer.Option(7, help="Random seed, for a reproducible network"),
         if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing when the database has data")) -> None:
    """Build a believable demo network: dealers in real cities, partners, customers, cars, consents."""
    from forecourt.bootstrap import prepare_database
    from forecourt.demo.network import build_demo_network

    settings = get_settings()
    prepare_database(settings)
    try:
        build_demo_network(settings=settings, customers=customers, dealers=dealers, seed=seed,
                           if_empty=if_empty, console=console)
    except Conflict as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(code=1) from None


@app.command()
def ingest(mqtt: str = typer.Option("mqtt://127.0.0.1:1883", help="Broker to take vehicle telemetry from"),
           client_id: str = typer.Option("forecourt-ingest", help="MQTT client id; keep it stable: the broker "
                                                                  "holds this worker's unacknowledged messages"),
           shared_group: str = typer.Option(None, help="Share the subscription with other workers "
                                                       "($share/GROUP/...); default FORECOURT_INGEST_SHARE_GROUP"),
           batch_size: int = typer.Option(2000, min=1, help="Messages per transaction at most"),
           store_processes: int = typer.Option(2, min=1, help="Processes decoding and storing batches "
                                                              "side by side (about one per core)"),
           teltonika: str = typer.Option(None, help="Also listen for Teltonika trackers on HOST:PORT "
                                                    "(e.g. 0.0.0.0:5027)")) -> None:
    """Run the ingest worker: MQTT QoS 1 in, committed samples and twin out, then PUBACK.

    Pass --mqtt none to run only the Teltonika listener."""
    import logging
    import signal
    import threading

    from forecourt.bootstrap import prepare_database
    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.telematics.detectors import DetectorProcess

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    prepare_database(settings)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    sessions = make_sessionmaker(get_engine(settings.database_url))
    counted: dict = {}  # the MQTT worker's figures, once it runs, for the heartbeat
    _beat_while_running(sessions, settings, stop, counted)
    trackers = None
    if teltonika:
        subscribe_alert_handlers(sessions)  # the tracker listener stores in this process
        trackers = DetectorProcess(settings.database_url, setup=subscribe_detector_handlers).start()
        _listen_for_trackers(teltonika, sessions, stop, trackers.after_batch, settings.tracker_commands)
    if mqtt.lower() == "none":
        stop.wait()
        if trackers is not None:
            trackers.close()
        return
    try:
        with console.status("Starting the store and detector processes…"):
            worker, children = ingest_worker(settings.database_url, mqtt, client_id=client_id,
                                             shared_group=shared_group or settings.ingest_share_group,
                                             batch_size=batch_size,
                                             store_processes=store_processes)
    except RuntimeError as error:  # a child could not start: say so rather than wait for it
        if trackers is not None:
            trackers.close()
        console.print(f"[red]The ingest worker could not start: {error}.[/red] Its log above says why.")
        raise typer.Exit(1) from None
    console.print(f"Ingesting [bold]{worker.topic}[/bold] from {mqtt} into {settings.database_url}")
    counted["worker"] = worker
    try:
        stats = worker.run(stop)
    finally:
        children.close()
        if trackers is not None:
            trackers.close()
    console.print(f"Stopped after {stats.messages:,} messages: {stats.stored:,} readings stored, "
                  f"{stats.duplicates:,} duplicates, {stats.rejected:,} rejected.")


def _beat_while_running(sessions, settings, stop, counted: dict) -> None:
    """``/api/health`` and ``/metrics`` learn from these beats that ingest runs, and what it counted."""
    from forecourt.core import heartbeats

    def counters() -> dict:
        stats = getattr(counted.get("worker"), "stats", None)
        return {} if stats is None else {"messages": stats.messages, "stored": stats.stored,
                                         "duplicates": stats.duplicates, "rejected": stats.rejected}

    heartbeats.keep_beating(sessions, role="ingest", every_seconds=settings.heartbeat_seconds, counters=counters,
                            stop=stop)


@app.command()
def retention(days: int = typer.Option(None, help="Override FORECOURT_POSITION_RETENTION_DAYS")) -> None:
    """Delete raw positions (and the routes drawn from them) older than the retention setting."""
    from forecourt.core import partitions
    from forecourt.core.db import get_engine, make_sessionmaker, transaction
    from forecourt.models import load_all
    from forecourt.telematics import service as telematics_service

    load_all()
    settings = get_settings()
    keep = days or settings.position_retention_days
    sessions = make_sessionmaker(get_engine(settings.database_url))
    with transaction(sessions) as session:
        removed = telematics_service.prune_positions(session=session, older_than_days=keep)
    partitions.drop_all_detached(sessions, "telematics_positions")
    console.print(f"Kept {keep} days: removed {removed['positions']:,} positions ({removed['partitions']} whole "
                  f"months) and {removed['routes']:,} routes.")


outbox_app = typer.Typer(help="Messages waiting to leave (recall notices, service proposals, dispatch notices).",
                         no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("send")
def outbox_send(loop: bool = typer.Option(False, "--loop", help="Keep sending; check for new messages every "
                                                                 "--interval seconds until Ctrl-C"),
                interval: float = typer.Option(10.0, min=0.5, help="Seconds between rounds with --loop"),
                limit: int = typer.Option(100, min=1, help="Messages per round at most")) -> None:
    """Send due e-mails (to FORECOURT_SMTP_HOST:FORECOURT_SMTP_PORT) and dispatch webhooks now (`forecourt worker`
    does it continuously); failures are retried later."""
    import time

    import logging

    from forecourt.core import outbox
    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.messaging import notify

    settings = get_settings()
    sessions = make_sessionmaker(get_engine(settings.database_url))
    notify.log.setLevel(logging.ERROR)  # a failure is said once below, in words, not per message
    while True:
        result = notify.send_pending(session_factory=sessions, settings=settings, limit=limit)
        if any(result.values()) or not loop:
            console.print(f"Sent {result['sent']}, failed {result['failed']} (will retry), "
                          f"dead {result['dead']} (see /admin/background), "
                          f"skipped {result['skipped']} (erased customers, no address).", highlight=False)
            if result["failed"] and (down := _mail_server_down(settings)):
                console.print(f"[red]The mail server at {settings.smtp_host}:{settings.smtp_port} cannot be reached "
                              f"({down}): the e-mails wait and are tried again. Start it, or set FORECOURT_SMTP_HOST "
                              f"and FORECOURT_SMTP_PORT.[/red]", highlight=False, soft_wrap=True)
            with sessions() as session:
                left = outbox.waiting(session=session, channels=notify.TRANSPORTED)
            console.print(f"Still to send: {left['due']} due now, {left['later']} waiting to be tried again, "
                          f"{left['dead']} given up (see /admin/background).", highlight=False)
        if not loop:
            break
        try:
            time.sleep(0 if result["sent"] + result["skipped"] >= limit else interval)
        except KeyboardInterrupt:
            break


def _mail_server_down(settings) -> str | None:
    """Why the mail server cannot be reached (``None``: it answers)."""
    import socket

    try:
        with socket.create_connection((settings.smtp_host, settings.smtp_port),
                                      timeout=min(5.0, settings.smtp_timeout_seconds)):
            return None
    except OSError as error:
        return error.strerror or type(error).__name__


oncall_app = typer.Typer(help="On Call subscriptions.", no_args_is_help=True)
app.add_typer(oncall_app, name="oncall")


@oncall_app.command("remind")
def oncall_remind() -> None:
    """Queue renewal reminders for On Call subscriptions ending within 45 days (once each; `forecourt worker`
    runs this on FORECOURT_SCHEDULE_ONCALL_REMINDERS)."""
    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.models import load_all
    from forecourt.worker import oncall_reminders

    load_all()  # the reminder reaches vehicles, customers and the outbox: every table's foreign keys
    settings = get_settings()
    result = oncall_reminders(make_sessionmaker(get_engine(settings.database_url)), settings)
    console.print(f"Queued {result['reminded']} On Call renewal reminder(s); `forecourt worker` sends them.")


@app.command()
def mailsink(host: str = typer.Option("127.0.0.1", help="Address to listen on"),
             port: int = typer.Option(8025, help="SMTP port (point FORECOURT_SMTP_PORT at it)"),
             maildir: str = typer.Option(None, help="Where to keep the e-mails (default FORECOURT_MAILSINK_DIR)")) -> None:
    """Development only: catch every e-mail in a maildir instead of sending it; the admin reads them at /admin/mail."""
    import signal
    import threading

    from forecourt.core import mailsink as sink

    directory = maildir or get_settings().mailsink_dir
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        controller = sink.start(directory=directory, host=host, port=port)
    except (OSError, RuntimeError) as error:
        console.print(f"[red]The mail sink could not listen on {host}:{port}: {error}[/red]")
        raise typer.Exit(code=1) from None
    console.print(f"Mail sink on [bold]{host}:{port}[/bold], keeping e-mails in {directory} "
                  "(development only: nothing is delivered)")
    stop.wait()
    controller.stop()
    console.print("Mail sink stopped.")


def local_server_url(settings, host: str | None = None, port: int | None = None) -> str:
    """Where `forecourt serve` answers on this machine with these settings (a wildcard address is reached
    on the loopback), so the simulator finds the server on whatever port it was configured to use."""
    host = host or settings.host
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{local}]:{port or settings.port}" if ":" in local else f"http://{local}:{port or settings.port}"


def _simulate_beside(settings, host: str, port: int, vehicles: int) -> None:
    """A gentle fleet (one report per car every two seconds) posting to the server being started."""
    import threading

    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.demo.driving import drivers_cars
    from forecourt.telematics.simulator.runner import SimulationConfig, beside_server

    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    sessions = make_sessionmaker(get_engine(settings.database_url))
    with sessions() as session:  # each demo driver's own car drives, so their car page moves
        first = tuple(drivers_cars(session))
    config = SimulationConfig(vehicles=vehicles, rate=max(0.5, vehicles / 2), via="http", first=first,
                              server=local_server_url(settings, host, port), workers=1, mqtt=settings.mqtt_url)
    beside_server(config, sessions, local, port, threading.Event())
    console.print(f"Simulating [bold]{vehicles}[/bold] demo cars over HTTP")
    _listen_for_answers(settings, sessions)


def _listen_for_answers(settings, sessions) -> None:
    """The simulated cars answer lock and unlock over MQTT; without ``forecourt ingest`` beside the
    server, the server takes their answers itself (if the broker is there)."""
    from forecourt.telematics.listeners.answers import AnswerListener

    try:
        AnswerListener(settings.mqtt_url, sessions).start()
        console.print(f"Cars take lock and unlock commands over {settings.mqtt_url}")
    except OSError as error:
        console.print(f"[yellow]No broker at {settings.mqtt_url} ({error}): the demo cars take no commands.[/yellow]")


STOP_WAIT_SECONDS = 15.0  # how long `simulate` waits for reports in flight once told to stop


@app.command()
def simulate(vehicles: int = typer.Option(8, "--vehicles", "-n", min=1, help="How many demo cars to drive"),
             rate: float = typer.Option(10.0, min=0.01, help="Messages per second, whole fleet"),
             via: str = typer.Option("http", help="mqtt | http | osmand | teltonika"),
             duration: float = typer.Option(None, min=0.1, help="Stop after this many seconds (default: Ctrl-C)"),
             crash: bool = typer.Option(False, "--crash", help="One car crashes (airbag, crash event)"),
             speedup: float = typer.Option(1.0, min=0.1, help="Simulated seconds per wall-clock second"),
             server: str = typer.Option(None, help="Forecourt, for http and osmand (default: this machine on "
                                                   "FORECOURT_PORT, where `forecourt serve` listens)"),
             mqtt: str = typer.Option("mqtt://127.0.0.1:1883", help="Broker, for mqtt"),
             teltonika: str = typer.Option("127.0.0.1:5027", help="Teltonika listener HOST:PORT"),
             seed: int = typer.Option(7, help="Random seed: same cars, routes and faults"),
             workers: int = typer.Option(8, min=1, help="Sending threads"),
             ignore_commands: bool = typer.Option(False, "--ignore-commands",
                                                  help="The cars never answer lock and unlock commands "
                                                       "(to see them time out)")) -> None:
    """Drive demo cars between German towns and report like real devices, to load and demo ingest."""
    import signal
    import threading

    from rich.live import Live

    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.telematics.simulator.runner import Simulation, SimulationConfig

    if via not in ("mqtt", "http", "osmand", "teltonika"):
        console.print(f"[red]Unknown transport '{via}': use mqtt, http, osmand or teltonika.[/red]")
        raise typer.Exit(code=2)
    settings = get_settings()
    server = server or local_server_url(settings)
    config = SimulationConfig(vehicles=vehicles, rate=rate, via=via, duration=duration, crash=crash,
                              speedup=speedup, seed=seed, server=server, mqtt=mqtt, teltonika=teltonika,
                              workers=workers, ignore_commands=ignore_commands)
    simulation = Simulation(config, make_sessionmaker(get_engine(settings.database_url)))
    try:
        simulation.prepare()
    except RuntimeError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=1) from None
    stats = simulation.stats
    console.print(f"Driving [bold]{stats.vehicles}[/bold] cars via {via} at {rate:g} msg/s "
                  f"(one report per car every {config.interval_s:.1f} simulated s)"
                  + (f"; {stats.crashed_vin} will crash" if stats.crashed_vin else ""))
    stop = threading.Event()
    # A signal only says "stop": the main thread notices at its next look (a quarter second), tells
    # the cars, and waits a bounded time for messages in flight, whatever a busy server does.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(stats=simulation.run(stop)), daemon=True)
    worker.start()

    def line() -> str:
        error = f"  [dim]last error: {stats.last_error[:80]}[/dim]" if stats.last_error else ""
        return (f"[bold]{stats.sent:,}[/bold] sent  [green]{stats.delivered:,} delivered[/green]  "
                f"[red]{stats.errors:,} errors[/red]  {stats.rate:,.1f} msg/s of {rate:g}  "
                f"{stats.elapsed:,.0f} s{error}")

    with Live(line(), console=console, refresh_per_second=4, transient=True) as live:
        while worker.is_alive() and not stop.is_set():
            worker.join(0.25)
            live.update(line())
    if worker.is_alive():
        console.print("Stopping…")
        worker.join(STOP_WAIT_SECONDS)  # then the process ends; a report still in flight counts as not delivered
    console.print(f"Done: {stats.sent:,} sent, {stats.delivered:,} delivered, {stats.errors:,} errors, "
                  f"{stats.rate:,.1f} msg/s achieved over {stats.elapsed:,.1f} s.")


@dataclass
class IngestProcesses:
    """The children of ``forecourt ingest``, to wait for (benchmarks) and to close after the worker."""

    stores: list
    detectors: object

    def wait_ready(self) -> None:
        """Every child has imported and connected (a spawned child needs a second or two)."""
        for child in [*self.stores, self.detectors]:
            child.wait_ready()

    def wait_until_caught_up(self) -> None:
        """Trips and health are rebuilt for every batch stored so far."""
        self.detectors.wait_until_caught_up()

    def close(self) -> None:
        for store in self.stores:
            store.close()  # each finishes the batch in hand
        self.detectors.close()  # then rebuilds what is pending


def ingest_worker(database_url: str, broker: str, *, client_id: str, shared_group: str | None = None,
                  batch_size: int = 2000, store_processes: int = 2, service_proposals: bool = True):
    """The MQTT worker as ``forecourt ingest`` runs it, and its child processes to close after it.

    Batches are decoded and stored in ``store_processes`` processes side by side (on SQLite their
    commits take turns, their decoding does not); one detector process rebuilds trips and health
    for the cars they touched. SOS and crash messages have a store process of their own, so they
    never wait behind telemetry. Acknowledgements still wait for each commit. Returns once the
    children are ready, so the worker takes no message before it can store it.
    """
    from forecourt.assist import ecall
    from forecourt.telematics.detectors import DetectorProcess
    from forecourt.telematics.listeners.mqtt import BrokerAddress, MqttIngestWorker
    from forecourt.telematics.listeners.store import StoreProcess, write_turns

    from forecourt.telematics import commands

    handlers = {ecall.ECALL_TOPIC: ecall.from_mqtt, commands.ACK_TOPIC: commands.from_mqtt}  # cars' answers to commands
    turn = write_turns(database_url)  # the alert lane and the detectors take turns too: none is left polling
    detectors = DetectorProcess(database_url, setup=subscribe_detector_handlers if service_proposals else None,
                                write_turn=turn).start()
    stores = [StoreProcess(database_url, setup=subscribe_alert_handlers, topic_handlers=handlers,
                           write_turn=turn).start() for _ in range(max(store_processes, 1))]
    alert_store = StoreProcess(database_url, setup=subscribe_alert_handlers, topic_handlers=handlers,
                               write_turn=turn).start()
    worker = MqttIngestWorker(broker=BrokerAddress.parse(broker), client_id=client_id, shared_group=shared_group,
                              batch_size=batch_size, store=stores, alert_store=alert_store,
                              after_commit=detectors.after_batch)
    processes = IngestProcesses(stores=[*stores, alert_store], detectors=detectors)
    try:
        processes.wait_ready()
    except BaseException:
        processes.close()
        raise
    return worker, processes


def subscribe_alert_handlers(sessions) -> None:
    """Where readings are stored: an SOS or a crash opens an On Call case right after the commit (its
    durable event waits for the worker only if this process dies first)."""
    from forecourt.handlers import subscribe_all

    subscribe_all(sessions, get_settings())


def subscribe_detector_handlers(sessions) -> None:
    """Runs in the detector process: health events it raises (a new fault, service due) propose slots."""
    from forecourt.handlers import subscribe_all

    subscribe_all(sessions, get_settings())


def _listen_for_trackers(address: str, sessions, stop, after_commit, tracker_texts: dict[str, str]) -> None:
    """The Teltonika listener runs its own event loop in a thread beside the MQTT worker."""
    import asyncio
    import threading

    from forecourt.telematics.listeners.teltonika import TeltonikaListener

    host, _, port = address.rpartition(":")
    listener = TeltonikaListener(sessions=sessions, after_commit=after_commit, tracker_texts=tracker_texts)

    async def main() -> None:
        server = await listener.serve(host or "0.0.0.0", int(port))
        console.print(f"Listening for Teltonika trackers on {host or '0.0.0.0'}:{port}")
        async with server:
            while not stop.is_set():
                await asyncio.sleep(0.5)

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True, name="teltonika").start()


if __name__ == "__main__":
    app()
