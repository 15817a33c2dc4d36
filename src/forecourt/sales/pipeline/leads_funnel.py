"""The top of the funnel: how many leads became deals, by source, dealer, model and month, and how fast.

A lead has become a deal when an opportunity names it (``Opportunity.lead_id``); the time it took is
from the lead's arrival to that deal's opening, in whole days, so medians come from histograms as in
``dashboards``. Each breakdown is one grouped pass over the period's leads, with the first deal of
each lead read from ``ix_sales_opportunities_lead`` (never from the deals table itself).

Leads belong to a dealer, not to a rep: narrowing the pipeline to one rep leaves this at the rep's
dealer. Merged leads are not counted (the lead they were merged into is).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.sales.leads import SOURCE_NAMES
from forecourt.sales.models import Lead as L
from forecourt.sales.models import Opportunity as O
from forecourt.sales.pipeline.scope import (Scope, days_between, in_period, median_of, month_of, whole_days,
                                            without_jit)

BREAKDOWNS = ("source", "dealer", "model", "month")


def _filters(scope: Scope) -> list:
    conditions = [*in_period(L.created_at, scope), L.status != "merged"]
    if scope.dealer_id is not None:
        conditions.append(L.dealer_id == scope.dealer_id)
    if scope.model_id is not None:
        conditions.append(L.model_id == scope.model_id)
    return conditions


def _histograms(session: Session, scope: Scope, column) -> dict:
    """key -> {"leads": n, "days": [(whole days to the first deal, leads)]} (unconverted leads: days None)."""
    first_deal = (select(func.min(O.created_at)).where(O.lead_id == L.id).correlate(L).scalar_subquery())
    per_lead = select(column.label("key"), first_deal.label("deal_at"), L.created_at.label("lead_at")) \
        .where(*_filters(scope)).subquery()
    days = whole_days(session, days_between(session, per_lead.c.deal_at, per_lead.c.lead_at)).label("days")
    rows = session.execute(select(per_lead.c.key, days, func.count()).group_by(per_lead.c.key, days)).all()
    found: dict = {}
    for key, day, count in rows:
        entry = found.setdefault(key, {"leads": 0, "days": []})
        entry["leads"] += count
        if day is not None:
            entry["days"].append((max(int(day), 0), count))
    return found


def _row(key, label, entry: dict) -> dict:
    converted = sum(c for _, c in entry["days"])
    return {"key": key, "label": label, "leads": entry["leads"], "converted": converted,
            "rate": round(converted / entry["leads"], 4) if entry["leads"] else None,
            "median_days": median_of(entry["days"])}


def lead_conversion(*, session: Session, scope: Scope, dealer_names: dict[int, str],
                    model_names: dict[int, str]) -> dict:
    """Leads that arrived in the period, how many became deals and the median days it took, overall and
    by source, dealer, model and month. ``dealer_names`` only holds the dealers the viewer may name."""
    without_jit(session)
    columns = {"source": L.source, "dealer": L.dealer_id, "model": L.model_id,
               "month": month_of(session, L.created_at)}
    result: dict = {}
    total: dict = {"leads": 0, "days": []}
    for name in BREAKDOWNS:
        found = _histograms(session, scope, columns[name])
        if name == "source":
            for entry in found.values():  # every lead has a source: the total is their sum
                total["leads"] += entry["leads"]
                total["days"] += entry["days"]
            rows = [_row(key, SOURCE_NAMES.get(key, str(key)), entry) for key, entry in found.items()]
        elif name == "dealer":
            rows = [_row(key, dealer_names.get(key, ""), entry) for key, entry in found.items()]
        elif name == "model":
            rows = [_row(key, model_names.get(key) if key is not None else None, entry) for key, entry in found.items()]
        else:
            rows = [_row(month, month, found.get(month, {"leads": 0, "days": []})) for month in scope.months()]
        if name != "month":
            rows.sort(key=lambda r: (-r["leads"], str(r["label"])))
        result[name] = rows
    result["total"] = _row(None, None, total)
    result["rep_narrowed"] = False  # leads are the dealer's: a rep filter does not narrow them
    return result
