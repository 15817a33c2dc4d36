"""Work orders and the car's service book, shared across the dealer network.

A dealer records what it did to a car: date, odometer, operations, parts, fault codes cleared and who
pays (warranty or customer). Impossible readings (negative, beyond 2,000,000 km, dated in the future
or before the car was built) are refused with a sentence saying why. A reading that is possible but
lower than what the car showed before is stored and flagged "rollback" — it is evidence of a
tampered or replaced odometer, so it must never be hidden or silently corrected.

Only a work order opened against a booked appointment at the recording dealer (the owner's own
request; ``workshop.visits`` checks it) is the car's recorded mileage and a reference for warranty
work. Any dealer may write a work order about any car, so one with nothing behind it is kept and
shown, but its odometer neither sets the car's mileage nor marks later readings as rollbacks, and
it opens nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent.service import Reference
from forecourt.core import dates
from forecourt.core.auth import Principal
from forecourt.core.clock import now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.parties import markets
from forecourt.parties import service as parties_service
from forecourt.vehicles.models import Ownership, ServiceRecord, Vehicle

MAX_ODOMETER_KM = 2_000_000
KINDS = ("inspection", "oil_service", "tyres", "repair", "recall", "warranty")
ROLLBACK = "rollback"
WARRANTY_WORK = "warranty_work"
# Telemetry says where the odometer is now, so it judges only work done in the last few days.
TELEMETRY_WINDOW = timedelta(days=3)
_DTC = re.compile(r"^[PCBU][0-9A-F]{4}$")


def _km(value: int) -> str:
    return f"{value:,} km"


def _day(value: date) -> str:
    return dates.format_date(value, "long")


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def check_odometer(*, vehicle: Vehicle, performed_on: date, odometer_km: int, today: date) -> None:
    """Refuse readings and dates that cannot be true, with a message the advisor can act on."""
    if odometer_km < 0:
        raise Invalid(_("The odometer cannot show a negative distance (%(odometer_km)s km); please check the reading.", odometer_km=f"{odometer_km:,}"), field="odometer_km")
    if odometer_km > MAX_ODOMETER_KM:
        raise Invalid(_("%(km)s is not a plausible odometer reading (the limit is %(km2)s); please check the digits.", km=_km(odometer_km), km2=_km(MAX_ODOMETER_KM)), field="odometer_km")
    if performed_on > today:
        raise Invalid(_("The work cannot be dated in the future: %(day)s is after today (%(day2)s).", day=_day(performed_on), day2=_day(today)), field="performed_on")
    built = vehicle.production_date or date(vehicle.model_year - 1, 1, 1)
    if performed_on < built:
        what = "was built" if vehicle.production_date else f"of model year {vehicle.model_year} could have been built"
        raise Invalid(_("The work is dated %(day)s, before this car %(what)s (%(day2)s).", day=_day(performed_on), what=what, day2=_day(built)),
                      field="performed_on")


def _clean_lines(operations: list[dict], parts: list[dict], dtcs_cleared: list[str]) -> tuple[list, list, list]:
    clean_ops = []
    for op in operations or []:
        description = str(op.get("description") or "").strip()
        hours = float(op.get("hours") or 0)
        if not description:
            raise Invalid(_("Every operation needs a description of the work done."), field="operations")
        if not 0 <= hours <= 100:
            raise Invalid(_("'%(description)s': labour hours must be between 0 and 100.", description=description), field="operations")
        clean_ops.append({"code": (op.get("code") or None), "description": description, "hours": hours})
    clean_parts = []
    for part in parts or []:
        number, name = str(part.get("number") or "").strip(), str(part.get("name") or "").strip()
        quantity, unit_price = part.get("quantity") or 0, float(part.get("unit_price") or 0)
        if not number or not name:
            raise Invalid(_("Every part needs its part number and name."), field="parts")
        if quantity <= 0 or unit_price < 0:
            raise Invalid(_("Part %(number)s: the quantity must be above 0 and the price not negative.", number=number), field="parts")
        clean_parts.append({"number": number, "name": name, "quantity": quantity, "unit_price": unit_price})
    codes = []
    for code in dtcs_cleared or []:
        code = str(code).strip().upper()
        if not _DTC.match(code):
            raise Invalid(_("'%(code)s' is not a fault code (expected a letter P, C, B or U and four hex digits, like P0301).", code=code), field="dtcs_cleared")
        codes.append(code)
    return clean_ops, clean_parts, codes


def _plausibility(session: Session, vehicle: Vehicle, performed_on: date, odometer_km: int,
                  odometer_from_car: int | None, today: date) -> str | None:
    """Why this reading looks like a rollback, or None: earlier records, later records, the car itself."""
    earlier = session.execute(select(ServiceRecord.odometer_km, ServiceRecord.performed_on, ServiceRecord.dealer_id)
                              .where(ServiceRecord.vehicle_id == vehicle.id, _counted(),
                                     ServiceRecord.performed_on <= performed_on)
                              .order_by(ServiceRecord.odometer_km.desc()).limit(1)).first()
    if earlier is not None and odometer_km < earlier.odometer_km:
        return (f"below {_km(earlier.odometer_km)} recorded on {_day(earlier.performed_on)}"
                f"{_by(session, earlier.dealer_id)}")
    later = session.execute(select(ServiceRecord.odometer_km, ServiceRecord.performed_on, ServiceRecord.dealer_id)
                            .where(ServiceRecord.vehicle_id == vehicle.id, _counted(),
                                   ServiceRecord.performed_on > performed_on)
                            .order_by(ServiceRecord.odometer_km).limit(1)).first()
    if later is not None and odometer_km > later.odometer_km:
        return (f"above {_km(later.odometer_km)} recorded later, on {_day(later.performed_on)}"
                f"{_by(session, later.dealer_id)}")
    if odometer_from_car is not None and performed_on >= today - TELEMETRY_WINDOW and odometer_km < odometer_from_car:
        return f"below the car's own odometer reading of {_km(odometer_from_car)}"
    return None


def _counted():
    """Records whose odometer is the car's recorded mileage (what readings are compared against)."""
    return ServiceRecord.counts_for_mileage.is_(True)


