"""Composing one coordinated message per driver for an occasion across many drivers
(``python -m bench --only engagement``).

Per engine a fresh database gets the reference data, a carmaker, a dealer and an insurer, then
``--drivers`` drivers (1,000,000 by default; ``FORECOURT_BENCH_ENGAGEMENT_DRIVERS`` or
``--drivers`` for a smaller run) each with one pending occasion of the same kind, and grants drawn
for about 70 % (carmaker, marketing), 50 % (dealer, service reminders) and 20 % (insurer, driving
behaviour) of them — all written with set-based SQL. Five offers compete for the occasion (one with
a model rule that matches nobody, one from an organization no driver granted).

Timed, in the same run, over the same rows:

* ``compose``: ``engagement.compose.run_in_slices`` — the background job as the worker runs it, one
  slice of 50,000 occasions per transaction with its progress recorded;
* ``baseline``: one plain ``CREATE TABLE ... AS SELECT`` joining the occasions to the grants of the
  offers' purposes (the least any composition must do: read every occasion and every grant once and
  write a row per match).

The target: under 5 minutes for 1,000,000 drivers on PostgreSQL on this machine.
"""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, text

from bench import datasets, report

DATA_DIR = datasets.DATA_DIR
PG_URL = os.environ.get("FORECOURT_BENCH_ENGAGEMENT_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/forecourt_bench_engagement")
RESULTS = Path(__file__).resolve().parent / "results" / "engagement.json"
DRIVERS = int(os.environ.get("FORECOURT_BENCH_ENGAGEMENT_DRIVERS", "1000000"))
TARGET_SECONDS = 300.0
KIND = "warranty_ends_60"


def default_url(engine: str) -> str:
    return f"sqlite:///{DATA_DIR / 'engagement.db'}" if engine == "sqlite" else PG_URL


def _series(engine: str, n: int) -> str:
    """A table expression of the numbers 1..n called ``g``."""
    if engine == "postgresql":
        return f"generate_series(1, {n}) AS s(g)"
    return f"(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n}) SELECT g FROM s) AS s"


def prepare(engine: str, url: str, *, drivers: int, console: Console) -> dict:
    from forecourt.bootstrap import prepare_database
    from forecourt.core.config import get_settings
    from forecourt.core.db import get_engine
    from forecourt.engagement.models import Offer

    datasets._recreate(engine, url)
    settings = get_settings(database_url=url)
    prepare_database(settings)
    db = get_engine(url)
    now = "CURRENT_TIMESTAMP"
    today = date.today()
    started = time.perf_counter()
    with db.begin() as c:
        for code, kind, partner in (("BENCH-OEM", "carmaker", None), ("BENCH-DLR", "dealer", None),
                                    ("BENCH-INS", "partner", "insurance"), ("BENCH-FIN", "partner", "finance")):
            c.execute(text("INSERT INTO organizations (code, name, kind, partner_kind, country, market, time_zone, "
                           "opening_hours, service_bays, is_active, created_at) VALUES (:code, :code, :kind, "
                           f"{'NULL' if partner is None else ':partner'}, 'DE', 'DE', 'Europe/Berlin', '{{}}', 4, :yes, "
                           f"{now})"), {"code": code, "kind": kind, "partner": partner, "yes": True})
        org = dict(c.execute(text("SELECT code, id FROM organizations WHERE code LIKE 'BENCH-%'")).all())
        c.execute(text(f"INSERT INTO customers (id, first_name, last_name, email, language, market, created_at) "
                       f"SELECT g, 'Driver', 'Bench', 'driver' || g || '@bench.example', 'de', 'DE', {now} "
                       f"FROM {_series(engine, drivers)}"))
        notice = c.execute(text("SELECT MAX(version) FROM notices")).scalar()
        for code, purpose, modulo, keep in (("BENCH-OEM", "marketing_offers", 10, 7),
                                            ("BENCH-DLR", "service_reminders", 2, 1),
                                            ("BENCH-INS", "driving_behaviour_insurance", 5, 1)):
            c.execute(text(f"INSERT INTO consent_grants (customer_id, organization_id, purpose_code, notice_version, "
                           f"granted_at) SELECT g, {org[code]}, '{purpose}', {notice}, {now} "
                           f"FROM {_series(engine, drivers)} WHERE g % {modulo} < {keep}"))
        c.execute(text(f"INSERT INTO engagement_occasions (kind, customer_id, window_starts_on, window_ends_on, market, "
                       f"model_code, car_age_years, odometer_km, legal, arm, detail, detected_at) "
                       f"SELECT '{KIND}', g, :start, :end, 'DE', 'AUR', 3, 30000 + g % 60000, :no, "
                       f"'coordinated', '', {now} FROM {_series(engine, drivers)}"),
                  {"start": today - timedelta(days=5), "end": today + timedelta(days=25), "no": False})
        offers = [("BENCH-OEM", "Extend your warranty", "marketing_offers", 90, []),
                  ("BENCH-DLR", "Check-up before it ends", "service_reminders", 70, []),
                  ("BENCH-INS", "Usage-based quote", "driving_behaviour_insurance", 50, []),
                  ("BENCH-OEM", "Only for another model", "marketing_offers", 40, ["NOBODY"]),
                  ("BENCH-FIN", "Refinance", "marketing_offers", 30, [])]
        c.execute(insert(Offer), [
            {"organization_id": org[code], "title": title, "body": "", "purpose": purpose, "occasion_kinds": [KIND],
             "models": models, "markets": [], "benefit": "10 %", "valid_from": today - timedelta(days=1),
             "valid_until": today + timedelta(days=60), "action": "ask_quote", "relevance": relevance}
            for code, title, purpose, relevance, models in offers])
        c.execute(text("INSERT INTO engagement_compose_runs (kind, status, total, done, messages, created_at) "
                       f"VALUES ('{KIND}', 'queued', 0, 0, 0, {now})"))
    if engine == "postgresql":
        c2 = db.raw_connection()
        driver = c2.driver_connection
        driver.autocommit = True
        with driver.cursor() as plain:
            plain.execute("SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT MAX(id) FROM customers))")
            plain.execute("VACUUM ANALYZE")
        c2.close()
    else:
        with db.begin() as c:
            c.execute(text("ANALYZE"))
    return {"drivers": drivers, "load_seconds": round(time.perf_counter() - started, 1)}


