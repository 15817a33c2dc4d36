"""Pipeline dashboards over a million deals, on SQLite and PostgreSQL (``python -m bench --only pipeline``).

Per engine a fresh database gets the demo network (45 dealers, their sales reps, the catalogue),
then ``--opportunities`` deals with their stage changes from the demo's own deal generator
(``forecourt.demo.sales_history``), loaded with ``executemany`` on SQLite and ``COPY`` on
PostgreSQL, the dashboards' monthly rollup recounted from them (``sales.rollup.rebuild``), then
``ANALYZE`` (``VACUUM ANALYZE`` on PostgreSQL). Each dashboard service (volume,
speed, performance, trend, benchmark, and all five together as the page needs them) is timed
``--repeats`` times for the carmaker's whole-network view and for one dealer's sales rep, over the
default period (the last twelve months). The baseline is one plain ``SELECT stage_code, COUNT(*) ... GROUP BY stage_code``
over the whole table, timed in the same run. Before them, the carmaker's whole network page is fetched
through a real server beside raw SQL computing the same figures (``bench.pipeline_page``). With
``keep`` a database stays for a later run with ``reuse``, which measures it again (migrated to the
current schema) instead of building one.
"""

from __future__ import annotations

import io
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from random import Random

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text

from bench import datasets, report

DATA_DIR = datasets.DATA_DIR
PG_URL = os.environ.get("FORECOURT_BENCH_PIPELINE_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/forecourt_bench_pipeline")
RESULTS = Path(__file__).resolve().parent / "results" / "pipeline.json"
SCALING = RESULTS.with_name("scaling.json")  # shared with other benchmarks: only our keys are replaced
TARGET_SECONDS = 2.0
PAGE_TARGET_SECONDS = 1.0  # the carmaker's whole network page, through the application
DASHBOARDS = ("volume", "speed", "performance", "trend", "benchmark", "all", "insights")
LEAD_SHARE = 0.45  # deals that started as a lead (with the leads around them that went nowhere)
VIEWS = ("network", "dealer")
CHUNK = 20_000
BASELINE = text("SELECT stage_code, COUNT(*) FROM sales_opportunities GROUP BY stage_code")


def default_url(engine: str) -> str:
    return f"sqlite:///{DATA_DIR / 'pipeline.db'}" if engine == "sqlite" else PG_URL


# --- the data ------------------------------------------------------------------------------------

def _sqlite_value(value):
    if isinstance(value, datetime):  # as SQLAlchemy stores UTC on SQLite
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value.isoformat() if hasattr(value, "isoformat") else value


