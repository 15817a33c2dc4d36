"""Pages: the owner's inbox — recall notices and other messages Forecourt keeps for them in the portal."""

from __future__ import annotations

from fastapi import APIRouter, Request

from forecourt.core.i18n import Labels, N_
from forecourt.core.schemas import Id
from forecourt.messaging import notify
from forecourt.web.deps import DbSession, MePage
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])

TOPICS = Labels({"recall": N_("Safety recall"), "service_proposal": N_("Service proposal"),
                 "service_booked": N_("Service booked for you")})


@router.get("/me/messages")
def inbox_page(request: Request, me: MePage, session: DbSession):
    return render(request, "messages/inbox.html", messages=notify.inbox(session=session, customer_id=me.customer_id),
                  unread=notify.unread_count(session=session, customer_id=me.customer_id), topics=TOPICS)


@router.post("/me/messages/{number}/read")
def read_page(number: Id, me: MePage, session: DbSession):
    """Marks one of the owner's own messages read; anybody else's message does not exist for them."""
    notify.mark_read(session=session, customer_id=me.customer_id, message_id=number)
    return redirect(f"/me/messages#message-{number}")
