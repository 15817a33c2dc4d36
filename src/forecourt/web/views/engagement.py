"""Pages of coordinated engagement: the driver's offers inbox (phone-sized first), a partner's own
offers, and the carmaker's dashboard with its CSV.

The inbox records an opening when the driver sees a message. Each offer names its sender and carries
a one-click stop: it withdraws that sender's grant of that purpose, with a receipt in the consent
ledger, like the e-mail's unsubscribe link.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote_plus

from fastapi import APIRouter, Request
from fastapi.responses import Response as HttpResponse
from pydantic import ValidationError

from forecourt.consent import service as consent_service
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.engagement import compose, dashboard, kinds, offers, pressure, responses
from forecourt.engagement.schemas import OfferIn
from forecourt.parties import service as parties_service
from forecourt.web.deps import AdminPage, DbSession, MePage, StaffPage
from forecourt.web.openapi import CSV
from forecourt.web.views.forms import Form, back_to, field_errors, text, whole_number
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])
STOP_METHOD = "inbox-one-click"


# --- the driver -------------------------------------------------------------------------------------

@router.get("/me/offers")
def inbox_page(request: Request, me: MePage, session: DbSession):
    messages = responses.inbox(session=session, customer_id=me.customer_id)
    for message in messages:
        if not message["opened"]:
            responses.open_message(session=session, customer_id=me.customer_id, message_id=message["id"])
    choice = pressure.choice_of(session=session, customer_id=me.customer_id)
    return render(request, "engagement/inbox.html", messages=messages, choice=choice,
                  cap=pressure.cap_of(session=session, customer_id=me.customer_id),
                  error=request.query_params.get("error"))


@router.post("/me/offers/{message_id}/items/{item_id}/accept")
def accept_page(message_id: Id, item_id: Id, me: MePage, session: DbSession, form: Form):
    try:
        with session.begin_nested():
            response = responses.accept(session=session, customer_id=me.customer_id, message_id=message_id,
                                        item_id=item_id, slot=whole_number(text(form, "slot")) or 0)
    except (Invalid, Conflict) as problem:
        return back_to("/me/offers", error=problem.message)
    done = {"appointment": _("Booked. You find the visit under Service."),
            "warranty": _("Bought. Your extended warranty starts when today's cover ends."),
            "lead": _("Asked. The partner will send you a quote.")}[response.outcome.split(":")[0]]
    return redirect(f"/me/offers?flash={quote_plus(done)}#message-{message_id}")


@router.post("/me/offers/stop")
def stop_sender(me: MePage, session: DbSession, form: Form):
    """One click: this sender may no longer use the driver's data for this purpose (a ledger receipt)."""
    organization_id, purpose = whole_number(text(form, "organization_id")), text(form, "purpose") or ""
    grant = consent_service.active_grant(session=session, customer_id=me.customer_id,
                                         organization_id=organization_id or 0, purpose_code=purpose) \
        if organization_id else None
    if grant is None:
        return back_to("/me/offers", error=_("There was nothing to stop: this sender holds no such permission."))
    consent_service.withdraw(session=session, customer_id=me.customer_id, organization_id=organization_id,
                             purpose_code=purpose, method=STOP_METHOD)
    name = parties_service.get_organization(session=session, organization_id=organization_id).name
    return back_to("/me/offers", flash=_("%(sender)s will send you no more of these offers.", sender=name))


@router.post("/me/offers/choice")
def choose(me: MePage, session: DbSession, form: Form):
    raw = text(form, "per_month")
    per_month = whole_number(raw) if raw else None
    if raw and (per_month is None or not 0 <= per_month <= 31):
        return back_to("/me/offers", error=_("Choose between 0 and 31 messages a month."))
    pressure.set_choice(session=session, customer_id=me.customer_id, email=text(form, "email") == "on",
                        per_month=per_month)
    return back_to("/me/offers", flash=_("Saved: we write to you only as you chose."))


# --- a partner's own offers ------------------------------------------------------------------------

def _offer_values(form) -> dict:
    def listed(name: str) -> list[str]:
        return [v.strip() for v in (text(form, name) or "").replace(";", ",").split(",") if v.strip()]

    def number(name: str):
        raw = text(form, name)
        return raw if raw not in (None, "") else None

    return {"title": text(form, "title") or "", "body": text(form, "body") or "",
            "purpose": text(form, "purpose") or "",
            "occasion_kinds": form.getlist("occasion_kinds"), "models": listed("models"),
            "markets": [m.upper() for m in listed("markets")], "min_age_years": number("min_age_years"),
            "max_age_years": number("max_age_years"), "min_km": number("min_km"), "max_km": number("max_km"),
            "price": number("price"), "currency": text(form, "currency") or None,
            "benefit": text(form, "benefit") or None,
            "valid_from": text(form, "valid_from") or "", "valid_until": text(form, "valid_until") or "",
            "action": text(form, "action") or "", "action_code": text(form, "action_code") or None,
            "relevance": number("relevance") or 50}