def _by(session: Session, dealer_id: int | None) -> str:
    if dealer_id is None:
        return ""
    return f" by {parties_service.get_organization(session=session, organization_id=dealer_id).name}"


def record_work_order(*, session: Session, principal: Principal, vehicle_id: int, performed_on: date,
                      odometer_km: int, operations: list[dict] | None = None, parts: list[dict] | None = None,
                      dtcs_cleared: list[str] | None = None, warranty_amount=0, customer_amount=0,
                      kind: str = "repair", summary: str = "", odometer_from_car: int | None = None,
                      today: date | None = None, appointment_id: int | None = None) -> ServiceRecord:
    """A dealer's work order on a car in its workshop, written to the car's service book.

    ``appointment_id`` is the booked appointment it was opened against, already checked by
    ``workshop.visits`` (this dealer's, this car's, begun); without one the odometer is not the
    car's recorded mileage and the car's own reading (``odometer_from_car``) is not consulted."""
    if principal.organization_id is None:
        raise NotFound("Vehicle not found")
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None:
        raise NotFound("Vehicle not found")
    today = today or now().date()
    check_odometer(vehicle=vehicle, performed_on=performed_on, odometer_km=odometer_km, today=today)
    if kind not in KINDS:
        raise Invalid(_("Unknown kind of work '%(kind)s'; choose one of %(values)s.", kind=kind, values=', '.join(KINDS)), field="kind")
    summary = (summary or "").strip()
    if not summary:
        raise Invalid(_("Say in a sentence what was done (the summary)."), field="summary")
    warranty, customer = _money(warranty_amount), _money(customer_amount)
    if warranty < 0 or customer < 0:
        raise Invalid(_("Amounts cannot be negative."), field="warranty_amount" if warranty < 0 else "customer_amount")
    ops, fitted, codes = _clean_lines(operations or [], parts or [], dtcs_cleared or [])
    if appointment_id is None:
        odometer_from_car = None  # the car's own data is read only for work the owner asked for
    note = _plausibility(session, vehicle, performed_on, odometer_km, odometer_from_car, today)
    owner = session.scalars(select(Ownership.customer_id).where(
        Ownership.vehicle_id == vehicle.id,
        Ownership.started_at <= datetime.combine(performed_on, time.max, tzinfo=UTC),
    ).order_by(Ownership.started_at.desc())).first()
    dealer = parties_service.organization_or_none(session=session, organization_id=principal.organization_id)
    record = ServiceRecord(vehicle_id=vehicle.id, dealer_id=principal.organization_id, customer_id=owner,
                           currency=markets.reference(dealer.market if dealer else None)["currency"],
                           performed_on=performed_on, odometer_km=odometer_km, kind=kind, summary=summary,
                           operations=ops, parts=fitted, dtcs_cleared=codes, warranty_amount=warranty,
                           customer_amount=customer, total_cost=warranty + customer,
                           odometer_flag=ROLLBACK if note else None, odometer_note=note,
                           appointment_id=appointment_id, counts_for_mileage=appointment_id is not None)
    session.add(record)
    session.flush()
    record.work_order_number = f"WO-{performed_on:%y%m}-{record.id:06d}"
    session.flush()
    return record


