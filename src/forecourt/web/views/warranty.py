"""Pages: a car's warranty and service book, for the dealer (behind the owner's consent) and the owner.

The workspace page shows the warranty and the complete book across the dealer network; it exists for a
dealer only when the owner allowed it service reminders or vehicle health sharing. A dealer with a real
relationship with the car (``workshop.visits.require_relationship``; anyone else gets 404) records a
work order (``/workspace/vehicles/{vin}/work-orders/new``), against one of its appointments for the
car (only then is it the car's mileage); without that consent the
confirmation shows only what the dealer wrote. A refused work order comes back as the form, with what
was typed and the reason. An extended warranty is offered from the book page and bought by the owner
on theirs.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Request
from pydantic import ValidationError

from forecourt.consent import service as consent_service
from forecourt.core import dates
from forecourt.core.clock import now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _, Labels, N_
from forecourt.core.money import Money, format_money
from forecourt.core.schemas import Id
from forecourt.parties import markets
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles import warranty
from forecourt.vehicles.schemas.lifecycle import WorkOrderIn
from forecourt.web.deps import DEALER_ROLES, DbSession, MePage, StaffPage
from forecourt.web.views.forms import Form, field_errors, text
from forecourt.web.views.render import redirect, render
from forecourt.workshop import calendar, visits, warranty_desk

router = APIRouter(tags=["pages"])

STATUS_PILLS = {"covered": "status-ok", "expiring_soon": "status-service_soon", "expired": "status-stop_safely"}
STATUS_LABELS = Labels({"covered": N_("Covered"), "expiring_soon": N_("Expiring soon"), "expired": N_("Expired"),
                 "upcoming": N_("Starts later"), "no_terms": N_("No terms"), "not_started": N_("Not started")})
KIND_LABELS = Labels({"inspection": N_("Inspection"), "oil_service": N_("Oil service"), "tyres": N_("Tyres"), "repair": N_("Repair"),
               "recall": N_("Recall"), "warranty": N_("Warranty repair")})
FORM_FIELDS = ("performed_on", "odometer_km", "kind", "summary", "operations", "parts", "dtcs_cleared",
               "warranty_amount", "customer_amount", "appointment_id")


def _dealer(principal) -> None:
    if principal.role not in DEALER_ROLES:
        raise NotFound("Not found")


def _lines(raw: str | None, names: tuple[str, ...]) -> list[dict]:
    """One item per line, fields separated by ';' (the form's plain-text tables)."""
    rows = []
    for line in (raw or "").splitlines():
        if line.strip():
            cells = [cell.strip() for cell in line.split(";")]
            rows.append({name: cell for name, cell in zip(names, cells, strict=False) if cell != ""})
    return rows


def _work_order_in(form) -> WorkOrderIn:
    values = {name: text(form, name) for name in FORM_FIELDS}
    body = {key: value for key, value in values.items()
            if value is not None and key not in ("operations", "parts", "dtcs_cleared")}
    body["operations"] = _lines(values["operations"], ("description", "hours", "code"))
    body["parts"] = _lines(values["parts"], ("number", "name", "quantity", "unit_price"))
    body["dtcs_cleared"] = [c.strip() for c in (values["dtcs_cleared"] or "").replace(";", ",").split(",")
                            if c.strip()]
    return WorkOrderIn.model_validate(body)


def _form_page(request: Request, session, principal, vehicle, values: dict, errors: dict, status_code: int = 200):
    bookings = [(str(a.id), f"{dates.format_datetime(a.starts_at)} · {calendar.job_label(a.job)}")
                for a in visits.bookings_for_work(session=session, principal=principal, vehicle_id=vehicle.id)]
    dealer = parties_service.organization_or_none(session=session, organization_id=principal.organization_id)
    currency = markets.reference(dealer.market if dealer else None)["currency"]  # the work order is in it
    return render(request, "warranty/work_order.html", status_code=status_code, vehicle=vehicle, values=values,
                  errors=errors, kinds=list(KIND_LABELS.items()), today=now().date(), bookings=bookings,
                  currency=currency)


def _book_page(request: Request, session, principal, vin: str, purpose: str | None, **extra):
    book, vehicle, chosen = warranty_desk.dealer_book(session=session, principal=principal, vin=vin, purpose=purpose)
    cover = warranty_desk.cover_of(session=session, vehicle=vehicle, purpose=chosen)
    products = warranty.list_products(session=session, model_id=vehicle.trim.model_id)
    return render(request, "warranty/book.html", vehicle=vehicle, cover=cover, book=book, purpose=chosen,
                  purpose_name=consent_service.get_purpose(session=session, code=chosen).name,
                  products=products, pills=STATUS_PILLS, labels=STATUS_LABELS, kinds=KIND_LABELS,
                  error=request.query_params.get("error"), **extra)


@router.get("/workspace/vehicles/{vin}/service-book")
def dealer_service_book(request: Request, vin: str, principal: StaffPage, session: DbSession,
                        purpose: str | None = None):
    _dealer(principal)
    return _book_page(request, session, principal, vin, purpose)


@router.get("/workspace/vehicles/{vin}/work-orders/new")
def new_work_order(request: Request, vin: str, principal: StaffPage, session: DbSession):
    _dealer(principal)
    vehicle = visits.require_relationship(session=session, principal=principal,
                                          vehicle=vehicles_service.get_by_vin(session=session, vin=vin))
    return _form_page(request, session, principal, vehicle,
                      {"performed_on": now().date().isoformat(), "kind": "repair",
                       "appointment_id": request.query_params.get("appointment")}, {})


@router.post("/workspace/vehicles/{vin}/work-orders")
def post_work_order(request: Request, vin: str, principal: StaffPage, session: DbSession, form: Form):
    _dealer(principal)
    vehicle = visits.require_relationship(session=session, principal=principal,
                                          vehicle=vehicles_service.get_by_vin(session=session, vin=vin))
    values = {name: text(form, name) for name in FORM_FIELDS}
    try:
        body = _work_order_in(form)
        result = warranty_desk.record(session=session, principal=principal, vin=vin, body=body)
    except ValidationError as error:
        return _form_page(request, session, principal, vehicle, values, field_errors(error), status_code=422)
    except Invalid as error:
        return _form_page(request, session, principal, vehicle, values, {error.field or "form": error.message},
                          status_code=422)
    number = result["work_order"]["work_order_number"]
    if result["full_book"]:
        return redirect(f"/workspace/vehicles/{vehicle.vin}/service-book?flash="
                        + quote_plus(_("Work order %(number)s recorded.", number=number)))
    return render(request, "warranty/recorded.html", vehicle=vehicle, record=result["work_order"], kinds=KIND_LABELS)


@router.post("/workspace/vehicles/{vin}/extended-warranty")
def post_extended_warranty(request: Request, vin: str, principal: StaffPage, session: DbSession, form: Form,
                           purpose: str | None = None):
    _dealer(principal)
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    purpose = text(form, "purpose") or purpose
    back = f"/workspace/vehicles/{vehicle.vin}/service-book" + (f"?purpose={quote_plus(purpose)}" if purpose else "")
    joiner = "&" if "?" in back else "?"
    try:
        offered = warranty_desk.offer(session=session, principal=principal, vin=vin,
                                      product_code=text(form, "product_code") or "", purpose=purpose)
    except Invalid as error:
        return redirect(f"{back}{joiner}error={quote_plus(error.message)}")
    return redirect(f"{back}{joiner}flash=" + quote_plus(_(
        "%(product)s offered to the owner for %(price)s; it is sold only if they accept it in their portal.",
        product=offered["product_name"], price=format_money(Money.of(offered["price"], offered["currency"])))))


@router.get("/me/vehicles/{vin}/service-book")
def my_service_book(request: Request, vin: str, me: MePage, session: DbSession):
    book, vehicle, ownership = warranty_desk.owner_book(session=session, customer_id=me.customer_id, vin=vin)
    cover = (warranty_desk.owner_coverage(session=session, customer_id=me.customer_id, vin=vin)[0]
             if ownership.ended_at is None else None)
    offers = [o for o in warranty_desk.owner_offers(session=session, customer_id=me.customer_id, vin=vin) if o["status"] == "offered"
              and o["expires_at"] > now()] if ownership.ended_at is None else []
    return render(request, "warranty/mine.html", vehicle=vehicle, ownership=ownership, cover=cover, book=book,
                  offers=offers, pills=STATUS_PILLS, labels=STATUS_LABELS, kinds=KIND_LABELS,
                  error=request.query_params.get("error"))


@router.post("/me/warranty-offers/{offer_id}")
def decide_warranty_offer(offer_id: Id, me: MePage, session: DbSession, form: Form):
    """The owner accepts (buys) or declines a dealer's offer; back to the car's warranty page."""
    offered = next((o for o in warranty.offers_for_owner(session=session, customer_id=me.customer_id)
                    if o.id == offer_id), None)
    if offered is None:
        raise NotFound("Offer not found")
    vin = vehicles_service.get(session=session, vehicle_id=offered.vehicle_id).vin
    back = f"/me/vehicles/{vin}/service-book"
    try:
        if form.get("decision") == "accept":
            contract = warranty_desk.accept_offer(session=session, customer_id=me.customer_id, offer_id=offer_id)
            message = _("Bought: your extended warranty runs from %(start)s to %(end)s.",
                        start=dates.format_date(contract.starts_on), end=dates.format_date(contract.ends_on))
        else:
            warranty.decline_offer(session=session, customer_id=me.customer_id, offer_id=offer_id)
            message = _("Declined: nothing was bought.")
    except (Invalid, Conflict) as problem:
        return redirect(f"{back}?error={quote_plus(problem.message)}")
    return redirect(f"{back}?flash={quote_plus(message)}")
