"""The ``forecourt`` command: serve, demo, db."""

from __future__ import annotations

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


@app.command()
def serve(host: str = typer.Option(None, help="Address to listen on (default from settings)"),
          port: int = typer.Option(None, help="Port (default 8000)"),
          migrate: bool = typer.Option(True, help="Migrate the database first"),
          reload: bool = typer.Option(False, help="Reload on code changes (development)")) -> None:
    """Serve the web app and API."""
    import uvicorn

    from forecourt.bootstrap import prepare_database

    settings = get_settings()
    if migrate:
        prepare_database(settings)
    host, port = host or settings.host, port or settings.port
    console.print(f"Forecourt on [bold]http://{host}:{port}[/bold]  (database: {settings.database_url})")
    uvicorn.run("forecourt.web.app:create_app", factory=True, host=host, port=port, reload=reload,
                log_level="info", proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)


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
                                                       "($share/GROUP/...)"),
           batch_size: int = typer.Option(2000, min=1, help="Messages per transaction at most"),
           teltonika: str = typer.Option(None, help="Also listen for Teltonika trackers on HOST:PORT "
                                                    "(e.g. 0.0.0.0:5027)")) -> None:
    """Run the ingest worker: MQTT QoS 1 in, committed samples and twin out, then PUBACK.

    Pass --mqtt none to run only the Teltonika listener."""
    import logging
    import signal
    import threading

    from forecourt.bootstrap import prepare_database
    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.telematics.insights import Refresher
    from forecourt.telematics.listeners.mqtt import BrokerAddress, MqttIngestWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    prepare_database(settings)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    sessions = make_sessionmaker(get_engine(settings.database_url))
    if teltonika:
        _listen_for_trackers(teltonika, sessions, stop)
    if mqtt.lower() == "none":
        stop.wait()
        return
    refresher = Refresher(sessions)
    worker = MqttIngestWorker(broker=BrokerAddress.parse(mqtt), client_id=client_id, shared_group=shared_group,
                              sessions=sessions, batch_size=batch_size, after_commit=refresher.after_batch)
    console.print(f"Ingesting [bold]{worker.topic}[/bold] from {mqtt} into {settings.database_url}")
    stats = worker.run(stop)
    refresher.flush()
    console.print(f"Stopped after {stats.messages:,} messages: {stats.stored:,} readings stored, "
                  f"{stats.duplicates:,} duplicates, {stats.rejected:,} rejected.")


@app.command()
def retention(days: int = typer.Option(None, help="Override FORECOURT_POSITION_RETENTION_DAYS")) -> None:
    """Delete raw positions (and the routes drawn from them) older than the retention setting."""
    from forecourt.core.db import get_engine, make_sessionmaker, transaction
    from forecourt.telematics import service as telematics_service

    settings = get_settings()
    keep = days or settings.position_retention_days
    with transaction(make_sessionmaker(get_engine(settings.database_url))) as session:
        removed = telematics_service.prune_positions(session=session, older_than_days=keep)
    console.print(f"Kept {keep} days: removed {removed['positions']:,} positions and {removed['routes']:,} routes.")


def _listen_for_trackers(address: str, sessions, stop) -> None:
    """The Teltonika listener runs its own event loop in a thread beside the MQTT worker."""
    import asyncio
    import threading

    from forecourt.telematics.listeners.teltonika import TeltonikaListener

    host, _, port = address.rpartition(":")
    from forecourt.telematics.insights import Refresher

    listener = TeltonikaListener(sessions=sessions, after_commit=Refresher(sessions).after_batch)

    async def main() -> None:
        server = await listener.serve(host or "0.0.0.0", int(port))
        console.print(f"Listening for Teltonika trackers on {host or '0.0.0.0'}:{port}")
        async with server:
            while not stop.is_set():
                await asyncio.sleep(0.5)

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True, name="teltonika").start()


if __name__ == "__main__":
    app()
