"""Pages of coordinated engagement: the driver's offers inbox (phone-sized first) and the carmaker's
dashboard with its CSV. A partner's own offers have their pages in ``offer_pages``; the driver chooses
channels and frequency on the privacy page (``contact_choice``).

The inbox records an opening when the driver sees a message. Each offer names its sender and carries
a one-click stop: it withdraws that sender's grant of that purpose, with a receipt in the consent
ledger, like the e-mail's unsubscribe link.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Request
from fastapi.responses import Response as HttpResponse

from forecourt.consent import service as consent_service
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.engagement import compose, dashboard, kinds, responses
from forecourt.parties import service as parties_service
from forecourt.web.deps import AdminPage, DbSession, MePage
from forecourt.web.openapi import CSV
from forecourt.web.views import contact_choice
from forecourt.web.views.forms import Form, back_to, text, whole_number
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
    return render(request, "engagement/inbox.html", messages=messages,
                  contact=contact_choice.shown(session=session, customer_id=me.customer_id),
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


