"""Pages: selling a car from the portal, buying one with the seller's code, a dealer's trade-in.

The seller starts the sale on their car's page and sees the code once; the buyer types it on
/me/purchase, sees the car and accepts. A dealer's sales team takes a car in trade the same way on
/workspace/trade-ins. Nothing changes hands until the buyer has seen the car and confirmed.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Request

from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.core.schemas import Id
from forecourt.sales import transfers
from forecourt.vehicles import service as vehicles_service
from forecourt.web.deps import DbSession, MePage, SalesPage
from forecourt.web.views.forms import Form, text
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])


@router.post("/me/vehicles/{vin}/sale")
def start_sale(request: Request, vin: str, me: MePage, session: DbSession):
    transfer, code = transfers.start_sale(session=session, customer_id=me.customer_id, vin=vin)
    vehicle = vehicles_service.get(session=session, vehicle_id=transfer.vehicle_id)
    response = render(request, "portal/sale_started.html", vehicle=vehicle, code=code, transfer=transfer)
    response.headers["Cache-Control"] = "no-store"  # the code is shown once
    return response


@router.post("/me/sales/{transfer_id}/cancel")
def cancel_sale(transfer_id: Id, me: MePage, session: DbSession):
    transfer = transfers.cancel_sale(session=session, customer_id=me.customer_id, transfer_id=transfer_id)
    vin = vehicles_service.get(session=session, vehicle_id=transfer.vehicle_id).vin
    return redirect(f"/me/vehicles/{vin}?flash=" + quote_plus(_("The sale is cancelled; its code no longer works.")))


def _code_page(request: Request, template: str, session, form=None, status_code: int = 200):
    """The form for the code; with a code, the car it opens and the button to accept."""
    code = text(form, "code") if form is not None else None
    if code is None:
        return render(request, template, sale=None, error=None, code="", status_code=status_code)
    try:
        sale = transfers.preview(session=session, code=code)
    except (Invalid, NotFound) as problem:
        return render(request, template, sale=None, error=problem.message, code=code, status_code=422)
    return render(request, template, sale=sale, error=None, code=sale["code"])


def _accept(request: Request, template: str, session, form, accept, done):
    """Without ``confirm`` the buyer sees the car the code opens; with it, ``accept(code)`` and
    ``done(result)`` (the redirect)."""
    if form.get("confirm") != "yes":
        return _code_page(request, template, session, form)
    try:
        result = accept(text(form, "code"))
    except (Invalid, NotFound) as problem:
        return render(request, template, sale=None, error=problem.message, code=text(form, "code"), status_code=422)
    return done(result)


@router.get("/me/purchase")
def purchase_page(request: Request, me: MePage, session: DbSession):
    return _code_page(request, "portal/purchase.html", session)


@router.post("/me/purchase")
def purchase(request: Request, me: MePage, session: DbSession, form: Form):
    def welcome(ownership):
        vin = vehicles_service.get(session=session, vehicle_id=ownership.vehicle_id).vin
        return redirect(f"/me/vehicles/{vin}?flash=" + quote_plus(_("The car is yours. Welcome!")))

    return _accept(request, "portal/purchase.html", session, form,
                   lambda code: transfers.accept_as_buyer(session=session, customer_id=me.customer_id, code=code),
                   welcome)


@router.get("/workspace/trade-ins")
def trade_in_page(request: Request, principal: SalesPage, session: DbSession):
    return _code_page(request, "workspace/trade_in.html", session)


@router.post("/workspace/trade-ins")
def trade_in(request: Request, principal: SalesPage, session: DbSession, form: Form):
    return _accept(request, "workspace/trade_in.html", session, form,
                   lambda code: transfers.accept_trade_in(session=session, principal=principal, code=code),
                   lambda vehicle: redirect("/workspace/trade-ins?flash=" + quote_plus(
                       _("%(car)s (%(vin)s) is now in your stock.", car=vehicle.title, vin=vehicle.vin))))
