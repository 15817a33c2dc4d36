"""The insights page's figures at once (lead conversion, buying factors, tenders, lessons) and as CSV.

Names shown beside figures follow the dashboards' rule: the carmaker may name every dealer, a dealer
only itself. The CSV carries the lessons' texts (the reps' own notes, as the dashboard does) up to
``CSV_NOTES``, newest first; everything else is counts, shares, days and prices per car.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.core.i18n import N_, _, gettext
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


BREAKDOWN_NAMES = {"source": N_("leads by source"), "dealer": N_("leads by dealer"), "model": N_("leads by model"),
                   "month": N_("leads by month")}


def _rows(figures: dict) -> list[list]:
    """The insights' figures, one per line, named in the reader's language."""
    rows: list[list] = []
    leads = figures["leads"]
    total = leads["total"]
    section, everything = _("leads"), _("all")
    names = {"leads": _("leads"), "converted": _("became deals"), "rate": _("conversion rate"),
             "median_days": _("median days to deal")}
    rows += [[section, names[key], everything, total[key]] for key in names]
    for name in BREAKDOWNS:
        by = gettext(BREAKDOWN_NAMES[name]) if name in BREAKDOWN_NAMES else name
        for row in leads[name]:
            label = export.translated(row["label"]) if row["label"] not in (None, "") else row["key"]
            rows += [[by, names[key], label, row[key]] for key in names]
    factors = _("buying factors")
    factor_names = {"won": _("won deals naming it"), "lost": _("lost deals naming it"),
                    "won_share": _("share of won deals"), "lost_share": _("share of lost deals"),
                    "win_rate": _("win rate when named"), "covered_win_rate": _("win rate when covered")}
    for f in figures["buying_factors"]["factors"]:
        rows += [[factors, factor_names[key], export.translated(f["label"]), f[key]] for key in factor_names]
    tenders, rfp = _("tenders"), _("RFP")
    group_names = {"won": _("won"), "lost": _("lost"), "lost_on_price": _("lost on price"), "win_rate": _("win rate")}
    for key, label in (("rfp", _("fleet deals with an RFP")), ("no_rfp", _("fleet deals without an RFP"))):
        rows += [[tenders, group_names[k], label, figures["tenders"][key][k]] for k in group_names]
    for p in figures["tenders"]["prices"]:
        currency = p["currency"]
        rows += [[tenders, _("won price per car (%(currency)s)", currency=currency), rfp, p["won_per_car"]],
                 [tenders, _("lost price per car (%(currency)s)", currency=currency), rfp, p["lost_per_car"]],
                 [tenders, _("price gap per car (%(currency)s)", currency=currency), rfp, p["gap_per_car"]],
                 [tenders, _("price gap share"), f"{rfp} {currency}", p["gap_share"]]]
    lessons = _("lessons")
    for r in figures["lessons"]["by_reason"]:
        reason = export.translated(r["label"])
        rows += [[lessons, _("lost deals"), reason, r["lost"]], [lessons, _("post-mortems written"), reason, r["written"]]]
    for n in figures["lessons"]["notes"]:
        where = " · ".join(part for part in (n["closed_at"].date().isoformat(), export.translated(n["label"]),
                                             n.get("model") or "", n.get("dealer") or "") if part)
        rows.append([_("lesson"), _("post-mortem"), where, _cell(n["note"])])
    return rows


def csv_text(*, figures: dict) -> str:
    """One figure per line (section, figure, breakdown, value), like the pipeline's export."""
    return export.figures_csv(filters=figures["filters"], rows=_rows(figures))
