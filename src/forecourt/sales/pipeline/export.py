"""All dashboards at once (the page) and as CSV (the export), plus the names the filters offer."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from forecourt.core.auth import Role
from forecourt.parties import service as parties_service
from forecourt.sales.pipeline.benchmark import network_benchmark
from forecourt.sales.pipeline.dashboards import Facts, performance, speed, trend, volume
from forecourt.sales.pipeline.scope import Scope
from forecourt.vehicles import service as vehicles_service


def dashboard(*, session: Session, scope: Scope) -> dict:
    """Every dashboard; they share the passes over the deals started and closed in the period (``Facts``)."""
    facts = Facts(session, scope)
    return {"filters": scope.as_filters(), "volume": volume(session=session, scope=scope, facts=facts),
            "speed": speed(session=session, scope=scope, facts=facts),
            "performance": performance(session=session, scope=scope, facts=facts),
            "trend": trend(session=session, scope=scope, facts=facts),
            "benchmark": network_benchmark(session=session, scope=scope)}


def filter_choices(*, session: Session, scope: Scope) -> dict:
    """Dealers (carmaker only), the chosen dealer's sales reps and the models, as (id, name) pairs."""
    dealers = []
    if scope.carmaker_view:
        dealers = [(o.id, o.name) for o in parties_service.list_organizations(session=session, kind="dealer")]
    reps = []
    if scope.dealer_id is not None:
        reps = [(u.id, u.display_name) for u in parties_service.list_users(session=session,
                                                                           organization_id=scope.dealer_id)
                if u.role == Role.DEALER_SALES.value]
    models = [(m.id, m.name) for m in vehicles_service.list_models(session=session)]
    return {"dealers": dealers, "reps": reps, "models": models}


def _rows(figures: dict) -> list[list]:
    rows: list[list] = []
    volume_, speed_, performance_ = figures["volume"], figures["speed"], figures["performance"]
    for s in volume_["stages"]:
        rows += [["volume", "open deals", s["name"], s["count"]], ["volume", "open value (EUR)", s["name"], s["value"]],
                 ["volume", "weighted forecast (EUR)", s["name"], s["weighted"]]]
    rows += [["volume", "open deals", "all stages", volume_["open_count"]],
             ["volume", "open value (EUR)", "all stages", volume_["open_value"]],
             ["volume", "weighted forecast (EUR)", "all stages", volume_["weighted_forecast"]]]
    for s in speed_["ageing"]:
        rows += [["speed", "mean days in stage", s["name"], s["mean_days"]],
                 ["speed", "median days in stage", s["name"], s["median_days"]]]
    rows += [["speed", "overdue deals", "all stages", speed_["overdue"]["count"]],
             ["speed", "overdue value (EUR)", "all stages", speed_["overdue"]["value"]]]
    rows += [["speed", "overdue deals", b["label"] + " late", b["count"]] for b in speed_["overdue"]["by_days_late"]]
    rows += [["speed", "deals reaching stage", s["name"], s["reached"]] for s in speed_["funnel"]]
    rows += [["speed", "conversion", f"{c['from_name']} to {c['to_name']}", c["rate"]] for c in speed_["conversion"]]
    cycle = speed_["cycle_time"]
    rows += [["speed", "cycle time mean days", "won deals", cycle["mean_days"]],
             ["speed", "cycle time median days", "won deals", cycle["median_days"]]]
    rows += [["performance", "won", "", performance_["won"]], ["performance", "lost", "", performance_["lost"]],
             ["performance", "win rate", "", performance_["win_rate"]],
             ["performance", "value won (EUR)", "", performance_["value_won"]]]
    rows += [["performance", "lost reason", r["label"], r["count"]] for r in performance_["lost_reasons"]]
    for t in performance_["targets"]:
        rows += [["performance", "target units", t["month"], t["target_units"]],
                 ["performance", "won units", t["month"], t["won_units"]],
                 ["performance", "target value (EUR)", t["month"], t["target_value"]],
                 ["performance", "won value (EUR)", t["month"], t["won_value"]]]
    for m in figures["trend"]["months"]:
        rows += [["trend", key.replace("_", " "), m["month"], m[key]] for key in ("new", "won", "lost", "value_won")]
    for m in figures["benchmark"]["metrics"]:
        rows += [["benchmark", m["label"], "this dealer", m["value"]],
                 ["benchmark", m["label"], "peer median", m["peer_median"]],
                 ["benchmark", m["label"], "percentile rank", m["percentile"]]]
    return rows


def figures_csv(*, filters: dict, rows: list[list]) -> str:
    """One figure per line: section, figure, breakdown, value; the filters first, as comments a reader
    keeps. The dashboards' and the insights' exports share this shape, so one spreadsheet reads both."""
    out = io.StringIO()
    writer = csv.writer(out)
    for key, value in filters.items():
        writer.writerow([f"# {key}", "" if value is None else value])
    writer.writerow(["section", "figure", "breakdown", "value"])
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def csv_text(*, figures: dict) -> str:
    return figures_csv(filters=figures["filters"], rows=_rows(figures))
