"""The carmaker administrator's view of background work: who is alive, what waits, what is dead.

A dead event or e-mail stopped being tried after its attempts; once its cause is fixed (a handler's
bug, a mail server, an address), "Try again" gives it fresh attempts. Each replay is audited.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Request

from forecourt import operations
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.web.deps import AdminPage, DbSession
from forecourt.web.views.forms import Form
from forecourt.web.views.render import redirect, render

router = APIRouter(prefix="/admin", tags=["pages"])


@router.get("/background")
def background_page(request: Request, admin: AdminPage, session: DbSession):
    found = operations.overview(session=session, settings=request.app.state.settings)
    return render(request, "admin/background.html", **found)


@router.post("/background/events/{event_id}/replay")
def replay_event(request: Request, event_id: Id, admin: AdminPage, session: DbSession, form: Form):
    row = operations.replay(session=session, principal=admin, what="event", ident=event_id)
    return redirect("/admin/background?flash=" + quote_plus(_("Event %(id)s will be delivered again.", id=row.id)))


@router.post("/background/messages/{message_id}/replay")
def replay_message(request: Request, message_id: Id, admin: AdminPage, session: DbSession, form: Form):
    row = operations.replay(session=session, principal=admin, what="message", ident=message_id)
    return redirect("/admin/background?flash=" + quote_plus(_("Message %(id)s will be sent again.", id=row.id)))