def _load(engine_name: str, db, opportunities: int, seed: int) -> int:
    """Streams the generated deals into the database in chunks; returns the stage changes written."""
    from forecourt.core.db import make_sessionmaker, transaction
    from forecourt.demo import sales
    from forecourt.demo.sales_funnel import LEAD_COLUMNS
    from forecourt.demo.sales_history import CHANGE_COLUMNS, DEAL_COLUMNS, deals
    from forecourt.sales import rollup

    with make_sessionmaker(db)() as session:
        sellers = [s for s in sales.sellers(session, with_customers=False) if s.rep_ids]
        cars = sales.cars(session)
        first_id = (session.scalar(text("SELECT MAX(id) FROM sales_opportunities")) or 0) + 1
        first_change = (session.scalar(text("SELECT MAX(id) FROM sales_stage_changes")) or 0) + 1
        first_lead = (session.scalar(text("SELECT MAX(id) FROM sales_leads")) or 0) + 1
    leads: list[tuple] = []  # filled by the generator as it goes; written before the deals naming them
    generator = deals(rng=Random(seed), now=datetime.now(UTC), sellers=sellers, cars=cars, count=opportunities,
                      first_id=first_id, first_change_id=first_change, leads=leads, lead_share=LEAD_SHARE,
                      first_lead_id=first_lead, anonymous_leads=True)
    written = 0
    raw = db.raw_connection()
    try:
        cursor = raw.cursor()
        deal_sql = (f"INSERT INTO sales_opportunities ({', '.join(DEAL_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(DEAL_COLUMNS))})")
        change_sql = (f"INSERT INTO sales_stage_changes ({', '.join(CHANGE_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(CHANGE_COLUMNS))})")
        lead_sql = (f"INSERT INTO sales_leads ({', '.join(LEAD_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(LEAD_COLUMNS))})")
        while True:
            batch, moves = [], []
            for deal, changes in generator:
                batch.append(deal)
                moves += changes
                if len(batch) >= CHUNK:
                    break
            if not batch:
                break
            new_leads, leads[:] = list(leads), []
            if engine_name == "postgresql":
                with cursor.copy(f"COPY sales_leads ({', '.join(LEAD_COLUMNS)}) FROM STDIN") as copy:
                    for row in new_leads:
                        copy.write_row(row)
                with cursor.copy(f"COPY sales_opportunities ({', '.join(DEAL_COLUMNS)}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
                with cursor.copy(f"COPY sales_stage_changes ({', '.join(CHANGE_COLUMNS)}) FROM STDIN") as copy:
                    for row in moves:
                        copy.write_row(row)
            else:
                cursor.execute("BEGIN")
                cursor.executemany(lead_sql, [tuple(_sqlite_value(v) for v in row) for row in new_leads])
                cursor.executemany(deal_sql, [tuple(_sqlite_value(v) for v in row) for row in batch])
                cursor.executemany(change_sql, [tuple(_sqlite_value(v) for v in row) for row in moves])
                cursor.execute("COMMIT")
            written += len(moves)
            if engine_name == "postgresql":
                raw.commit()
        raw.commit()
        with transaction(make_sessionmaker(db), write=True) as session:  # the dashboards' rollup, as migrated
            rollup.rebuild(session=session)
        if engine_name == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence('sales_opportunities', 'id'), "
                           "(SELECT MAX(id) FROM sales_opportunities))")
            cursor.execute("SELECT setval(pg_get_serial_sequence('sales_stage_changes', 'id'), "
                           "(SELECT MAX(id) FROM sales_stage_changes))")
            cursor.execute("SELECT setval(pg_get_serial_sequence('sales_leads', 'id'), "
                           "(SELECT MAX(id) FROM sales_leads))")
            raw.commit()
            # VACUUM as autovacuum would soon after such a load: it marks the pages all-visible, which
            # lets the dashboards' covering indexes answer without visiting the table.
            driver = raw.driver_connection
            driver.autocommit = True
            with driver.cursor() as plain:
                plain.execute("VACUUM ANALYZE sales_opportunities")
                plain.execute("VACUUM ANALYZE sales_stage_changes")
                plain.execute("VACUUM ANALYZE sales_leads")
                for table in ("sales_rollup_started", "sales_rollup_closed", "sales_rollup_closed_detail"):
                    plain.execute(f"VACUUM ANALYZE {table}")
                plain.execute("ANALYZE")
            driver.autocommit = False
        else:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    return written


def prepare(engine: str, url: str, *, opportunities: int, console: Console, seed: int = 7) -> dict:
    """A fresh database with the demo network and ``opportunities`` more deals."""
    from forecourt.bootstrap import prepare_database
    from forecourt.core.config import get_settings
    from forecourt.core.db import get_engine
    from forecourt.demo.network import build_demo_network

    started = time.perf_counter()
    datasets._recreate(engine, url)
    settings = get_settings(database_url=url)
    prepare_database(settings)
    build_demo_network(settings=settings, customers=200, dealers=datasets.DEALERS, seed=seed,
                       console=Console(file=io.StringIO()))
    db = get_engine(url)
    _load(engine, db, opportunities, seed)
    with db.connect() as conn:
        counts = {"opportunities": conn.scalar(text("SELECT COUNT(*) FROM sales_opportunities")),
                  "stage_changes": conn.scalar(text("SELECT COUNT(*) FROM sales_stage_changes"))}
    seconds = round(time.perf_counter() - started, 1)
    console.print(f"[dim]{engine}: {counts['opportunities']:,} deals, {counts['stage_changes']:,} stage changes "
                  f"in {seconds} s[/dim]")
    return {**counts, "built_seconds": seconds}


