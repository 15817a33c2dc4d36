"""Demo data: warranty terms per model, extended warranties on sale and sold, work orders for old visits.

Every old workshop visit was booked: each becomes a finished appointment at its workshop and a work
order opened against it, as the application requires of work that is the car's recorded mileage.
Bulk inserts and set-based updates, so the step stays well under a second on the full demo network.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from random import Random
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, func, insert, literal, select, update
from sqlalchemy.orm import Session

from forecourt.parties.models import Organization
from forecourt.vehicles.models import (Ownership, ServiceRecord, Vehicle, VehicleModel, WarrantyContract,
                                       WarrantyProduct, WarrantyTerms)
from forecourt.vehicles.warranty import add_years
from forecourt.workshop.models import Appointment

WORKSHOP_TIME = ZoneInfo("Europe/Berlin")
# The workshop job each kind of visit was booked as.
JOBS = {"inspection": "inspection", "oil_service": "oil_service", "tyres": "tyres", "repair": "diagnosis",
        "recall": "recall", "warranty": "diagnosis"}

NEW_CAR_YEARS, NEW_CAR_KM = 3, 100_000
COMPONENTS = [
    {"component": "powertrain", "years": 5, "km": 100_000},
    {"component": "battery", "years": 8, "km": 160_000, "propulsion": ["electric", "plug_in_hybrid"]},
    {"component": "corrosion", "years": 12, "km": 1_000_000},
]
PRODUCTS = [
    dict(code="EXTRA-CARE-1", name="Extra Care 1 year", years=1, km=30_000, price=490, components=[]),
    dict(code="EXTRA-CARE-2", name="Extra Care 2 years", years=2, km=50_000, price=890, components=[]),
    dict(code="POWERTRAIN-PLUS-3", name="Powertrain Plus 3 years", years=3, km=60_000, price=690,
         components=["powertrain"]),
]
CONTRACT_SHARE, MOST_CONTRACTS = 0.08, 400


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    """Writes the demo's warranty rows after customers, cars and consents exist; returns row counts by table."""
    models = list(session.scalars(select(VehicleModel.id).order_by(VehicleModel.id)))
    if not models:
        return {}
    session.execute(insert(WarrantyTerms), [dict(model_id=m, market="DE", years=NEW_CAR_YEARS, km=NEW_CAR_KM,
                                                 components=COMPONENTS) for m in models])
    session.execute(insert(WarrantyProduct), [dict(p, is_active=True) for p in PRODUCTS])
    products = {code: (pid, years, km, price) for pid, code, years, km, price in session.execute(
        select(WarrantyProduct.id, WarrantyProduct.code, WarrantyProduct.years, WarrantyProduct.km,
               WarrantyProduct.price))}
    contracts = _contracts(session, rng, now.date(), products)
    booked = _booked_visits(session)
    work_orders = _work_orders(session)
    return {"warranty_terms": len(models), "warranty_products": len(PRODUCTS), "warranty_contracts": contracts,
            "work_orders": work_orders, "booked_visits": booked}


def _contracts(session: Session, rng: Random, today: date, products: dict) -> int:
    """Some owners of cars still under the new-car warranty bought an extension from their workshop."""
    first = (select(Ownership.vehicle_id, func.min(Ownership.started_at).label("started"))
             .group_by(Ownership.vehicle_id).subquery())
    cutoff = today - timedelta(days=365 * NEW_CAR_YEARS - 30)
    rows = session.execute(
        select(Vehicle.id, Vehicle.service_dealer_id, first.c.started, Ownership.customer_id)
        .join(first, first.c.vehicle_id == Vehicle.id)
        .join(Ownership, (Ownership.vehicle_id == Vehicle.id) & Ownership.ended_at.is_(None))
        .where(first.c.started >= datetime.combine(cutoff, time.min, tzinfo=UTC))
        .order_by(Vehicle.id)).all()
    chosen = [row for row in rows if rng.random() < CONTRACT_SHARE][:MOST_CONTRACTS]
    values = []
    for vehicle_id, dealer_id, started, customer_id in chosen:
        product_id, years, km, price = products[rng.choice(list(products))]
        starts_on = add_years(started.date(), NEW_CAR_YEARS)
        values.append(dict(vehicle_id=vehicle_id, product_id=product_id, customer_id=customer_id,
                           sold_by_dealer_id=dealer_id, starts_on=starts_on, ends_on=add_years(starts_on, years),
                           km_limit=NEW_CAR_KM + km, price=price,
                           created_at=min(datetime.combine(today, time.min, tzinfo=UTC), started + timedelta(days=400))))
    if values:
        session.execute(insert(WarrantyContract), values)
    return len(values)