def _baseline(db, engine: str) -> tuple[float, int]:
    sql = ("CREATE TABLE bench_engagement_baseline AS SELECT o.id AS occasion_id, o.customer_id, g.organization_id "
           "FROM engagement_occasions o JOIN consent_grants g ON g.customer_id = o.customer_id "
           "WHERE g.withdrawn_at IS NULL AND g.purpose_code IN "
           "('marketing_offers', 'service_reminders', 'driving_behaviour_insurance')")
    with db.begin() as c:
        c.execute(text("DROP TABLE IF EXISTS bench_engagement_baseline"))
    started = time.perf_counter()
    with db.begin() as c:
        c.execute(text(sql))
    seconds = time.perf_counter() - started
    with db.begin() as c:
        rows = c.execute(text("SELECT COUNT(*) FROM bench_engagement_baseline")).scalar()
        c.execute(text("DROP TABLE bench_engagement_baseline"))
    return seconds, rows


def measure(engine: str, url: str, console: Console) -> dict:
    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.engagement import compose

    db = get_engine(url)
    baseline, matches = _baseline(db, engine)
    run_id = db.connect().execute(text("SELECT MAX(id) FROM engagement_compose_runs")).scalar()
    started = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 5:
            last[0] = time.perf_counter()
            console.print(f"  {engine}: {done:,} / {total:,} occasions composed")

    run = compose.run_in_slices(make_sessionmaker(db), run_id=run_id, today=date.today(), hold=timedelta(0),
                                on_progress=progress)
    seconds = time.perf_counter() - started
    with db.connect() as c:
        messages = c.execute(text("SELECT COUNT(*) FROM engagement_messages WHERE status = 'waiting'")).scalar()
        items = c.execute(text("SELECT COUNT(*) FROM engagement_message_items")).scalar()
        empty = c.execute(text("SELECT COUNT(*) FROM engagement_messages WHERE status = 'empty'")).scalar()
    return {"compose_seconds": round(seconds, 1), "baseline_seconds": round(baseline, 1),
            "ratio_to_baseline": round(seconds / baseline, 1) if baseline else None, "baseline_rows": matches,
            "occasions": run.done, "messages_with_offers": messages, "messages_empty": empty, "items": items,
            "meets_target": seconds < TARGET_SECONDS}


def run(*, engines: list[str], drivers: int, output: Path, console: Console) -> dict:
    import json

    document: dict = {"benchmark": "engagement", "drivers": drivers, "target_seconds": TARGET_SECONDS,
                      "machine": report.machine(PG_URL if "postgresql" in engines else None)}
    for engine in engines:
        url = default_url(engine)
        console.print(f"[bold]engagement[/bold] {engine}: loading {drivers:,} drivers…")
        document[engine] = prepare(engine, url, drivers=drivers, console=console)
        console.print(f"[bold]engagement[/bold] {engine}: composing…")
        document[engine] |= measure(engine, url, console)
    table = Table(title=f"Composing one message per driver, {drivers:,} drivers")
    for column in ("engine", "compose s", "baseline s", "× baseline", "messages", "items", "< 5 min"):
        table.add_column(column)
    for engine in engines:
        f = document[engine]
        table.add_row(engine, str(f["compose_seconds"]), str(f["baseline_seconds"]), str(f["ratio_to_baseline"]),
                      f"{f['messages_with_offers']:,}", f"{f['items']:,}", "yes" if f["meets_target"] else "no")
    console.print(table)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2, default=str))
    return document
