"""Pages: On Call — the cars being towed to this dealer, and "it has arrived".

Dealer staff only, their own dealer only; everybody else gets the ordinary 404 page. The owner's
name and phone appear only when the owner allowed this dealer service reminders (``incoming_for``
passes the consent door and the read is in the owner's access log); otherwise the car alone.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, HTTPException, Request

from forecourt.assist import dispatch as dispatch_service
from forecourt.core.auth import Principal
from forecourt.core.clock import now
from forecourt.core.errors import Conflict
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.web.deps import DEALER_ROLES, DbSession, StaffPage
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])


def _dealer_only(principal: Principal) -> Principal:
    if principal.role not in DEALER_ROLES:
        raise HTTPException(status_code=404, detail="Not found")
    return principal


@router.get("/workspace/incoming")
def incoming_page(request: Request, principal: StaffPage, session: DbSession, flash: str | None = None,
                  error: str | None = None):
    _dealer_only(principal)
    cars = dispatch_service.incoming_with_owners(session=session, principal=principal, now=now())
    return render(request, "incoming/list.html", cars=cars, flash=flash, error=error)


@router.post("/workspace/incoming/{dispatch_id}/arrived")
def arrived(dispatch_id: Id, principal: StaffPage, session: DbSession):
    _dealer_only(principal)
    try:
        with session.begin_nested():
            dispatch_service.mark_arrived(session=session, principal=principal, dispatch_id=dispatch_id, now=now())
    except Conflict as problem:
        return redirect(f"/workspace/incoming?error={quote_plus(problem.message)}")
    return redirect("/workspace/incoming?flash=" + quote_plus(_('Marked as arrived; the call centre sees it.')))