def _booked_visits(session: Session) -> int:
    """A finished appointment behind each old visit of a workshop: the owner of the day booked it, in
    the workshop's bays one hour after another from eight in the morning."""
    bays = dict(session.execute(select(Organization.id, Organization.service_bays)
                                .where(Organization.kind == "dealer")).all())
    visits = session.execute(select(ServiceRecord.id, ServiceRecord.vehicle_id, ServiceRecord.dealer_id,
                                    ServiceRecord.customer_id, ServiceRecord.performed_on, ServiceRecord.kind)
                             .where(ServiceRecord.dealer_id.is_not(None), ServiceRecord.appointment_id.is_(None))
                             .order_by(ServiceRecord.dealer_id, ServiceRecord.performed_on, ServiceRecord.id)).all()
    if not visits:
        return 0
    taken: dict[tuple[int, date], int] = {}
    rows = []
    for _, vehicle_id, dealer_id, customer_id, day, kind in visits:
        slot = taken.get((dealer_id, day), 0)
        taken[(dealer_id, day)] = slot + 1
        per_hour = max(1, bays.get(dealer_id) or 1)
        starts = datetime.combine(day, time(8), tzinfo=WORKSHOP_TIME) + timedelta(hours=slot // per_hour)
        rows.append(dict(dealer_id=dealer_id, vehicle_id=vehicle_id, customer_id=customer_id,
                         bay=slot % per_hour + 1, starts_at=starts.astimezone(UTC),
                         ends_at=(starts + timedelta(hours=1)).astimezone(UTC), job=JOBS.get(kind, "diagnosis"),
                         reason="", source="owner", status="done", dtc_codes=[], recall_campaign_ids=[],
                         notes="", created_at=(starts - timedelta(days=7)).astimezone(UTC)))
    ids = session.scalars(insert(Appointment).returning(Appointment.id, sort_by_parameter_order=True), rows).all()
    session.execute(update(ServiceRecord), [dict(id=visit[0], appointment_id=appointment_id)
                                            for visit, appointment_id in zip(visits, ids, strict=True)])
    return len(ids)


def _work_orders(session: Session) -> int:
    """Earlier workshop visits become work orders: a number each, the customer paid (warranty work aside)."""
    number = literal("WO-", String) + cast(ServiceRecord.id, String)
    paid_by_customer = (update(ServiceRecord)
                        .where(ServiceRecord.work_order_number.is_(None), ServiceRecord.dealer_id.is_not(None),
                               ServiceRecord.kind != "warranty")
                        .values(work_order_number=number, customer_amount=ServiceRecord.total_cost,
                                warranty_amount=0))
    under_warranty = (update(ServiceRecord)
                      .where(ServiceRecord.work_order_number.is_(None), ServiceRecord.dealer_id.is_not(None),
                             ServiceRecord.kind == "warranty")
                      .values(work_order_number=number, warranty_amount=ServiceRecord.total_cost, customer_amount=0))
    return (session.execute(paid_by_customer.execution_options(synchronize_session=False)).rowcount
            + session.execute(under_warranty.execution_options(synchronize_session=False)).rowcount)

