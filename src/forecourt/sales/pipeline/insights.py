"""The insights page's figures at once (lead conversion, buying factors, tenders, lessons) and as CSV.

Names shown beside figures follow the dashboards' rule: the carmaker may name every dealer, a dealer
only itself. The CSV carries the lessons' texts (the reps' own notes, as the dashboard does) up to
``CSV_NOTES``, newest first; everything else is counts, shares, days and prices per car.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.parties import service as parties_service
from forecourt.sales.pipeline import export
from forecourt.sales.pipeline.leads_funnel import BREAKDOWNS, lead_conversion
from forecourt.sales.pipeline.reasons import NOTES, closed_deal_reasons
from forecourt.sales.pipeline.scope import Scope
from forecourt.vehicles import service as vehicles_service

CSV_NOTES = 5000


def _dealer_names(session: Session, scope: Scope) -> dict[int, str]:
    if scope.carmaker_view:
        return {o.id: o.name for o in parties_service.list_organizations(session=session, kind="dealer")}
    own = parties_service.get_organization(session=session, organization_id=scope.dealer_id)
    return {own.id: own.name}


def insights(*, session: Session, scope: Scope, notes: int = NOTES) -> dict:
    """Every figure of the insights page, with the filters it was computed for."""
    dealers = _dealer_names(session, scope)
    models = {m.id: m.name for m in vehicles_service.list_models(session=session)}
    figures = {"filters": scope.as_filters(),
               "leads": lead_conversion(session=session, scope=scope, dealer_names=dealers, model_names=models),
               **closed_deal_reasons(session=session, scope=scope, notes=notes)}
    for note in figures["lessons"]["notes"]:
        note["model"] = models.get(note["model_id"])
        note["dealer"] = dealers.get(note["dealer_id"]) if note["dealer_id"] is not None else None
    return figures


def _cell(text: str) -> str:
    """A note a rep typed is shown as text by a spreadsheet, never run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _rows(figures: dict) -> list[list]:
    rows: list[list] = []
    leads = figures["leads"]
    total = leads["total"]
    rows += [["leads", "leads", "all", total["leads"]], ["leads", "became deals", "all", total["converted"]],
             ["leads", "conversion rate", "all", total["rate"]],
             ["leads", "median days to deal", "all", total["median_days"]]]
    for name in BREAKDOWNS:
        for row in leads[name]:
            label = row["label"] if row["label"] not in (None, "") else row["key"]
            rows += [[f"leads by {name}", "leads", label, row["leads"]],
                     [f"leads by {name}", "became deals", label, row["converted"]],
                     [f"leads by {name}", "conversion rate", label, row["rate"]],
                     [f"leads by {name}", "median days to deal", label, row["median_days"]]]
    for f in figures["buying_factors"]["factors"]:
        rows += [["buying factors", "won deals naming it", f["label"], f["won"]],
                 ["buying factors", "lost deals naming it", f["label"], f["lost"]],
                 ["buying factors", "share of won deals", f["label"], f["won_share"]],
                 ["buying factors", "share of lost deals", f["label"], f["lost_share"]],
                 ["buying factors", "win rate when named", f["label"], f["win_rate"]],
                 ["buying factors", "win rate when covered", f["label"], f["covered_win_rate"]]]
    tenders = figures["tenders"]
    for key, label in (("rfp", "fleet deals with an RFP"), ("no_rfp", "fleet deals without an RFP")):
        group = tenders[key]
        rows += [["tenders", "won", label, group["won"]], ["tenders", "lost", label, group["lost"]],
                 ["tenders", "lost on price", label, group["lost_on_price"]],
                 ["tenders", "win rate", label, group["win_rate"]]]
    for p in tenders["prices"]:
        rows += [["tenders", f"won price per car ({p['currency']})", "RFP", p["won_per_car"]],
                 ["tenders", f"lost price per car ({p['currency']})", "RFP", p["lost_per_car"]],
                 ["tenders", f"price gap per car ({p['currency']})", "RFP", p["gap_per_car"]],
                 ["tenders", "price gap share", f"RFP {p['currency']}", p["gap_share"]]]
    for r in figures["lessons"]["by_reason"]:
        rows += [["lessons", "lost deals", r["label"], r["lost"]],
                 ["lessons", "post-mortems written", r["label"], r["written"]]]
    for n in figures["lessons"]["notes"]:
        where = " · ".join(part for part in (n["closed_at"].date().isoformat(), n["label"], n.get("model") or "",
                                             n.get("dealer") or "") if part)
        rows.append(["lesson", "post-mortem", where, _cell(n["note"])])
    return rows


def csv_text(*, figures: dict) -> str:
    """One figure per line (section, figure, breakdown, value), like the pipeline's export."""
    return export.figures_csv(filters=figures["filters"], rows=_rows(figures))
