"""Staff and partner reads of customer data — every one through the consent door.

A caller states the purpose of the read (``?purpose=``) or gets the usual one for their role.
Without a grant the customer, their cars and history do not exist for the caller: 404.
"""

from __future__ import annotations

import csv
import io
from typing import Literal

from fastapi import APIRouter, Query, Response, status

from forecourt.assist import handover
from forecourt.consent import service as consent_service
from forecourt.consent.catalogue import CONTACT, PREFERENCES, SERVICE_HISTORY, VEHICLES
from forecourt.consent.schemas import GrantOut
from forecourt.core.errors import NotFound
from forecourt.core.i18n import N_, gettext
from forecourt.core.schemas import Id, Offset
from forecourt.customers import service as customers_service
from forecourt.customers.schemas import CustomerOut, CustomerPage, PreferencesOut
from forecourt.privacy import customer360
from forecourt.privacy.schemas import Customer360, VehicleWithOwnership
from forecourt.telematics import score
from forecourt.telematics.schemas import DrivingScoreOut
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.schemas.cars import OwnershipOut, SaleIn, ServiceRecordOut, VehicleIn, VehicleOut
from forecourt.web.deps import DbSession, DealerStaff, Staff, stated_purpose
from forecourt.web.openapi import CSV
from forecourt.web.serialise import vehicle_with_ownership

router = APIRouter(prefix="/api", tags=["customers (staff)"])


def _open(session, principal, customer_id: Id, purpose: str | None, what: str, category: str | None = None):
    purpose = stated_purpose(session, principal, purpose)
    customer, categories = customers_service.open_for(session=session, principal=principal,
                                                      customer_id=customer_id, purpose=purpose, what=what)
    if category is not None and category not in categories:
        raise NotFound("Not found")  # the purpose does not cover this kind of data
    return customer


@router.get("/customers", response_model=CustomerPage)
def list_customers(principal: Staff, session: DbSession, q: str | None = None, purpose: str | None = None,
                   limit: int = Query(default=50, ge=1, le=200), offset: Offset = 0):
    purpose = stated_purpose(session, principal, purpose)
    items, total = customers_service.list_visible(session=session, principal=principal, purpose=purpose, q=q,
                                                  limit=limit, offset=offset)
    return CustomerPage(items=items, total=total, limit=limit, offset=offset, purpose=purpose)


def _cell(value: str | None) -> str:
    """Names typed by customers must not run as formulas when a dealer opens the file in a spreadsheet."""
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# The columns of the customer export: a stable code for programs (``?headers=codes``) and the name a
# person reads in their spreadsheet (the default, in the caller's language).
EXPORT_COLUMNS = (("id", N_("Customer number")), ("first_name", N_("Given name(s)")),
                  ("last_name", N_("Family name")), ("email", N_("E-mail")), ("phone", N_("Phone")),
                  ("city", N_("City")))


@router.get("/customers.csv", response_class=Response, responses=CSV)
def export_customers(principal: Staff, session: DbSession, q: str | None = None, purpose: str | None = None,
                     headers: Literal["names", "codes"] = Query(
                         default="names", description="names: column names in the caller's language, with a byte "
                         "order mark for spreadsheets; codes: the stable field names (id, first_name, ...) for "
                         "programs, without one")):
    purpose = stated_purpose(session, principal, purpose)
    items, _ = customers_service.list_visible(session=session, principal=principal, purpose=purpose, q=q,
                                              limit=10_000)
    buffer = io.StringIO()
    if headers == "names":
        buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([code if headers == "codes" else gettext(name) for code, name in EXPORT_COLUMNS])
    for c in items:
        writer.writerow([c.id, *(_cell(v) for v in (c.first_name, c.last_name, c.email, c.phone, c.city))])
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="customers.csv"'})


@router.get("/customers/{customer_id}", response_model=Customer360)
def customer_360(customer_id: Id, principal: Staff, session: DbSession, purpose: str | None = None):
    view = customer360.customer_360(session=session, principal=principal, customer_id=customer_id,
                                    purpose=stated_purpose(session, principal, purpose))
    view["vehicles"] = [vehicle_with_ownership(v["vehicle"], v["ownership"]) for v in view["vehicles"]]
    if CONTACT not in view["categories"]:  # the purpose does not cover how to reach the customer
        view["customer"] = CustomerOut.model_validate(view["customer"]).model_copy(
            update=dict.fromkeys(("email", "phone", "street", "postcode", "city", "country", "birth_date")))
    return view


@router.get("/customers/{customer_id}/profile", response_model=CustomerOut)
def customer_profile(customer_id: Id, principal: Staff, session: DbSession, purpose: str | None = None):
    return _open(session, principal, customer_id, purpose, "profile", CONTACT)


