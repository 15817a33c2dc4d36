"""The carmaker's whole network pipeline page as a browser gets it, beside raw SQL computing the same figures.

``page``: ``GET /workspace/pipeline`` through a real server (``bench.server``) with the carmaker
administrator's session cookie: routing, the who-may-see check, the five dashboards, the filters'
choices, the charts and the template, the default period (the last twelve months), every dealer of
the network's currency.

``raw_sql``: the same figures straight from the tables with plain SQL through the same engine — no
HTTP, no ORM, no shortcuts the application keeps (deals by stage and status, started per month,
closed deals per month and reason, ageing and overdue histograms, the funnel from each deal's stage
changes, cycle-time histogram, per-dealer figures for the benchmark). It is the floor a page built
the obvious way would stand on; the funnel's counts from it are checked against the page's own
(``funnel_agrees``), so the shortcut is shown to hold on the benchmark's million deals too.
"""

from __future__ import annotations

import re
import statistics
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import bindparam, select, text

ROUNDS = 5
PAGE = "/workspace/pipeline"


def _moment(engine: str, value: datetime):
    """As each engine compares it with the stored column (SQLite keeps UTC text)."""
    if engine == "sqlite":
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _queries(engine: str, ladder: list[str]) -> dict[str, str]:
    pg = engine == "postgresql"
    month = (lambda c: f"to_char(timezone('UTC', {c}), 'YYYY-MM')") if pg else (lambda c: f"substr({c}, 1, 7)")
    days = (lambda a, b: f"extract(epoch FROM {a} - {b}) / 86400.0") if pg else \
        (lambda a, b: f"julianday({a}) - julianday({b})")
    floor = (lambda d: f"floor({d})") if pg else (lambda d: f"CAST({d} AS INTEGER)")
    position = "CASE c.to_stage " + " ".join(f"WHEN '{code}' THEN {n}" for n, code in enumerate(ladder, 1)) + " ELSE 0 END"
    current = "CASE o.stage_code " + " ".join(f"WHEN '{code}' THEN {n}" for n, code in enumerate(ladder, 1)) + " ELSE 0 END"
    created = "o.created_at >= :start AND o.created_at < :end AND o.dealer_id IN :dealers"
    closed = "o.closed_at >= :start AND o.closed_at < :end AND o.dealer_id IN :dealers"
    larger = "greatest" if pg else "max"
    return {
        "by_stage": f"SELECT o.stage_code, o.status, COUNT(*), SUM(o.amount) FROM sales_opportunities o "
                    f"WHERE {created} GROUP BY o.stage_code, o.status",
        "started": f"SELECT {month('o.created_at')}, COUNT(*) FROM sales_opportunities o WHERE {created} GROUP BY 1",
        "closed": f"SELECT {month('o.closed_at')}, o.status, o.lost_reason, COUNT(*), SUM(o.amount) "
                  f"FROM sales_opportunities o WHERE o.status IN ('won', 'lost') AND {closed} GROUP BY 1, 2, 3",
        "cycle": f"SELECT {floor(days('o.closed_at', 'o.created_at'))}, COUNT(*) FROM sales_opportunities o "
                 f"WHERE o.status = 'won' AND {closed} GROUP BY 1",
        "ageing": f"SELECT o.stage_code, {floor(days(':now', 'o.stage_entered_at'))}, COUNT(*) "
                  f"FROM sales_opportunities o WHERE o.status = 'open' AND {created} GROUP BY 1, 2",
        "overdue": f"SELECT o.stage_code, o.expected_close, COUNT(*), SUM(o.amount) FROM sales_opportunities o "
                   f"WHERE o.status = 'open' AND o.expected_close < :today AND {created} GROUP BY 1, 2",
        "funnel": f"SELECT furthest, COUNT(*) FROM (SELECT {larger}(COALESCE(MAX({position}), 0), {current}) "
                  f"AS furthest FROM sales_opportunities o LEFT JOIN sales_stage_changes c "
                  f"ON c.opportunity_id = o.id WHERE {created} GROUP BY o.id, o.stage_code) AS deals GROUP BY furthest",
        "dealers_closed": f"SELECT o.dealer_id, o.status, COUNT(*), SUM(o.amount), "
                          f"AVG({days('o.closed_at', 'o.created_at')}) FROM sales_opportunities o "
                          f"WHERE o.status IN ('won', 'lost') AND {closed} GROUP BY 1, 2",
        "dealers_started": f"SELECT o.dealer_id, o.status, COUNT(*) FROM sales_opportunities o WHERE {created} "
                           f"GROUP BY 1, 2",
    }


