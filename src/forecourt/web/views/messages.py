"""Pages: the owner's inbox — recall notices and other messages Forecourt keeps for them in the portal.

The newest notice of a recall still open on the owner's car carries the one-click booking of its fix
(the earliest free slot of the owner's workshop), or the booking already made.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from forecourt.core.i18n import Labels, N_
from forecourt.core.schemas import Id
from forecourt.messaging import notify
from forecourt.web.deps import DbSession, MePage
from forecourt.web.views.render import redirect, render
from forecourt.workshop import recall_work

router = APIRouter(tags=["pages"])

TOPICS = Labels({"recall": N_("Safety recall"), "service_proposal": N_("Service proposal"),
                 "service_booked": N_("Service booked for you"), "nps_survey": N_("Your opinion")})


RECALL_TOPICS = ("recall", "recall_reminder")


def _recall_offers(session, customer_id: int, messages) -> dict[int, dict]:
    """Message id -> the booking offer of its recall, on the newest notice of each car and campaign only."""
    offers, seen = {}, set()
    for message in messages:  # newest first
        parts = (message.dedupe_key or "").split(":")
        if message.topic not in RECALL_TOPICS or len(parts) < 3 or not parts[2].isdigit():
            continue
        key = (parts[1], int(parts[2]))
        if key in seen:
            continue
        seen.add(key)
        offer = recall_work.offer_for_notice(session=session, customer_id=customer_id, vehicle_id=key[1], code=key[0])
        if offer is not None:
            offers[message.id] = offer
    return offers


@router.get("/me/messages")
def inbox_page(request: Request, me: MePage, session: DbSession):
    messages = notify.inbox(session=session, customer_id=me.customer_id)
    return render(request, "messages/inbox.html", messages=messages,
                  unread=notify.unread_count(session=session, customer_id=me.customer_id), topics=TOPICS,
                  offers=_recall_offers(session, me.customer_id, messages))


@router.post("/me/messages/{number}/read")
def read_page(number: Id, me: MePage, session: DbSession):
    """Marks one of the owner's own messages read; anybody else's message does not exist for them."""
    notify.mark_read(session=session, customer_id=me.customer_id, message_id=number)
    return redirect(f"/me/messages#message-{number}")