# --- the service book --------------------------------------------------------------------------------

def service_book(*, session: Session, vehicle_id: int, dealer_id: int | None = None,
                 until: date | None = None) -> list[dict]:
    """The car's history, newest first, with the dealer's name; ``dealer_id`` keeps one dealer's own work."""
    query = select(ServiceRecord).where(ServiceRecord.vehicle_id == vehicle_id)
    if dealer_id is not None:
        query = query.where(ServiceRecord.dealer_id == dealer_id)
    if until is not None:
        query = query.where(ServiceRecord.performed_on <= until)
    records = list(session.scalars(query.order_by(ServiceRecord.performed_on.desc(), ServiceRecord.id.desc())))
    names: dict[int, str] = {}
    for dealer in {r.dealer_id for r in records if r.dealer_id is not None}:
        names[dealer] = parties_service.get_organization(session=session, organization_id=dealer).name
    return [entry(record, names.get(record.dealer_id)) for record in records]


def entry(record: ServiceRecord, dealer_name: str | None) -> dict:
    operations = [op if isinstance(op, dict) else {"code": None, "description": str(op), "hours": 0}
                  for op in record.operations or []]
    return dict(id=record.id, work_order_number=record.work_order_number, vehicle_id=record.vehicle_id,
                dealer_id=record.dealer_id, dealer_name=dealer_name, performed_on=record.performed_on,
                odometer_km=record.odometer_km, kind=record.kind, summary=record.summary, operations=operations,
                parts=list(record.parts or []), dtcs_cleared=list(record.dtcs_cleared or []),
                warranty_amount=float(record.warranty_amount or 0), customer_amount=float(record.customer_amount or 0),
                total_cost=float(record.total_cost or 0), currency=record.currency or "EUR",
                odometer_flag=record.odometer_flag,
                odometer_note=record.odometer_note, appointment_id=record.appointment_id,
                counts_for_mileage=bool(record.counts_for_mileage))


def latest_odometer(*, session: Session, vehicle_id: int) -> tuple[int, date] | None:
    """The highest reading in the book and its date: the odometer when the car does not report one."""
    row = session.execute(select(ServiceRecord.odometer_km, ServiceRecord.performed_on)
                          .where(ServiceRecord.vehicle_id == vehicle_id, _counted())
                          .order_by(ServiceRecord.performed_on.desc(), ServiceRecord.odometer_km.desc())
                          .limit(1)).first()
    return (row.odometer_km, row.performed_on) if row else None


def work_order_of(*, session: Session, vehicle_id: int, dealer_id: int, number: str) -> ServiceRecord | None:
    """A dealer's own work order on this car."""
    return session.scalars(select(ServiceRecord).where(
        ServiceRecord.vehicle_id == vehicle_id, ServiceRecord.dealer_id == dealer_id,
        ServiceRecord.work_order_number == (number or "").strip().upper())).first()


def reference_for(*, session: Session, principal: Principal, vehicle_id: int, number: str) -> Reference | None:
    """The caller's own work order on this car as the reference for reading it under warranty work,
    or None: it must have been opened against a booked appointment (a work order a dealer wrote
    without one justifies nothing), during the present owner's ownership."""
    if principal.organization_id is None:
        return None
    record = work_order_of(session=session, vehicle_id=vehicle_id, dealer_id=principal.organization_id,
                           number=number)
    if record is None or record.appointment_id is None:
        return None
    owner = session.scalars(select(Ownership.customer_id).where(Ownership.vehicle_id == vehicle_id,
                                                                Ownership.ended_at.is_(None))).first()
    if owner is None or record.customer_id != owner:
        return None  # work booked by a previous owner justifies nothing about the present one
    return Reference(purpose=WARRANTY_WORK, customer_id=owner, organization_id=principal.organization_id,
                     label=record.work_order_number)
