"""Pages: On Call — the owner's subscriptions (/me/on-call): status per car, renewal, the phone app plan,
and the SOS button with the page that follows the help on its way.

Actions post, then redirect back with ``?flash=`` or ``?error=``. Buying asks for a payment: it is
reused while unpaid, so a reload never asks twice, and the period counts only once the money arrives.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Request
from fastapi.responses import Response

from forecourt.assist import sos, subscriptions
from forecourt.core import dates
from forecourt.core.clock import today
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import _, Labels, N_
from forecourt.web import viewer
from forecourt.web.deps import DbSession, MePage, PaymentGateway
from forecourt.web.views.forms import Form, back_to, text, whole_number
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])

STATE_NAMES = Labels({"active": N_("Active"), "expiring": N_("Ending soon"), "expired": N_("Expired"), "none": N_("Not subscribed")})


def _back(*, flash: str | None = None, error: str | None = None) -> Response:
    return back_to("/me/on-call", flash=flash, error=error)


def _years(form) -> int | None:
    return whole_number(text(form, "years") or "1")


@router.get("/me/on-call")
def my_on_call(request: Request, me: MePage, session: DbSession, gateway: PaymentGateway, error: str | None = None):
    cars = subscriptions.overview_for_owner(session=session, customer_id=me.customer_id, today=today())
    awaiting = subscriptions.awaiting_payment(session=session, customer_id=me.customer_id)
    card = next((row["payment"] for row in awaiting if row["payment"].client_secret), None)
    return render(request, "on_call/mine.html", cars=cars, error=error, state_names=STATE_NAMES, awaiting=awaiting,
                  emergency_number=sos.emergency_number(viewer.market_of(request)),
                  card_payment=card, card_key=getattr(gateway.online, "publishable_key", ""))


def _buy(session, me, gateway, vin: str, form, plan: str) -> Response:
    years = _years(form)
    if years is None:
        return _back(error=_("Choose how many years."))
    try:
        bought = subscriptions.buy(session=session, gateway=gateway, customer_id=me.customer_id, vin=vin,
                                   plan=plan, years=years)
    except (Invalid, Conflict) as problem:
        return _back(error=problem.message)
    period = bought["subscription"]
    return _back(flash=_("On Call until %(day)s is reserved for you. %(instructions)s", day=dates.format_date(period['ends_on'], 'long'), instructions=bought['payment']['instructions']))


@router.post("/me/on-call/{vin}/renew")
def renew(vin: str, me: MePage, session: DbSession, gateway: PaymentGateway, form: Form):
    return _buy(session, me, gateway, vin, form, "renewal")


@router.post("/me/on-call/{vin}/phone-app")
def phone_app(vin: str, me: MePage, session: DbSession, gateway: PaymentGateway, form: Form):
    return _buy(session, me, gateway, vin, form, "phone_app")


def _coordinate(form, name: str) -> float | None:
    """What the browser's location gave; anything unreadable counts as none (help is never refused for it)."""
    try:
        value = float(text(form, name) or "")
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


@router.post("/me/on-call/{vin}/sos")
def call_for_help(vin: str, me: MePage, session: DbSession, form: Form):
    case = sos.call_for_help(session=session, principal=me, vin=vin, latitude=_coordinate(form, "latitude"),
                             longitude=_coordinate(form, "longitude"), accuracy_m=_coordinate(form, "accuracy"))
    session.flush()
    return redirect(f"/me/on-call/help/{quote_plus(case.number)}")


@router.get("/me/on-call/help/{number}")
def help_on_its_way(request: Request, number: str, me: MePage, session: DbSession):
    return render(request, "on_call/help.html", case=sos.driver_view(session=session, principal=me, number=number),
                  emergency_number=sos.emergency_number(viewer.market_of(request)))