# --- the measurement -----------------------------------------------------------------------------

def _viewers(session) -> dict:
    """The carmaker's administrator, and the sales rep of the dealer with the most deals."""
    from forecourt.parties import service as parties_service
    from forecourt.parties.models import User
    from forecourt.sales.models import Opportunity

    admin = session.scalars(select(User).where(User.role == "carmaker_admin").order_by(User.id)).first()
    busiest = session.execute(select(Opportunity.dealer_id, func.count()).group_by(Opportunity.dealer_id)
                              .order_by(func.count().desc()).limit(1)).scalar()
    rep = session.scalars(select(User).where(User.role == "dealer_sales", User.organization_id == busiest)
                          .order_by(User.id)).first()
    return {"network": parties_service.principal_for(admin), "dealer": parties_service.principal_for(rep)}


def measure(engine: str, url: str, *, repeats: int) -> dict:
    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.sales import pipeline

    db = get_engine(url)
    calls = {"volume": pipeline.volume, "speed": pipeline.speed, "performance": pipeline.performance,
             "trend": pipeline.trend, "benchmark": pipeline.network_benchmark, "all": pipeline.dashboard,
             "insights": pipeline.insights}
    timings: dict[str, dict[str, list[float]]] = {view: {name: [] for name in DASHBOARDS} for view in VIEWS}
    baseline: list[float] = []
    with make_sessionmaker(db)() as session:
        viewers = _viewers(session)
        session.rollback()
        for _ in range(repeats):
            started = time.perf_counter()
            session.execute(BASELINE).all()
            baseline.append(time.perf_counter() - started)
            session.rollback()
            for view, principal in viewers.items():
                for name in DASHBOARDS:
                    started = time.perf_counter()
                    scope = pipeline.scope_for(session=session, principal=principal)
                    calls[name](session=session, scope=scope)
                    timings[view][name].append(time.perf_counter() - started)
                    session.rollback()
    return {"median": {view: {n: round(statistics.median(v), 3) for n, v in by.items()} for view, by in timings.items()},
            "max": {view: {n: round(max(v), 3) for n, v in by.items()} for view, by in timings.items()},
            "baseline_median": round(statistics.median(baseline), 3), "baseline_max": round(max(baseline), 3)}


def table(document: dict) -> Table:
    out = Table(title=f"Pipeline dashboards over {document['opportunities_requested']:,} deals "
                      f"(seconds, median of {document['repeats']}; max in brackets)")
    out.add_column("engine")
    out.add_column("view")
    for name in DASHBOARDS:
        out.add_column(name, justify="right")
    for engine, figures in document["engines"].items():
        for view in VIEWS:
            out.add_row(engine, view, *[f"{figures['median'][view][n]:.3f} ({figures['max'][view][n]:.3f})"
                                        for n in DASHBOARDS])
        out.add_row(engine, "baseline", f"{figures['baseline_median']:.3f} ({figures['baseline_max']:.3f})",
                    *[""] * (len(DASHBOARDS) - 1))
    return out