def _offers_page(request: Request, session, principal, *, values=None, errors=None, status_code=200):
    today = date.today()
    return render(request, "engagement/offers.html", status_code=status_code,
                  offers=offers.list_own(session=session, principal=principal), occasion_kinds=kinds.OCCASIONS,
                  actions=kinds.ACTIONS, errors=errors or {},
                  purposes=[(code, consent_service.get_purpose(session=session, code=code).name)
                            for code in kinds.OFFER_PURPOSES],
                  values=values or {"valid_from": today.isoformat(),
                                    "valid_until": (today + timedelta(days=90)).isoformat(), "relevance": 50})


@router.get("/workspace/offers")
def offers_page(request: Request, principal: StaffPage, session: DbSession):
    return _offers_page(request, session, principal)


@router.post("/workspace/offers")
def create_offer_page(request: Request, principal: StaffPage, session: DbSession, form: Form):
    values = _offer_values(form)
    try:
        body = OfferIn.model_validate(values)
        with session.begin_nested():
            offers.create(session=session, principal=principal, offer_in=body.model_dump())
    except ValidationError as error:
        return _offers_page(request, session, principal, values=values, errors=field_errors(error), status_code=422)
    except Invalid as problem:
        return _offers_page(request, session, principal, values=values,
                            errors={problem.field or "title": problem.message}, status_code=422)
    return back_to("/workspace/offers", flash=_("Offer saved. It reaches drivers at their next occasion."))


@router.post("/workspace/offers/{offer_id}/withdraw")
def withdraw_offer_page(offer_id: Id, principal: StaffPage, session: DbSession):
    offers.withdraw(session=session, principal=principal, offer_id=offer_id)
    return back_to("/workspace/offers", flash=_("Offer withdrawn: no new message carries it."))


# --- the carmaker's dashboard ----------------------------------------------------------------------

BAR_WIDTH, BAR_HEIGHT = 640, 24


def _bars(rows: list[dict]) -> dict:
    """Coordinated against control, one pair of bars per occasion (server-side SVG: no inline script)."""
    kinds_seen = sorted({r["kind"] for r in rows})
    by = {(r["kind"], r["arm"]): r for r in rows}
    lines, y = [], 8
    for kind in kinds_seen:
        for arm in ("coordinated", "control"):
            row = by.get((kind, arm))
            share = row["take_up"] if row else 0.0
            lines.append({"y": y, "width": round(360 * share, 1), "arm": arm, "label": row["occasion"] if row else kind,
                          "percent": round(100 * share, 1), "n": row["occasions"] if row else 0})
            y += BAR_HEIGHT
        y += 8
    return {"width": BAR_WIDTH, "height": y + 8, "bars": lines}


@router.get("/admin/engagement")
def dashboard_page(request: Request, principal: AdminPage, session: DbSession):
    found = dashboard.figures(session=session)
    return render(request, "engagement/dashboard.html", f=found, chart=_bars(found["arms"]),
                  runs=compose.runs(session=session), occasion_kinds=kinds.OCCASIONS)


@router.get("/admin/engagement.csv", response_class=HttpResponse, responses=CSV)
def dashboard_csv(principal: AdminPage, session: DbSession):
    return HttpResponse(dashboard.as_csv(dashboard.figures(session=session)), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="engagement.csv"'})


@router.post("/admin/engagement/compositions")
def compose_page(principal: AdminPage, session: DbSession, form: Form):
    kind = text(form, "kind") or "all"
    if kind != "all" and kind not in kinds.OCCASIONS:
        return back_to("/admin/engagement", error=_("Choose the occasions to compose for: all, or one of %(known)s.",
                                                    known=", ".join(kinds.OCCASIONS)))
    run = compose.start_run(session=session, kind=kind)
    parties_service.audit(session=session, actor=principal, action="engagement.compose", target=f"run:{run.id}",
                          details={"kind": kind})
    return back_to("/admin/engagement", flash=_("Composition queued: the worker composes it in slices; "
                                                "its progress shows below."))


