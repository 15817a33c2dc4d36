"""All dashboards at once (the page) and as CSV (the export), plus the names the filters offer."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from forecourt.core.auth import Role
from forecourt.core.i18n import N_, _, gettext, translate
from forecourt.parties import service as parties_service
from forecourt.sales import rollup
from forecourt.sales.models import Opportunity as O
from forecourt.sales.pipeline import monthly
from forecourt.sales.pipeline.benchmark import network_benchmark
from forecourt.sales.pipeline.dashboards import Facts, performance, speed, trend, volume
from forecourt.sales.pipeline.scope import Scope, currencies_of_dealers, in_period
from forecourt.vehicles import service as vehicles_service


def dashboard(*, session: Session, scope: Scope) -> dict:
    """Every dashboard; they share the passes over the deals started and closed in the period (``Facts``).
    Money is in ``scope.currency``; the network view of a network selling in several currencies also
    gets each currency's own totals (``currencies``), side by side and never added together."""
    facts = Facts(session, scope)
    return {"filters": scope.as_filters(), "currency": scope.currency,
            "volume": volume(session=session, scope=scope, facts=facts),
            "speed": speed(session=session, scope=scope, facts=facts),
            "performance": performance(session=session, scope=scope, facts=facts),
            "trend": trend(session=session, scope=scope, facts=facts),
            "benchmark": network_benchmark(session=session, scope=scope),
            "currencies": by_currency(session=session, scope=scope)}


def by_currency(*, session: Session, scope: Scope) -> list[dict]:
    """Open and won deals of the period per currency, for the network view when it has several (else [])."""
    if scope.dealer_id is not None or len(scope.currencies) < 2:
        return []
    currency_of = currencies_of_dealers(session)
    totals = {c: {"currency": c, "open_count": 0, "open_value": Decimal(0), "won_count": 0, "won_value": Decimal(0)}
              for c in scope.currencies}

    def model(source) -> list:
        return [source.model_id == scope.model_id] if scope.model_id is not None else []

    # open deals through their own index (``status = 'open'`` written out, as in ``Facts.open_deals``)
    opened = session.execute(select(O.dealer_id, func.count(), func.sum(O.amount))
                             .where(O.status == literal_column("'open'"), *in_period(O.created_at, scope), *model(O))
                             .group_by(O.dealer_id)).all()
    closed = monthly.rows(session, rollup.ClosedDeals, start=scope.start, end=scope.end, now=scope.now, where=model)
    won = session.execute(select(closed.c.dealer_id, func.sum(closed.c.deals), func.sum(closed.c.amount_cents))
                          .where(closed.c.status == "won").group_by(closed.c.dealer_id)
                          .having(func.sum(closed.c.deals) != literal_column("0"))).all()
    for prefix, rows in (("open", [(d, n, Decimal(str(v or 0))) for d, n, v in opened]),
                         ("won", [(d, int(n), Decimal(int(c or 0)) / 100) for d, n, c in won])):
        for dealer_id, count, value in rows:
            entry = totals.get(currency_of.get(dealer_id, "EUR"))
            if entry is not None:
                entry[f"{prefix}_count"] += count
                entry[f"{prefix}_value"] += value
    return [{**t, "open_value": float(t["open_value"]), "won_value": float(t["won_value"])} for t in totals.values()]


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


def translated(value) -> str:
    """A stage's or a reason's name (stored as written, in the catalogues) in the reader's language."""
    return translate(str(value)) if value else ""


