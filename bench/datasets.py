"""The benchmark's network of customers, built once per engine and kept between runs.

SQLite keeps it in ``var/bench/``; PostgreSQL in a database named ``forecourt_bench``. A small
marker file next to the SQLite data records which schema revision, size and seed built each
one; anything different (or a missing database) means a rebuild.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from rich.console import Console
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from forecourt.bootstrap import prepare_database
from forecourt.core.config import Settings, get_settings
from forecourt.core.db import get_engine
from forecourt.customers.models import Customer
from forecourt.demo.network import build_demo_network
from forecourt.migrations import alembic_config

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "bench"
PG_URL = os.environ.get("FORECOURT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/forecourt_bench")
SEED = 7
DEALERS = 45


@dataclass(frozen=True)
class Dataset:
    engine: str
    url: str
    customers: int
    built_seconds: float | None  # None when a cached copy was reused

    @property
    def settings(self) -> Settings:
        return get_settings(database_url=self.url)


def default_url(engine: str, customers: int) -> str:
    if engine == "sqlite":
        return f"sqlite:///{DATA_DIR / f'customer360-{customers}.db'}"
    return PG_URL


def schema_head(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _marker_path(engine: str, url: str) -> Path:
    """Next to a SQLite file; under ``var/bench/`` for a PostgreSQL database."""
    if engine == "sqlite":
        return Path(make_url(url).database).with_suffix(".json")
    return DATA_DIR / f"{engine}-{make_url(url).database}.json"


def _expected(url: str, customers: int) -> dict:
    return {"schema": schema_head(url), "customers": customers, "seed": SEED, "dealers": DEALERS}


def _pg_admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def _exists(engine: str, url: str) -> bool:
    if engine == "sqlite":
        return Path(make_url(url).database).exists()
    admin = create_engine(_pg_admin_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                               {"n": make_url(url).database}) is not None
    finally:
        admin.dispose()


def _still_good(engine: str, url: str, customers: int) -> bool:
    marker = _marker_path(engine, url)
    if not (_exists(engine, url) and marker.exists()):
        return False
    recorded = json.loads(marker.read_text())
    if {key: value for key, value in recorded.items() if key != "found"} != _expected(url, customers):
        return False
    try:
        with get_engine(url).connect() as conn:
            revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
            found = conn.scalar(select(func.count(Customer.id)))
    except Exception:
        return False
    # The demo adds each market's own customers to those asked for: the count built is recorded.
    return revision == schema_head(url) and found == recorded.get("found", customers)


def _customers_in(url: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.scalar(select(func.count(Customer.id)))


def _recreate(engine: str, url: str) -> None:
    # Pooled connections would keep the old database (or an unlinked SQLite file) alive; the app
    # and the demo builder ask for the engine as (url, echo), this module as (url).
    get_engine(url, False).dispose()
    get_engine(url).dispose()
    if engine == "sqlite":
        path = Path(make_url(url).database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = make_url(url).database
    admin = create_engine(_pg_admin_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def ensure(engine: str, customers: int, *, console: Console, url: str | None = None,
           rebuild: bool = False) -> Dataset:
    """The cached network for this engine and size, built first if missing or stale."""
    import time

    url = url or default_url(engine, customers)
    _marker_path(engine, url).parent.mkdir(parents=True, exist_ok=True)
    if not rebuild and _still_good(engine, url, customers):
        console.print(f"[dim]{engine}: reusing the {customers:,}-customer network at "
                      f"{make_url(url).render_as_string()}[/dim]")
        prepare_database(get_settings(database_url=url))
        return Dataset(engine=engine, url=url, customers=customers, built_seconds=None)
    console.print(f"[bold]{engine}[/bold]: building a {customers:,}-customer network (kept for later runs)")
    _marker_path(engine, url).unlink(missing_ok=True)
    _recreate(engine, url)
    started = time.perf_counter()
    settings = get_settings(database_url=url)
    prepare_database(settings)
    build_demo_network(settings=settings, customers=customers, dealers=DEALERS, seed=SEED, console=console)
    _marker_path(engine, url).write_text(json.dumps(_expected(url, customers) | {"found": _customers_in(url)}))
    return Dataset(engine=engine, url=url, customers=customers,
                   built_seconds=round(time.perf_counter() - started, 1))
