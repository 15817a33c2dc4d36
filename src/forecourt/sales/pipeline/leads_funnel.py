"""The top of the funnel: how many leads became deals, by source, dealer, model and month, and how fast.

A lead has become a deal when an opportunity names it (``Opportunity.lead_id``); the time it took is
from the lead's arrival to that deal's opening, in whole days, so medians come from histograms as in
``dashboards``. Two grouped passes whatever the breakdowns: the period's leads counted per source,
dealer, model and month from ``ix_sales_leads_created`` alone; and the deals that name a lead, read
from ``ix_sales_opportunities_lead`` in lead order (each lead's first deal), joined to their lead by
its key in that same order — not a lookup of each lead's deals, which is ten times slower on SQLite
over the network's 600,000 leads a year.

Leads belong to a dealer, not to a rep: narrowing the pipeline to one rep leaves this at the rep's
dealer. Merged leads are not counted (the lead they were merged into is).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.sales.leads import SOURCE_NAMES
from forecourt.sales.models import Lead as L
from forecourt.sales.models import Opportunity as O
from forecourt.sales.pipeline.scope import Scope, in_period
from forecourt.sales.pipeline.sql import days_between, median_of, month_of, whole_days, without_jit

BREAKDOWNS = ("source", "dealer", "model", "month")


def _filters(scope: Scope) -> list:
    conditions = [*in_period(L.created_at, scope), L.status != "merged"]
    if scope.dealer_id is not None:
        conditions.append(L.dealer_id == scope.dealer_id)
    if scope.model_id is not None:
        conditions.append(L.model_id == scope.model_id)
    return conditions


def _leads(session: Session, scope: Scope) -> list[tuple]:
    """(source, dealer, model, month, leads) of the leads that arrived in the period."""
    month = month_of(session, L.created_at).label("lead_month")
    return [tuple(row) for row in session.execute(
        select(L.source, L.dealer_id, L.model_id, month, func.count()).where(*_filters(scope))
        .group_by(L.source, L.dealer_id, L.model_id, "lead_month")).all()]


def _converted(session: Session, scope: Scope) -> list[tuple]:
    """(source, dealer, model, month, whole days to the first deal, leads) of the period's leads that became deals."""
    firsts = (select(O.lead_id.label("lead_id"), func.min(O.created_at).label("deal_at"))
              .where(O.lead_id.is_not(None), O.created_at >= scope.start)  # no deal comes before its lead
              .group_by(O.lead_id).subquery("firsts"))
    month = month_of(session, L.created_at).label("lead_month")
    days = whole_days(session, days_between(session, firsts.c.deal_at, L.created_at)).label("lead_days")
    return [tuple(row) for row in session.execute(
        select(L.source, L.dealer_id, L.model_id, month, days, func.count())
        .select_from(firsts).join(L, L.id == firsts.c.lead_id).where(*_filters(scope))
        .group_by(L.source, L.dealer_id, L.model_id, "lead_month", "lead_days")).all()]


def _row(key, label, entry: dict) -> dict:
    converted = sum(entry["days"].values())
    return {"key": key, "label": label, "leads": entry["leads"], "converted": converted,
            "rate": round(converted / entry["leads"], 4) if entry["leads"] else None,
            "median_days": median_of(list(entry["days"].items()))}


def lead_conversion(*, session: Session, scope: Scope, dealer_names: dict[int, str],
                    model_names: dict[int, str]) -> dict:
    """Leads that arrived in the period, how many became deals and the median days it took, overall and
    by source, dealer, model and month. ``dealer_names`` only holds the dealers the viewer may name."""
    without_jit(session)
    found: dict[str, dict] = {name: {} for name in (*BREAKDOWNS, "total")}

    def entry(name: str, key) -> dict:
        return found[name].setdefault(key, {"leads": 0, "days": {}})

    for source, dealer, model, month, count in _leads(session, scope):
        for name, key in zip((*BREAKDOWNS, "total"), (source, dealer, model, month, None), strict=True):
            entry(name, key)["leads"] += count
    for source, dealer, model, month, days, count in _converted(session, scope):
        day = max(int(days or 0), 0)
        for name, key in zip((*BREAKDOWNS, "total"), (source, dealer, model, month, None), strict=True):
            histogram = entry(name, key)["days"]
            histogram[day] = histogram.get(day, 0) + count
    empty = {"leads": 0, "days": {}}
    labels = {"source": lambda key: SOURCE_NAMES.get(key, str(key)), "dealer": lambda key: dealer_names.get(key, ""),
              "model": lambda key: model_names.get(key) if key is not None else None}
    result: dict = {}
    for name in BREAKDOWNS:
        if name == "month":
            result[name] = [_row(month, month, found[name].get(month, empty)) for month in scope.months()]
        else:
            rows = [_row(key, labels[name](key), value) for key, value in found[name].items()]
            result[name] = sorted(rows, key=lambda r: (-r["leads"], str(r["label"])))
    result["total"] = _row(None, None, found["total"].get(None, empty))
    result["rep_narrowed"] = False  # leads are the dealer's: a rep filter does not narrow them
    return result