def _rows(figures: dict) -> list[list]:
    """The dashboards' figures, one per line, named in the reader's language; money names its currency."""
    rows: list[list] = []
    volume_, speed_, performance_ = figures["volume"], figures["speed"], figures["performance"]
    currency = figures.get("currency") or "EUR"
    volume, speed, performance = _("Volume"), _("Speed"), _("Performance")
    everything, open_deals = _("all stages"), _("open deals")
    open_value = _("open value (%(currency)s)", currency=currency)
    forecast = _("weighted forecast (%(currency)s)", currency=currency)
    for s in volume_["stages"]:
        name = translated(s["name"])
        rows += [[volume, open_deals, name, s["count"]], [volume, open_value, name, s["value"]],
                 [volume, forecast, name, s["weighted"]]]
    rows += [[volume, open_deals, everything, volume_["open_count"]],
             [volume, open_value, everything, volume_["open_value"]],
             [volume, forecast, everything, volume_["weighted_forecast"]]]
    for s in speed_["ageing"]:
        name = translated(s["name"])
        rows += [[speed, _("mean days in stage"), name, s["mean_days"]],
                 [speed, _("median days in stage"), name, s["median_days"]]]
    rows += [[speed, _("overdue deals"), everything, speed_["overdue"]["count"]],
             [speed, _("overdue value (%(currency)s)", currency=currency), everything, speed_["overdue"]["value"]]]
    rows += [[speed, _("overdue deals"), _("%(days)s late", days=translated(b["label"])), b["count"]]
             for b in speed_["overdue"]["by_days_late"]]
    rows += [[speed, _("deals reaching stage"), translated(s["name"]), s["reached"]] for s in speed_["funnel"]]
    rows += [[speed, _("conversion"), _("%(stage)s to %(next)s", stage=translated(c["from_name"]),
                                        next=translated(c["to_name"])), c["rate"]] for c in speed_["conversion"]]
    cycle, won_deals = speed_["cycle_time"], _("won deals")
    rows += [[speed, _("cycle time mean days"), won_deals, cycle["mean_days"]],
             [speed, _("cycle time median days"), won_deals, cycle["median_days"]]]
    rows += [[performance, _("won"), "", performance_["won"]], [performance, _("lost"), "", performance_["lost"]],
             [performance, _("win rate"), "", performance_["win_rate"]],
             [performance, _("value won (%(currency)s)", currency=currency), "", performance_["value_won"]]]
    rows += [[performance, _("lost reason"), translated(r["label"]), r["count"]] for r in performance_["lost_reasons"]]
    for t in performance_["targets"]:
        rows += [[performance, _("target units"), t["month"], t["target_units"]],
                 [performance, _("won units"), t["month"], t["won_units"]],
                 [performance, _("target value (%(currency)s)", currency=currency), t["month"], t["target_value"]],
                 [performance, _("won value (%(currency)s)", currency=currency), t["month"], t["won_value"]]]
    trend_names = {"new": _("new"), "won": _("won"), "lost": _("lost"),
                   "value_won": _("value won (%(currency)s)", currency=currency)}
    for m in figures["trend"]["months"]:
        rows += [[_("Trend"), trend_names[key], m["month"], m[key]] for key in ("new", "won", "lost", "value_won")]
    benchmark = _("Benchmark")
    for m in figures["benchmark"]["metrics"]:
        label = translated(m["label"]) + (f" ({currency})" if m["code"] == "value_won" else "")
        rows += [[benchmark, label, _("this dealer"), m["value"]],
                 [benchmark, label, _("peer median"), m["peer_median"]],
                 [benchmark, label, _("percentile rank"), m["percentile"]]]
    for c in figures.get("currencies") or []:
        network = _("Network by currency")
        rows += [[network, open_deals, c["currency"], c["open_count"]],
                 [network, _("open value (%(currency)s)", currency=c["currency"]), c["currency"], c["open_value"]],
                 [network, won_deals, c["currency"], c["won_count"]],
                 [network, _("value won (%(currency)s)", currency=c["currency"]), c["currency"], c["won_value"]]]
    return rows


FILTER_NAMES = {"dealer_id": N_("Dealer"), "rep_id": N_("Sales rep"), "model_id": N_("Model"),
                "date_from": N_("From"), "date_to": N_("Until"), "currency": N_("Currency")}


def figures_csv(*, filters: dict, rows: list[list]) -> str:
    """One figure per line: section, figure, breakdown, value, named in the reader's language; the
    filters first, as comments a reader keeps. Values stay plain numbers (a spreadsheet formats them);
    a byte order mark lets spreadsheets read Korean and umlauts. The dashboards' and the insights'
    exports share this shape, so one spreadsheet reads both."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    for key, value in filters.items():
        writer.writerow([f"# {gettext(FILTER_NAMES[key]) if key in FILTER_NAMES else key}",
                         "" if value is None else value])
    writer.writerow([_("Report section"), _("Figure"), _("Broken down by"), _("Figure value")])
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def csv_text(*, figures: dict) -> str:
    return figures_csv(filters=figures["filters"], rows=_rows(figures))
