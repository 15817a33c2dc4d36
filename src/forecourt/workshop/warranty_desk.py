"""The warranty desk: a car's warranty cover, its service book and extended warranties, for the dealer
(behind the owner's consent) and for the owner.

A car with an owner is the owner's data. A dealer reads its warranty for a purpose that covers the
service history: the owner's consent (service reminders, vehicle health sharing), or the warranty
contract with one of the dealer's own work orders, opened against an appointment the owner booked,
as the reference (``work_order``). The complete service book — every dealer's work — opens only
with the owner's consent. Recording a work order or offering an extension needs the dealer's real
relationship with the car (``visits.require_relationship``, else 404); without consent the dealer
gets back only what it wrote, and without an appointment behind it the work order is no reference
and not the car's mileage. Kilometres come from the car's odometer when the reader may see the car's
health, otherwise from the highest counted reading in the service book. A dealer only offers an
extended warranty; the owner buys it in the portal.

It lives in ``workshop``, not ``vehicles``: the desk joins the car's rules (``vehicles.warranty``,
``vehicles.work_orders``) with what only the layers above know — the car's own odometer
(``telematics``) and the dealer's appointments and visits (``workshop.visits``). The JSON routes and
the pages both call it, so both doors answer alike.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.consent.catalogue import CONSENT, SERVICE_HISTORY, VEHICLE_HEALTH
from forecourt.core import dates
from forecourt.core.auth import Principal
from forecourt.core.clock import now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.telematics import service as telematics_service
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles import warranty, work_orders
from forecourt.vehicles.schemas.lifecycle import WorkOrderIn
from forecourt.workshop import visits

ODOMETER = "Vehicle.TraveledDistance"  # VSS, metres
BOOK_GRANTS = ("service_reminders", "vehicle_health_sharing")
HIDDEN_NOTE = "lower than an earlier reading of this car (the full service book needs the owner's consent)"


def _car_odometer(session: Session, vehicle_id: int) -> tuple[int, str] | None:
    """The odometer the car itself last reported, in whole kilometres, and when."""
    reading = telematics_service.twin_of(session=session, vehicle_id=vehicle_id).get(ODOMETER)
    if reading is None or not isinstance(reading[0], int | float) or isinstance(reading[0], bool):
        return None
    return int(reading[0] // 1000), _("the car, %(moment)s", moment=dates.format_datetime(reading[1]))


def _book_odometer(session: Session, vehicle_id: int) -> tuple[int, str] | None:
    latest = work_orders.latest_odometer(session=session, vehicle_id=vehicle_id)
    return (latest[0], _("the service book, %(day)s", day=dates.format_date(latest[1]))) if latest else None


def _reading(session: Session, vehicle_id: int, *, health: bool) -> tuple[int, str] | None:
    """The car's own odometer when the reader may see its health, else the service book's."""
    return (_car_odometer(session, vehicle_id) if health else None) or _book_odometer(session, vehicle_id)


def _owned_car(session: Session, vin: str):
    """A car and its current owner; a car in stock is nobody's data, but it has no warranty to read yet."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    owner = vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id)
    if owner is None:
        raise NotFound("Vehicle not found")
    return vehicle, owner


def _purpose_covering(session: Session, code: str, *, consent_only: bool):
    """The purpose row, if it covers service history (and rests on consent when asked): else the car is 404."""
    try:
        row = consent_service.get_purpose(session=session, code=code)
    except Invalid:
        raise NotFound("Vehicle not found") from None
    if SERVICE_HISTORY not in (row.data_categories or []) or (consent_only and row.legal_basis != CONSENT):
        raise NotFound("Vehicle not found")
    return row