def raw_sql(db, engine: str, scope, ladder: list[str]) -> dict:
    """Runs every baseline query once; returns the funnel (reached per rung) for the comparison."""
    params = {"start": _moment(engine, scope.start), "end": _moment(engine, scope.end),
              "now": _moment(engine, scope.now), "today": scope.now.date(), "dealers": list(scope.currency_dealers
                                                                                          or _all_dealers(db))}
    results = {}
    with db.connect() as conn:
        if engine == "postgresql":
            conn.execute(text("SET jit = off"))
        for name, sql in _queries(engine, ladder).items():
            statement = text(sql).bindparams(bindparam("dealers", expanding=True))
            results[name] = conn.execute(statement, {k: v for k, v in params.items() if f":{k}" in sql}).all()
        conn.rollback()
    counts = {int(furthest): n for furthest, n in results["funnel"]}
    return {"funnel": [sum(n for furthest, n in counts.items() if furthest >= rung)
                       for rung in range(1, len(ladder) + 1)]}


def _all_dealers(db) -> list[int]:
    with db.connect() as conn:
        return list(conn.scalars(text("SELECT id FROM organizations WHERE kind = 'dealer'")))


def _log_in(base_url: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=120, follow_redirects=False)
    form = re.search(r'name="form_token" value="([^"]+)"', client.get("/login").text)
    response = client.post("/login", data={"email": email, "password": password,
                                           "form_token": form.group(1) if form else ""})
    if response.status_code != 303:
        raise RuntimeError(f"POST /login answered {response.status_code}")
    return client


def measure(engine: str, url: str, *, rounds: int = ROUNDS) -> dict:
    """Page and baseline alternate, ``rounds`` times each, so a burst of load hits both alike."""
    from bench.server import serving
    from forecourt.core.config import get_settings
    from forecourt.core.db import get_engine, make_sessionmaker
    from forecourt.parties import service as parties_service
    from forecourt.parties.models import User
    from forecourt.sales import pipeline

    settings = get_settings(database_url=url)
    db = get_engine(url)
    with make_sessionmaker(db)() as session:
        admin = session.scalars(select(User).where(User.role == "carmaker_admin").order_by(User.id)).first()
        scope = pipeline.scope_for(session=session, principal=parties_service.principal_for(admin))
        ladder = [s.code for s in pipeline.stages(session=session) if s.outcome != "lost"]
        funnel = [s["reached"] for s in pipeline.speed(session=session, scope=scope)["funnel"]]
        email = admin.email
    page, baseline = [], []
    with serving(settings) as (base_url, _app):
        client = _log_in(base_url, email, settings.demo_password)
        client.get(PAGE)  # the first request of a process warms its caches (templates, catalogues)
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get(PAGE)
            page.append(time.perf_counter() - started)
            if response.status_code != 200 or "funnel" not in response.text.lower():
                raise RuntimeError(f"{PAGE} answered {response.status_code}")
            started = time.perf_counter()
            raw = raw_sql(db, engine, scope, ladder)
            baseline.append(time.perf_counter() - started)
        client.close()
    return {"page_median": round(statistics.median(page), 3), "page_max": round(max(page), 3),
            "raw_sql_median": round(statistics.median(baseline), 3), "raw_sql_max": round(max(baseline), 3),
            "rounds": rounds, "funnel_page": funnel, "funnel_raw_sql": raw["funnel"],
            "funnel_agrees": funnel == raw["funnel"]}