@router.get("/customers/{customer_id}/vehicles", response_model=list[VehicleWithOwnership])
def customer_vehicles(customer_id: Id, principal: Staff, session: DbSession, purpose: str | None = None):
    _open(session, principal, customer_id, purpose, "vehicles", VEHICLES)
    return [vehicle_with_ownership(v, o) for v, o in vehicles_service.vehicles_of(session=session,
                                                                                 customer_id=customer_id)]


@router.get("/customers/{customer_id}/service-history", response_model=list[ServiceRecordOut])
def customer_service_history(customer_id: Id, principal: Staff, session: DbSession, purpose: str | None = None):
    _open(session, principal, customer_id, purpose, "service history", SERVICE_HISTORY)
    records = []
    for vehicle, _ in vehicles_service.vehicles_of(session=session, customer_id=customer_id):
        records.extend(vehicles_service.service_history(session=session, vehicle_id=vehicle.id))
    return records


@router.get("/customers/{customer_id}/preferences", response_model=PreferencesOut)
def customer_preferences(customer_id: Id, principal: Staff, session: DbSession, purpose: str | None = None):
    _open(session, principal, customer_id, purpose, "preferences", PREFERENCES)
    return customers_service.get_preferences(session=session, customer_id=customer_id)


@router.get("/customers/{customer_id}/consents", response_model=list[GrantOut])
def customer_consents(customer_id: Id, principal: Staff, session: DbSession, purpose: str | None = None):
    """The consents that concern the caller's own organization."""
    _open(session, principal, customer_id, purpose, "consents")
    return consent_service.grants_of(session=session, customer_id=customer_id,
                                     organization_id=principal.organization_id)


def _vehicle_owner(session, vin: str) -> tuple:
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    owner = vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id)
    if owner is None:
        raise NotFound("Vehicle not found")
    return vehicle, owner


@router.get("/vehicles/{vin}", response_model=VehicleOut)
def vehicle_detail(vin: str, principal: Staff, session: DbSession, purpose: str | None = None):
    """An owned car is its owner's data: the same door as the owner."""
    vehicle, owner = _vehicle_owner(session, vin)
    _open(session, principal, owner, purpose, f"vehicle {vehicle.vin}", VEHICLES)
    return vehicle


@router.get("/vehicles/{vin}/service-history", response_model=list[ServiceRecordOut])
def vehicle_service_history(vin: str, principal: Staff, session: DbSession, purpose: str | None = None):
    vehicle, owner = _vehicle_owner(session, vin)
    _open(session, principal, owner, purpose, f"service history {vehicle.vin}", SERVICE_HISTORY)
    return vehicles_service.service_history(session=session, vehicle_id=vehicle.id)


@router.get("/vehicles/{vin}/ownership", response_model=list[OwnershipOut])
def vehicle_ownership(vin: str, principal: Staff, session: DbSession, purpose: str | None = None):
    vehicle, owner = _vehicle_owner(session, vin)
    _open(session, principal, owner, purpose, f"ownership {vehicle.vin}", VEHICLES)
    return vehicles_service.ownership_history(session=session, vehicle_id=vehicle.id)


@router.get("/vehicles/{vin}/driving-score", response_model=DrivingScoreOut)
def driving_score(vin: str, principal: Staff, session: DbSession, days: int = Query(default=30, ge=1, le=365)):
    """For usage-based insurance: only with the owner's consent to driving behaviour for insurance."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    return score.score_for_insurer(session=session, principal=principal, vehicle_id=vehicle.id, days=days)


@router.post("/vehicles", response_model=VehicleOut, status_code=status.HTTP_201_CREATED)
def register_vehicle(body: VehicleIn, principal: DealerStaff, session: DbSession):
    """A dealer takes a new car into stock (it has no owner yet)."""
    return vehicles_service.register(session=session, **body.model_dump(),
                                     selling_dealer_id=principal.organization_id)


@router.post("/vehicles/{vin}/sale", response_model=OwnershipOut, status_code=status.HTTP_201_CREATED)
def sell_vehicle(vin: str, body: SaleIn, principal: DealerStaff, session: DbSession):
    """Sell a car from this dealer's own stock, now, to a buyer who allowed the dealer sales contact.
    Any other car (owned, or another dealer's) does not exist here: its owner sells it from the portal.
    A car sold new comes with its included On Call."""
    vehicle = vehicles_service.get_by_vin(session=session, vin=vin)
    if not vehicles_service.in_stock_of(session=session, vehicle=vehicle, dealer_id=principal.organization_id):
        raise NotFound("Vehicle not found")
    _open(session, principal, body.customer_id, "sales_contact", f"sale of {vehicle.vin}")
    return handover.record_sale(session=session, principal=principal, vehicle_id=vehicle.id,
                                customer_id=body.customer_id)
