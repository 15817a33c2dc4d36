"""Pages: the carmaker's recall campaigns — the list with completion bars, the form that opens one
(and counts the cars it would reach first), and each campaign's dashboard with completion over time.

Figures only: no owner appears on these pages.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Request
from pydantic import ValidationError

from forecourt.core import dates
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import _, lazy_gettext
from forecourt.vehicles import recall_desk, recalls
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.schemas.recalls import RecallCampaignIn, RecallCloseIn
from forecourt.web.deps import AdminPage, DbSession
from forecourt.web.views.forms import Form, field_errors, text
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])

SCOPE_ROWS = 3
SCOPE_FIELDS = ("model_code", "trim_code", "vin_from", "vin_to", "produced_from", "produced_to")
SEVERITY_LABELS = (("critical", lazy_gettext("Critical — stop driving")), ("high", lazy_gettext("High")), ("medium", lazy_gettext("Medium")), ("low", lazy_gettext("Low")))
CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_TOP, CHART_BOTTOM, CHART_RIGHT = 720, 260, 48, 14, 36, 16


def completion_chart(points: list[dict], affected: int) -> dict:
    """Cumulative remedies week by week as one line on a 0–100 % scale (server-side SVG: the CSP runs no
    inline script)."""
    plot_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    steps = max(len(points) - 1, 1)
    coords = []
    for i, point in enumerate(points):
        share = point["remedied"] / affected if affected else 0
        coords.append({"x": round(CHART_LEFT + plot_w * i / steps, 1),
                       "y": round(CHART_TOP + plot_h * (1 - share), 1),
                       "label": dates.format_date(point["date"], "MMMd"), "remedied": point["remedied"],
                       "percent": round(100 * share)})
    every = max(len(coords) // 8, 1)
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "left": CHART_LEFT, "right": CHART_WIDTH - CHART_RIGHT,
            "baseline": CHART_TOP + plot_h,
            "path": " ".join(f"{'M' if i == 0 else 'L'}{c['x']},{c['y']}" for i, c in enumerate(coords)),
            "area": (f"M{coords[0]['x']},{CHART_TOP + plot_h} "
                     + " ".join(f"L{c['x']},{c['y']}" for c in coords)
                     + f" L{coords[-1]['x']},{CHART_TOP + plot_h} Z") if coords else "",
            "points": coords, "labels": [c for i, c in enumerate(coords) if i % every == 0 or i == len(coords) - 1],
            "ticks": [{"percent": p, "y": round(CHART_TOP + plot_h * (1 - p / 100), 1)} for p in (0, 25, 50, 75, 100)]}


def _catalogue(session) -> dict:
    models = vehicles_service.list_models(session=session)
    return {"models": [(m.code, m.name) for m in models],
            "trims": [(t.code, f"{m.name} {t.name}") for m in models for t in m.trims]}


def _read(form) -> dict:
    scopes = []
    for i in range(SCOPE_ROWS):
        scope = {name: text(form, f"scope{i}_{name}") for name in SCOPE_FIELDS}
        if any(scope.values()):
            scopes.append({k: v for k, v in scope.items() if v is not None})
    values = {name: text(form, name) for name in ("code", "title", "description", "remedy", "severity",
                                                  "labour_minutes")}
    return {k: v for k, v in values.items() if v is not None} | {"scopes": scopes}


def _errors_of(error) -> dict[str, str]:
    if isinstance(error, ValidationError):
        found = field_errors(error)
    else:
        found = {error.field or "form": error.message}
    # scopes.0.vin_from -> scope0_vin_from, so the message sits beside its input
    return {(k.replace("scopes.", "scope").replace(".", "_", 1) if k.startswith("scopes.") and k.count(".") >= 2
             else k): v for k, v in found.items()}


def _form(request: Request, session, *, values=None, errors=None, count=None, status_code: int = 200):
    return render(request, "recalls/new.html", status_code=status_code, values=values or {"scopes": []},
                  errors=errors or {}, count=count, severities=SEVERITY_LABELS, rows=range(SCOPE_ROWS),
                  **_catalogue(session))


@router.get("/admin/recalls")
def campaigns_page(request: Request, admin: AdminPage, session: DbSession):
    return render(request, "recalls/list.html", campaigns=recalls.list_campaigns(session=session))


@router.get("/admin/recalls/new")
def new_campaign_page(request: Request, admin: AdminPage, session: DbSession):
    return _form(request, session)


@router.post("/admin/recalls")
def open_campaign_page(request: Request, admin: AdminPage, session: DbSession, form: Form):
    values = _read(form)
    if text(form, "action") == "count":
        try:
            count = recalls.preview(session=session, scopes=values["scopes"])
        except Invalid as error:
            return _form(request, session, values=values, errors=_errors_of(error), status_code=422)
        return _form(request, session, values=values, count=count)
    try:
        body = RecallCampaignIn.model_validate(values)
        result = recall_desk.open_and_audit(session=session, admin=admin, body=body)
    except (ValidationError, Invalid, Conflict) as error:
        return _form(request, session, values=values, errors=_errors_of(error), status_code=422)
    code = result["campaign"].code
    message = (f"Campaign {code} opened: {result['affected']} cars affected, {result['notified']} owners told"
               + (f", {result['owner_unknown']} without a known owner" if result["owner_unknown"] else "") + ".")
    return redirect(f"/admin/recalls/{code}?flash={quote_plus(message)}")


@router.get("/admin/recalls/{code}")
def campaign_page(request: Request, code: str, admin: AdminPage, session: DbSession):
    return _dashboard(request, session, code)


def _dashboard(request: Request, session, code: str, *, values=None, errors=None, status_code: int = 200):
    progress = recall_desk.progress_of(session=session, code=code)
    return render(request, "recalls/dashboard.html", status_code=status_code, p=progress,
                  chart=completion_chart(progress["over_time"], progress["affected"]),
                  scopes=[_describe(s, session) for s in recalls.scopes_of(session=session,
                                                                         campaign_id=progress["campaign"].id)],
                  close_values=values or {}, close_errors=errors or {})


@router.post("/admin/recalls/{code}/close")
def close_campaign_page(request: Request, code: str, admin: AdminPage, session: DbSession, form: Form):
    """The dashboard's form: close or supersede; a refusal comes back as the dashboard with the reason."""
    values = {name: text(form, name) for name in ("outcome", "reason", "superseded_by")}
    try:
        body = RecallCloseIn.model_validate({k: v for k, v in values.items() if v is not None})
        result = recall_desk.close_and_audit(session=session, admin=admin, code=code, body=body)
    except (ValidationError, Invalid, Conflict) as error:
        return _dashboard(request, session, code, values=values, errors=_errors_of(error), status_code=422)
    campaign = result["campaign"]
    message = _("Campaign %(code)s closed with %(remedied)s of %(affected)s cars remedied and %(open)s still open.",
                code=campaign.code, remedied=result["remedied"], affected=result["affected"], open=result["open"])
    return redirect(f"/admin/recalls/{campaign.code}?flash={quote_plus(message)}")


def _describe(scope, session) -> str:
    """A scope in words: "Aurora, trim Comfort, VIN … to …, built 1 Jan 2023 to 30 Jun 2023"."""
    parts = []
    models = {m.id: m for m in vehicles_service.list_models(session=session)}
    if scope.model_id:
        parts.append(models[scope.model_id].name)
    if scope.trim_id:
        trim = vehicles_service.get_trim(session=session, trim_id=scope.trim_id)
        parts.append(f"{trim.model.name} {trim.name}")
    if scope.vin_from or scope.vin_to:
        parts.append(_("VIN %(start)s to %(end)s", start=scope.vin_from or _("any"), end=scope.vin_to or _("any")))
    if scope.produced_from or scope.produced_to:
        start = dates.format_date(scope.produced_from) if scope.produced_from else _("the first car")
        end = dates.format_date(scope.produced_to) if scope.produced_to else _("today")
        parts.append(_("built %(start)s to %(end)s", start=start, end=end))
    return ", ".join(parts)