def existing(engine: str, url: str, *, opportunities: int, console: Console) -> dict | None:
    """A database a previous run kept (``keep``) with at least ``opportunities`` deals, brought to the
    current schema; None when there is none, so it is built."""
    from forecourt.bootstrap import prepare_database
    from forecourt.core.config import get_settings
    from forecourt.core.db import get_engine

    try:
        with get_engine(url).connect() as conn:
            counts = {"opportunities": conn.scalar(text("SELECT COUNT(*) FROM sales_opportunities")),
                      "stage_changes": conn.scalar(text("SELECT COUNT(*) FROM sales_stage_changes"))}
    except Exception:
        return None
    if counts["opportunities"] < opportunities:
        return None
    prepare_database(get_settings(database_url=url))
    console.print(f"[dim]{engine}: reusing {counts['opportunities']:,} deals[/dim]")
    return {**counts, "built_seconds": None, "reused": True}


def _database(engine: str, *, urls: dict[str, str] | None, opportunities: int, console, reuse: bool):
    """The engine's database and how it was built: a kept one when ``reuse`` finds it, else a fresh one."""
    url = (urls or {}).get(engine) or default_url(engine)
    built = (existing(engine, url, opportunities=opportunities, console=console) if reuse else None) \
        or prepare(engine, url, opportunities=opportunities, console=console)
    return url, built


def run(*, engines: list[str], opportunities: int, repeats: int, output: Path | None, console: Console,
        urls: dict[str, str] | None = None, keep: bool = False, reuse: bool = False) -> dict:
    """Builds (or with ``reuse`` takes a kept database), measures and (unless ``keep``) drops each engine's
    database; writes and returns the document."""
    from bench import pipeline_page
    from bench.telemetry import drop

    results: dict[str, dict] = {}
    for engine in engines:
        url, built = _database(engine, urls=urls, opportunities=opportunities, console=console, reuse=reuse)
        load_before = [round(x, 2) for x in os.getloadavg()]
        page = pipeline_page.measure(engine, url, rounds=repeats)
        figures = measure(engine, url, repeats=repeats)
        results[engine] = {**built, **figures, "network_page": page, "load_average_before": load_before,
                           "load_average_after": [round(x, 2) for x in os.getloadavg()]}
        if not keep:
            drop(engine, url)
    pg_url = (urls or {}).get("postgresql") or (PG_URL if "postgresql" in engines else None)
    document = {
        "benchmark": "pipeline", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": report.machine(None) | ({"postgresql": _pg_version(pg_url)} if pg_url else {}),
        "opportunities_requested": opportunities, "repeats": repeats, "target_seconds": TARGET_SECONDS,
        "opportunities": {e: r["opportunities"] for e, r in results.items()},
        "stage_changes": {e: r["stage_changes"] for e, r in results.items()},
        "pipeline_dashboard_seconds": {e: r["median"]["network"] for e, r in results.items()},
        "dealer_dashboard_seconds": {e: r["median"]["dealer"] for e, r in results.items()},
        "baseline_seconds": {e: r["baseline_median"] for e, r in results.items()},
        # The target is per dashboard; "all" (every dashboard of the page at once) is reported beside it.
        "meets_target": {e: max(seconds for view in ("network", "dealer")
                                for name, seconds in r["median"][view].items() if name != "all")
                         < TARGET_SECONDS for e, r in results.items()},
        "whole_page_seconds": {e: {view: r["median"][view]["all"] for view in ("network", "dealer")}
                               for e, r in results.items()},
        "network_page_seconds": {e: r["network_page"]["page_median"] for e, r in results.items()},
        "network_page_raw_sql_seconds": {e: r["network_page"]["raw_sql_median"] for e, r in results.items()},
        "network_page_target_seconds": PAGE_TARGET_SECONDS,
        "network_page_meets_target": {e: r["network_page"]["page_median"] < PAGE_TARGET_SECONDS
                                      for e, r in results.items()},
        "engines": results,
    }
    console.print(table(document))
    console.print(page_table(document))
    if output is not None:
        report.write(output, document)
        console.print(f"Written to {output}")
        if output.resolve() == RESULTS.resolve():
            merge_scaling(document, SCALING)
            console.print(f"network_page_seconds merged into {SCALING}")
    return document


