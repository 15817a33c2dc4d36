"""Follow-ups: added and ticked off on the customer 360, and the rep's own list, overdue first.

The purpose of the look travels with every action (``?purpose=``), as on the 360 itself: a follow-up
is written and shown only under the consent purpose it belongs to.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote_plus

from fastapi import APIRouter, Request

from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.sales import follow_ups
from forecourt.web.deps import DbSession, DealerPage, stated_purpose
from forecourt.web.views.forms import Form, text, whole_number
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])


def _to_customer(customer_id: int, purpose: str, key: str, message: str):
    return redirect(f"/workspace/customers/{customer_id}?purpose={quote_plus(purpose)}&{key}={quote_plus(message)}"
                    "#follow-ups")


def _day(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        raise Invalid(_("Choose the day it is due."), field="due_on") from None


@router.post("/workspace/customers/{customer_id}/follow-ups")
def add_follow_up(customer_id: Id, principal: DealerPage, session: DbSession, form: Form,
                  purpose: str | None = None):
    chosen = stated_purpose(session, principal, purpose)
    try:
        with session.begin_nested():
            follow_ups.add(session=session, principal=principal, customer_id=customer_id, purpose=chosen,
                           title=text(form, "title") or "", due_on=_day(text(form, "due_on")),
                           assigned_user_id=whole_number(text(form, "assigned_user_id")))
    except (Invalid, Conflict) as problem:
        return _to_customer(customer_id, chosen, "error", problem.message)
    return _to_customer(customer_id, chosen, "flash", _("Follow-up added."))


@router.post("/workspace/follow-ups/{follow_up_id}/done")
def mark_done(follow_up_id: Id, principal: DealerPage, session: DbSession, form: Form):
    follow_up = follow_ups.mark_done(session=session, principal=principal, follow_up_id=follow_up_id)
    if text(form, "back") == "customer":
        return _to_customer(follow_up.customer_id, follow_up.purpose, "flash", _("Follow-up done."))
    return redirect(f"/workspace/follow-ups?flash={quote_plus(_('Follow-up done.'))}")


@router.get("/workspace/follow-ups")
def my_follow_ups(request: Request, principal: DealerPage, session: DbSession):
    return render(request, "workspace/follow_ups.html",
                  rows=follow_ups.mine(session=session, principal=principal))
