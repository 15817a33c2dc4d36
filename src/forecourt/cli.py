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


if __name__ == "__main__":
    app()
