"""Pages: On Call — the owner's subscriptions (/me/on-call): status per car, renewal, the phone app plan.

Actions post, then redirect back with ``?flash=`` or ``?error=``, so a reload never pays twice (and
the payment reference makes a repeated post harmless anyway).
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Request
from fastapi.responses import Response

from forecourt.assist import subscriptions
from forecourt.core.clock import today
from forecourt.core.errors import Conflict, Invalid
from forecourt.sales.orders import test_mode_reference
from forecourt.web.deps import DbSession, MePage
from forecourt.web.views.forms import Form, text, whole_number
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])

STATE_NAMES = {"active": "Active", "expiring": "Ending soon", "expired": "Expired", "none": "Not subscribed"}


def _back(*, flash: str | None = None, error: str | None = None) -> Response:
    key, message = ("error", error) if error else ("flash", flash or "")
    return redirect(f"/me/on-call?{key}={quote_plus(message)}")


def _years(form) -> int | None:
    return whole_number(text(form, "years") or "1")


@router.get("/me/on-call")
def my_on_call(request: Request, me: MePage, session: DbSession, error: str | None = None):
    cars = subscriptions.overview_for_owner(session=session, customer_id=me.customer_id, today=today())
    return render(request, "on_call/mine.html", cars=cars, error=error, state_names=STATE_NAMES,
                  reference=test_mode_reference)


def _buy(session, me, vin: str, form, buy) -> Response:
    vehicle = subscriptions.vehicle_of_owner(session=session, customer_id=me.customer_id, vin=vin)
    years = _years(form)
    if years is None:
        return _back(error="Choose how many years.")
    try:
        bought = buy(session=session, customer_id=me.customer_id, vehicle_id=vehicle.id, years=years,
                     payment_reference=text(form, "reference") or "")
    except (Invalid, Conflict) as problem:
        return _back(error=problem.message)
    return _back(flash=f"Thank you: On Call now runs until {bought.ends_on.strftime('%-d %B %Y')} "
                       f"(€{bought.price:,.2f}, test mode, reference {bought.payment_reference}).")


@router.post("/me/on-call/{vin}/renew")
def renew(vin: str, me: MePage, session: DbSession, form: Form):
    return _buy(session, me, vin, form, subscriptions.renew)


@router.post("/me/on-call/{vin}/phone-app")
def phone_app(vin: str, me: MePage, session: DbSession, form: Form):
    return _buy(session, me, vin, form, subscriptions.phone_app_plan)