def _open_car(session: Session, principal: Principal, vin: str, purpose: str | None, work_order: str | None,
              what: str):
    """The door to a car's warranty: the stated purpose, or warranty work with the dealer's own work
    order as the reference (one opened against an appointment the owner booked; any other is 404)."""
    vehicle, owner = _owned_car(session, vin)
    reference = None
    if work_order:
        reference = work_orders.reference_for(session=session, principal=principal, vehicle_id=vehicle.id,
                                              number=work_order)
        if reference is None:
            raise NotFound("Vehicle not found")
        chosen = "warranty_work"
    else:
        chosen = customers_service.stated_purpose(session=session, principal=principal, purpose=purpose)
    row = _purpose_covering(session, chosen, consent_only=False)
    try:
        consent_service.require(session=session, principal=principal, customer_id=owner, purpose=chosen,
                                what=f"{what} {vehicle.vin}", reference=reference)
    except NotFound:
        raise NotFound("Vehicle not found") from None
    return vehicle, owner, chosen, row


def _coverage(session: Session, vehicle, reading: tuple[int, str] | None) -> dict:
    return warranty.coverage(session=session, vehicle=vehicle, odometer_km=reading[0] if reading else None,
                             odometer_source=reading[1] if reading else None, today=now().date())


def dealer_coverage(*, session: Session, principal: Principal, vin: str, purpose: str | None,
                    work_order: str | None) -> dict:
    """The car's cover as a dealer may read it, behind the door of ``_open_car``."""
    vehicle, _, chosen, row = _open_car(session, principal, vin, purpose, work_order, "warranty")
    return cover_of(session=session, vehicle=vehicle, purpose=chosen, health=VEHICLE_HEALTH in row.data_categories)


def cover_of(*, session: Session, vehicle, purpose: str, health: bool | None = None) -> dict:
    """The car's cover, once the door is open; the car's own odometer only if the purpose covers its health."""
    if health is None:
        health = VEHICLE_HEALTH in consent_service.get_purpose(session=session, code=purpose).data_categories
    return _coverage(session, vehicle, _reading(session, vehicle.id, health=health)) | {"purpose": purpose}


def owner_coverage(*, session: Session, customer_id: int, vin: str) -> tuple[dict, object]:
    """The owner's own car today (a former owner no longer sees its cover: it describes the car now)."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    ownership = vehicles_service.owned_by(session=session, customer_id=customer_id, vehicle=vehicle)
    if ownership.ended_at is not None:
        raise NotFound("Vehicle not found")
    return _coverage(session, vehicle, _reading(session, vehicle.id, health=True)), vehicle


def dealer_book(*, session: Session, principal: Principal, vin: str,
                purpose: str | None) -> tuple[list[dict], object, str]:
    """The complete book across the network, behind the owner's consent to this dealer."""
    vehicle, owner = _owned_car(session, vin)
    chosen = customers_service.stated_purpose(session=session, principal=principal, purpose=purpose)
    _purpose_covering(session, chosen, consent_only=True)
    try:
        consent_service.require(session=session, principal=principal, customer_id=owner, purpose=chosen,
                                what=f"service book {vehicle.vin}")
    except NotFound:
        raise NotFound("Vehicle not found") from None
    return work_orders.service_book(session=session, vehicle_id=vehicle.id), vehicle, chosen


def owner_book(*, session: Session, customer_id: int, vin: str) -> tuple[list[dict], object, object]:
    """A former owner sees the book up to the day they sold the car."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    ownership = vehicles_service.owned_by(session=session, customer_id=customer_id, vehicle=vehicle)
    until = ownership.ended_at.date() if ownership.ended_at else None
    return work_orders.service_book(session=session, vehicle_id=vehicle.id, until=until), vehicle, ownership


def _book_grant(session: Session, principal: Principal, owner: int | None) -> str | None:
    """The consent that opens the full book to this dealer, if the owner gave one and the caller's
    role reads for it."""
    if owner is None:
        return None
    return next((code for code in BOOK_GRANTS
                 if consent_service.holds(session=session, principal=principal, customer_id=owner, purpose=code)),
                None)


def record(*, session: Session, principal: Principal, vin: str, body: WorkOrderIn) -> dict:
    """Write the work order; answer with the full book only if the owner's consent opens it."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    written = visits.record_work_order(
        session=session, principal=principal, vehicle_id=vehicle.id, appointment_id=body.appointment_id,
        performed_on=body.performed_on, odometer_km=body.odometer_km,
        operations=[op.model_dump() for op in body.operations], parts=[part.model_dump() for part in body.parts],
        dtcs_cleared=body.dtcs_cleared, warranty_amount=body.warranty_amount,
        customer_amount=body.customer_amount, kind=body.kind, summary=body.summary, today=now().date())
    owner = vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id)
    name = parties_service.get_organization(session=session, organization_id=principal.organization_id).name
    own = work_orders.entry(written, name)
    grant = _book_grant(session, principal, owner)
    if grant is None:
        if own["odometer_note"]:
            own["odometer_note"] = HIDDEN_NOTE
        return dict(work_order=own, full_book=False, service_book=[own], vehicle=vehicle)
    consent_service.require(session=session, principal=principal, customer_id=owner, purpose=grant,
                            what=f"service book {vehicle.vin}")
    return dict(work_order=own, full_book=True, vehicle=vehicle,
                service_book=work_orders.service_book(session=session, vehicle_id=vehicle.id))


