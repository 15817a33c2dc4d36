"""The carmaker administrator's view of background work: who is alive, what waits, what is dead.

A dead event or e-mail stopped being tried after its attempts; once its cause is fixed (a handler's
bug, a mail server, an address), "Try again" gives it fresh attempts. Each replay is audited.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Request

from forecourt import operations
from forecourt.core import delivery, outbox
from forecourt.core.i18n import _
from forecourt.parties import service as parties_service
from forecourt.web.deps import AdminPage, DbSession
from forecourt.web.views.forms import Form
from forecourt.web.views.render import redirect, render

router = APIRouter(prefix="/admin", tags=["pages"])


@router.get("/background")
def background_page(request: Request, admin: AdminPage, session: DbSession):
    found = operations.overview(session=session, settings=request.app.state.settings)
    return render(request, "admin/background.html", **found)


@router.post("/background/events/{event_id}/replay")
def replay_event(request: Request, event_id: int, admin: AdminPage, session: DbSession, form: Form):
    row = delivery.replay(session=session, event_id=event_id)
    parties_service.audit(session=session, actor=admin, action="event.replay", target=f"event:{row.id}",
                          details={"name": row.name})
    return redirect("/admin/background?flash=" + quote_plus(_("Event %(id)s will be delivered again.", id=row.id)))


@router.post("/background/messages/{message_id}/replay")
def replay_message(request: Request, message_id: int, admin: AdminPage, session: DbSession, form: Form):
    row = outbox.replay(session=session, message_id=message_id)
    parties_service.audit(session=session, actor=admin, action="outbox.replay", target=f"message:{row.id}",
                          details={"topic": row.topic})
    return redirect("/admin/background?flash=" + quote_plus(_("Message %(id)s will be sent again.", id=row.id)))