def run_page(*, engines: list[str], opportunities: int, repeats: int, output: Path, console: Console,
             urls: dict[str, str] | None = None, reuse: bool = False) -> dict:
    """Only the carmaker's whole page and its raw-SQL baseline (minutes rather than the dashboards' half
    hour on a busy machine): the page's keys of ``output`` are replaced, the dashboards' kept as measured."""
    import json

    from bench import pipeline_page

    results: dict[str, dict] = {}
    for engine in engines:
        url, built = _database(engine, urls=urls, opportunities=opportunities, console=console, reuse=reuse)
        load_before = [round(x, 2) for x in os.getloadavg()]
        page = pipeline_page.measure(engine, url, rounds=repeats)
        results[engine] = {**built, "network_page": page, "load_average_before": load_before,
                           "load_average_after": [round(x, 2) for x in os.getloadavg()]}
    document = json.loads(output.read_text()) if output.exists() else {"benchmark": "pipeline", "engines": {}}
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    document.update({
        "network_page_measured_at": measured_at,
        "network_page_seconds": {e: r["network_page"]["page_median"] for e, r in results.items()},
        "network_page_raw_sql_seconds": {e: r["network_page"]["raw_sql_median"] for e, r in results.items()},
        "network_page_target_seconds": PAGE_TARGET_SECONDS,
        "network_page_meets_target": {e: r["network_page"]["page_median"] < PAGE_TARGET_SECONDS
                                      for e, r in results.items()},
        "network_page_runs": results})
    document["measured_at"] = document.get("measured_at", measured_at)
    document["opportunities"] = document.get("opportunities") or {e: r["opportunities"] for e, r in results.items()}
    document["opportunities_requested"] = document.get("opportunities_requested", opportunities)
    page_view = {**document, "engines": results}
    console.print(page_table(page_view))
    report.write(output, document)
    if output.resolve() == RESULTS.resolve():
        merge_scaling({**page_view, "measured_at": measured_at,
                       "opportunities": {e: r["opportunities"] for e, r in results.items()}}, SCALING)
    console.print(f"Written to {output}")
    return document


def page_table(document: dict) -> Table:
    out = Table(title=f"The carmaker's network pipeline page over {document['opportunities_requested']:,} deals "
                      f"(GET /workspace/pipeline; seconds, median; max in brackets)")
    for column in ("engine", "page", "raw SQL, same figures", "funnel agrees", "load before"):
        out.add_column(column)
    for engine, figures in document["engines"].items():
        page = figures["network_page"]
        out.add_row(engine, f"{page['page_median']:.3f} ({page['page_max']:.3f})",
                    f"{page['raw_sql_median']:.3f} ({page['raw_sql_max']:.3f})", str(page["funnel_agrees"]),
                    str(figures["load_average_before"]))
    return out


def merge_scaling(document: dict, path: Path) -> None:
    """Adds the page's figures to ``path`` (``scaling.json``) and keeps every other key the file has."""
    import json

    merged = json.loads(path.read_text()) if path.exists() else {}
    engines = document["engines"]
    merged["network_page_seconds"] = document["network_page_seconds"]
    merged["network_page"] = {
        "measured_at": document["measured_at"], "opportunities": document["opportunities"],
        "raw_sql_seconds": document["network_page_raw_sql_seconds"],
        "target_seconds": PAGE_TARGET_SECONDS, "meets_target": document["network_page_meets_target"],
        "load_average_before": {e: r["load_average_before"] for e, r in engines.items()},
        "reproduce": ".venv/bin/python -m bench --only pipeline (the page alone: --pipeline-page-only)"}
    report.write(path, merged)


def _pg_version(url: str) -> str | None:
    """Read before the database is dropped would be nicer; the server's version does not depend on it."""
    from sqlalchemy import create_engine

    try:
        admin = create_engine(datasets._pg_admin_url(url))
        with admin.connect() as conn:
            return conn.scalar(text("SHOW server_version"))
    except Exception:
        return None
