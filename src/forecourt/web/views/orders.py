"""Pages: sales — ordering a configuration online, the buyer's orders, the dealer's deliveries.

Errors on the dealer's and buyer's action forms come back to the order page as ``?error=`` (post,
redirect, get), so a reload never repeats an action.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from forecourt.assist import handover
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _, Labels, N_
from forecourt.customers import service as customers_service
from forecourt.sales import configurator, orders
from forecourt.sales import stock as sales_stock
from forecourt.sales.models import Configuration
from forecourt.web.deps import AppSettings, DbSession, MePage, PaymentGateway, SalesPage
from forecourt.web.views.configurator import configuration_or_explanation
from forecourt.web.views.forms import Form, attempt, text, whole_number
from forecourt.web.views.forms import back_to as _back
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])

STEP_NAMES = Labels({"placed": N_("Order placed"), "confirmed": N_("Confirmed by the dealer"),
              "delivery_scheduled": N_("Delivery scheduled"), "delivered": N_("Handed over")})
PAYMENT_NAMES = Labels({"awaiting_deposit": N_("Deposit due"), "deposit_paid": N_("Deposit paid"),
                 "paid_in_full": N_("Paid in full"), "refund_due": N_("Refund due"), "refunded": N_("Refunded"),
                 "cancelled": N_("Nothing paid")})
ENTRY_NAMES = Labels({"receipt": N_("Received"), "reversal": N_("Reversed"), "refund": N_("Refunded"), "authorisation": N_("Held"),
               "release": N_("Released")})


def _timeline(view: dict) -> list[dict]:
    reached = orders.STEPS.index(view["status"]) if view["status"] in orders.STEPS else -1
    return [dict(code=step, name=STEP_NAMES[step], done=i <= reached) for i, step in enumerate(orders.STEPS)]


def _common(view: dict) -> dict:
    return dict(timeline=_timeline(view), payment_names=PAYMENT_NAMES, entry_names=ENTRY_NAMES,
                delivery_local=orders.dealer_time(view["delivery_at"]),
                handed_over_local=orders.dealer_time(view["handed_over_at"]))


# --- ordering a configuration --------------------------------------------------------------------

def _order_page(request: Request, session, me, settings, code: str, *, chosen: int | None = None,
                allow: bool = False, errors: dict | None = None, status_code: int = 200) -> Response:
    configuration = configuration_or_explanation(request, session, code)
    if not isinstance(configuration, Configuration):
        return configuration  # a mistyped or unknown code: the lookup page says which
    car = configurator.describe(session=session, configuration=configuration)
    near = customers_service.home_position(session=session, customer_id=me.customer_id)
    dealers = orders.delivering_dealers(session=session, near=near, market=configuration.market)
    if chosen is None and dealers:
        chosen = dealers[0]["dealer"].id
    chosen_dealer = next((row["dealer"] for row in dealers if row["dealer"].id == chosen), None)
    deposit = orders.deposit_for(configuration.total_price, percent=settings.order_deposit_percent,
                                 minimum=settings.order_deposit_minimum, currency=configuration.currency)
    return render(request, "orders/new.html", status_code=status_code, car=car, dealers=dealers, chosen=chosen,
                  chosen_dealer=chosen_dealer, allow=allow, errors=errors or {}, deposit=float(deposit),
                  colour=orders.colour_of(configuration), sorted_by_distance=near is not None)


@router.get("/c/{code}/order")
def order_page(request: Request, code: str, me: MePage, session: DbSession, settings: AppSettings):
    return _order_page(request, session, me, settings, code)


@router.post("/c/{code}/order")
def place_order(request: Request, code: str, me: MePage, session: DbSession, settings: AppSettings, form: Form):
    raw_dealer = text(form, "dealer_id")
    dealer_id = whole_number(raw_dealer)
    allow = form.get("allow_contact") == "yes"
    try:
        order = orders.place(session=session, customer_id=me.customer_id, configuration_code=code,
                             dealer_id=dealer_id, allow_contact=allow,
                             deposit_percent=settings.order_deposit_percent,
                             deposit_minimum=settings.order_deposit_minimum)
    except Invalid as problem:
        return _order_page(request, session, me, settings, code, chosen=dealer_id, allow=allow,
                           errors={problem.field or "form": problem.message}, status_code=422)
    return _back(f"/me/orders/{order.number}",
                 flash=_("Thank you! Order %(number)s is placed; pay the deposit to reserve your car.", number=order.number))


# --- the buyer's orders --------------------------------------------------------------------------

@router.get("/me/orders")
def my_orders(request: Request, me: MePage, session: DbSession):
    views = [orders.describe(session=session, order=o)
             for o in orders.list_for_customer(session=session, customer_id=me.customer_id)]
    return render(request, "orders/mine.html", orders=views, step_names=STEP_NAMES, payment_names=PAYMENT_NAMES)


@router.get("/me/orders/{number}")
def my_order(request: Request, number: str, me: MePage, session: DbSession, gateway: PaymentGateway,
             error: str | None = None):
    order = orders.get_for_customer(session=session, customer_id=me.customer_id, number=number)
    view = orders.describe(session=session, order=order)
    card = orders.open_card_payment(session=session, order=order) if gateway.online else None
    return render(request, "orders/order.html", order=view, error=error, pays_online=gateway.online is not None,
                  card_payment=card, card_key=getattr(gateway.online, "publishable_key", ""), **_common(view))


@router.post("/me/orders/{number}/payments")
def pay_for_my_order(number: str, me: MePage, session: DbSession, gateway: PaymentGateway, form: Form):
    """Starts a card payment (its form then shows on the order page); nothing is paid by this post."""
    try:
        asked = orders.start_payment(session=session, gateway=gateway, customer_id=me.customer_id, number=number,
                                     kind=text(form, "kind") or "")
    except (Invalid, Conflict) as problem:
        return _back(f"/me/orders/{number}", error=problem.message)
    return _back(f"/me/orders/{number}", flash=asked["instructions"])


# --- the dealer's deliveries ---------------------------------------------------------------------

@router.get("/workspace/orders")
def deliveries(request: Request, principal: SalesPage, session: DbSession, include_closed: bool = False):
    views = [orders.describe(session=session, order=o)
             for o in orders.list_for_dealer(session=session, dealer_id=principal.organization_id,
                                             include_closed=include_closed)]
    for view in views:
        view["delivery_local"] = orders.dealer_time(view["delivery_at"])
    return render(request, "orders/deliveries.html", orders=views, include_closed=include_closed,
                  step_names=STEP_NAMES, payment_names=PAYMENT_NAMES)


@router.get("/workspace/orders/{number}")
def delivery(request: Request, number: str, principal: SalesPage, session: DbSession, error: str | None = None):
    order = orders.open_for_dealer(session=session, principal=principal, number=number)
    view = orders.describe(session=session, order=order)
    try:
        buyer = customers_service.get(session=session, customer_id=order.customer_id) if order.customer_id else None
    except NotFound:
        buyer = None
    stock = (sales_stock.for_order(session=session, principal=principal, order=order)
             if order.status in ("confirmed", "delivery_scheduled") and order.vehicle_id is None else [])
    return render(request, "orders/delivery.html", order=view, buyer=buyer, error=error, stock=stock,
                  **_common(view))


def _act(session, number: str, action, done: str) -> Response:
    return attempt(session, f"/workspace/orders/{number}", action, done)


@router.post("/workspace/orders/{number}/confirm")
def confirm(number: str, principal: SalesPage, session: DbSession):
    return _act(session, number, lambda: orders.confirm(session=session, principal=principal, number=number),
                _("Order confirmed; the buyer sees it in their portal."))


@router.post("/workspace/orders/{number}/vehicle")
def assign_vehicle(number: str, principal: SalesPage, session: DbSession, form: Form):
    year = text(form, "model_year")
    return _act(session, number, lambda: orders.assign_vehicle(
        session=session, principal=principal, number=number, vin=text(form, "vin") or "",
        model_year=whole_number(year)), _("Car assigned to the order."))


def _delivery_time(form) -> datetime:
    day, clock = text(form, "date"), text(form, "time")
    try:
        return datetime.fromisoformat(f"{day}T{clock}")
    except (TypeError, ValueError):
        raise Invalid(_("Enter the delivery date and time, e.g. 2025-06-02 and 10:00."), field="at") from None


@router.post("/workspace/orders/{number}/delivery")
def schedule_delivery(number: str, principal: SalesPage, session: DbSession, form: Form):
    return _act(session, number, lambda: orders.schedule_delivery(session=session, principal=principal, number=number,
                                                         at=_delivery_time(form)),
                _("Delivery scheduled; the buyer sees the appointment in their portal."))


@router.post("/workspace/orders/{number}/handover")
def hand_over(number: str, principal: SalesPage, session: DbSession):
    return _act(session, number,
                lambda: handover.hand_over_order(session=session, principal=principal, number=number),
                _("Handed over: the car is now registered to the buyer."))


@router.post("/workspace/orders/{number}/cancel")
def cancel(number: str, principal: SalesPage, session: DbSession, gateway: PaymentGateway):
    return _act(session, number, lambda: orders.cancel(session=session, gateway=gateway, principal=principal,
                                                       number=number),
                _("Order cancelled: card payments are refunded at once; your till refunds what it took."))