def offer(*, session: Session, principal: Principal, vin: str, product_code: str, purpose: str | None = None,
          work_order: str | None = None) -> dict:
    """Offer the owner an extended warranty: behind the same door as the car's warranty, and bought
    only when the owner accepts it in the portal."""
    visits.require_relationship(session=session, principal=principal,
                                vehicle=vehicles_service.get_by_vin(session=session, vin=vin))
    vehicle, _, chosen, row = _open_car(session, principal, vin, purpose, work_order, "extended warranty offer")
    reading = _reading(session, vehicle.id, health=VEHICLE_HEALTH in row.data_categories)
    offered = warranty.offer_extended(session=session, principal=principal, vehicle_id=vehicle.id,
                                      product_code=product_code, odometer_km=reading[0] if reading else None,
                                      today=now().date(), basis=chosen)
    return offer_out(session=session, offered=offered)


def offer_out(*, session: Session, offered) -> dict:
    """An offer as both doors show it: the car, the product and the dealer by name."""
    vehicle = vehicles_service.get(session=session, vehicle_id=offered.vehicle_id)
    product = next(p for p in warranty.list_products(session=session, active_only=False) if p.id == offered.product_id)
    dealer = parties_service.get_organization(session=session, organization_id=offered.dealer_id)
    return dict(id=offered.id, vehicle_id=vehicle.id, vin=vehicle.vin, product_code=product.code,
                product_name=product.name, dealer_id=dealer.id, dealer_name=dealer.name, price=float(offered.price),
                currency=product.currency or "EUR",
                status=offered.status, created_at=offered.created_at, expires_at=offered.expires_at,
                decided_at=offered.decided_at, contract_id=offered.contract_id)


def owner_offers(*, session: Session, customer_id: int, vin: str | None = None) -> list[dict]:
    """The owner's offers, of one of their cars when ``vin`` is given."""
    vehicle_id = None
    if vin is not None:
        vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
        vehicles_service.owned_by(session=session, customer_id=customer_id, vehicle=vehicle)
        vehicle_id = vehicle.id
    return [offer_out(session=session, offered=o)
            for o in warranty.offers_for_owner(session=session, customer_id=customer_id, vehicle_id=vehicle_id)]


def accept_offer(*, session: Session, customer_id: int, offer_id: int):
    """The owner buys the offered extension; kilometres as the owner sees them (the car's odometer)."""
    offered = warranty.offers_for_owner(session=session, customer_id=customer_id)
    found = next((o for o in offered if o.id == offer_id), None)
    if found is None:
        raise NotFound("Offer not found")
    reading = _reading(session, found.vehicle_id, health=True)
    return warranty.accept_offer(session=session, customer_id=customer_id, offer_id=offer_id,
                                 odometer_km=reading[0] if reading else None, today=now().date())


def decline_offer(*, session: Session, customer_id: int, offer_id: int) -> dict:
    """The owner declines; nothing is bought."""
    return offer_out(session=session, offered=warranty.decline_offer(session=session, customer_id=customer_id,
                                                                     offer_id=offer_id))
