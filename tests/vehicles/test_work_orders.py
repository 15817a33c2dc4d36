"""Work orders: refusals in words, the rollback flag (against the book and the car), the cost split, the book."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from forecourt.core.auth import Principal, Role
from forecourt.core.errors import Invalid, NotFound
from forecourt.vehicles import work_orders

TODAY = date(2025, 6, 2)


def _advisor(dealer) -> Principal:
    return Principal(user_id=1, role=Role.DEALER_SERVICE, display_name="Advisor", organization_id=dealer.id)


def _car(make):
    owner = make.customer()
    return make.vehicle(owner=owner, since=datetime(2024, 1, 10, tzinfo=UTC), production_date=date(2023, 11, 20)), owner


def _appointment(session, dealer, vehicle) -> int:
    """A finished visit the owner booked (``workshop.visits`` checks real ones before a work order names it)."""
    from forecourt.vehicles import service as vehicles_service
    from forecourt.workshop.models import Appointment

    start = datetime(2025, 1, 2, 8, tzinfo=UTC)
    visit = Appointment(dealer_id=dealer.id, vehicle_id=vehicle.id, bay=1, starts_at=start, ends_at=start,
                        customer_id=vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id),
                        job="diagnosis", source="owner", status="done")
    session.add(visit)
    session.flush()
    return visit.id


def _record(session, dealer, vehicle, *, booked: bool = True, **values):
    fields = dict(performed_on=date(2025, 5, 1), odometer_km=20_000, kind="repair", summary="Brake pads replaced",
                  today=TODAY, appointment_id=_appointment(session, dealer, vehicle) if booked else None)
    return work_orders.record_work_order(session=session, principal=_advisor(dealer), vehicle_id=vehicle.id,
                                         **(fields | values))


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"odometer_km": -5}, "odometer_km", "cannot show a negative distance (-5 km)"),
    ({"odometer_km": 2_000_001}, "odometer_km", "2,000,001 km is not a plausible odometer reading"),
    ({"performed_on": date(2025, 6, 3)}, "performed_on", "cannot be dated in the future: 3 June 2025 is after today"),
    ({"performed_on": date(2023, 11, 19)}, "performed_on", "before this car was built (20 November 2023)"),
    ({"kind": "magic"}, "kind", "Unknown kind of work 'magic'"),
    ({"summary": "  "}, "summary", "Say in a sentence what was done"),
    ({"warranty_amount": -1}, "warranty_amount", "Amounts cannot be negative"),
    ({"dtcs_cleared": ["X9999"]}, "dtcs_cleared", "'X9999' is not a fault code"),
    ({"operations": [{"description": "", "hours": 1}]}, "operations", "needs a description"),
    ({"parts": [{"number": "BP-1", "name": "Pads", "quantity": 0, "unit_price": 5}]}, "parts",
     "Part BP-1: the quantity must be above 0"),
])
def test_impossible_work_orders_are_refused_in_words(session, make, values, field, message):
    vehicle, _ = _car(make)
    with pytest.raises(Invalid) as refused:
        _record(session, make.dealer(), vehicle, **values)
    assert message in refused.value.message and refused.value.field == field
    assert work_orders.service_book(session=session, vehicle_id=vehicle.id) == []


def test_a_car_without_production_date_is_judged_by_its_model_year(session, make):
    vehicle = make.vehicle(model_year=2024)
    with pytest.raises(Invalid, match="before this car of model year 2024 could have been built"):
        _record(session, make.dealer(), vehicle, performed_on=date(2022, 12, 31))
    assert _record(session, make.dealer(), vehicle, performed_on=date(2023, 1, 1)).odometer_flag is None


def test_work_order_numbers_parts_codes_and_the_cost_split(session, make):
    vehicle, owner = _car(make)
    dealer = make.dealer(name="Autohaus Nord")
    record = _record(session, dealer, vehicle, kind="warranty",
                     operations=[{"code": "BR-01", "description": "Replace front brake pads", "hours": 1.2}],
                     parts=[{"number": "BP-100", "name": "Brake pad set", "quantity": 1, "unit_price": 89.9}],
                     dtcs_cleared=["c0035", "P0301"], warranty_amount=150.25, customer_amount="49.75")
    assert record.work_order_number == f"WO-2505-{record.id:06d}"
    assert float(record.warranty_amount) == 150.25 and float(record.customer_amount) == 49.75
    assert float(record.total_cost) == 200.00
    assert record.dtcs_cleared == ["C0035", "P0301"] and record.customer_id == owner.id
    assert record.parts == [{"number": "BP-100", "name": "Brake pad set", "quantity": 1, "unit_price": 89.9}]
    entry = work_orders.service_book(session=session, vehicle_id=vehicle.id)[0]
    assert entry["dealer_name"] == "Autohaus Nord" and entry["operations"][0]["code"] == "BR-01"
    assert work_orders.work_order_of(session=session, vehicle_id=vehicle.id, dealer_id=dealer.id,
                                     number=record.work_order_number.lower()).id == record.id
    assert work_orders.work_order_of(session=session, vehicle_id=vehicle.id, dealer_id=make.dealer().id,
                                     number=record.work_order_number) is None


def test_a_reading_below_an_earlier_record_is_kept_and_flagged(session, make):
    vehicle, _ = _car(make)
    first, second = make.dealer(name="Autohaus Süd"), make.dealer()
    _record(session, first, vehicle, performed_on=date(2025, 3, 1), odometer_km=30_000)
    rolled = _record(session, second, vehicle, performed_on=date(2025, 5, 1), odometer_km=12_000)
    assert rolled.odometer_flag == "rollback"
    assert rolled.odometer_note == "below 30,000 km recorded on 1 March 2025 by Autohaus Süd"
    # an honest reading later is not flagged, and the flagged one stays in the book as evidence
    assert _record(session, second, vehicle, performed_on=date(2025, 6, 1), odometer_km=31_000).odometer_flag is None
    flags = [e["odometer_flag"] for e in work_orders.service_book(session=session, vehicle_id=vehicle.id)]
    assert flags == [None, "rollback", None]


def test_a_back_dated_reading_above_a_later_one_is_flagged(session, make):
    vehicle, _ = _car(make)
    dealer = make.dealer()
    _record(session, dealer, vehicle, performed_on=date(2025, 5, 1), odometer_km=20_000)
    late_entry = _record(session, dealer, vehicle, performed_on=date(2025, 2, 1), odometer_km=25_000)
    assert late_entry.odometer_flag == "rollback" and late_entry.odometer_note.startswith(
        "above 20,000 km recorded later, on 1 May 2025")


def test_a_reading_below_the_cars_own_odometer_is_flagged(session, make):
    vehicle, _ = _car(make)
    dealer = make.dealer()
    flagged = _record(session, dealer, vehicle, performed_on=TODAY, odometer_km=18_000, odometer_from_car=25_300)
    assert flagged.odometer_flag == "rollback"
    assert flagged.odometer_note == "below the car's own odometer reading of 25,300 km"
    # the car's reading says where the odometer is now: old work is not judged by it
    old = _record(session, dealer, vehicle, performed_on=date(2024, 6, 1), odometer_km=5_000, odometer_from_car=25_300)
    assert old.odometer_flag is None
    assert _record(session, dealer, vehicle, performed_on=TODAY, odometer_km=25_300,
                   odometer_from_car=25_300).odometer_flag is None


def test_the_book_filters_and_the_latest_reading(session, make):
    vehicle, _ = _car(make)
    a, b = make.dealer(), make.dealer()
    _record(session, a, vehicle, performed_on=date(2025, 1, 5), odometer_km=10_000)
    _record(session, b, vehicle, performed_on=date(2025, 4, 5), odometer_km=15_000)
    assert len(work_orders.service_book(session=session, vehicle_id=vehicle.id)) == 2
    assert [e["dealer_id"] for e in work_orders.service_book(session=session, vehicle_id=vehicle.id,
                                                             dealer_id=a.id)] == [a.id]
    assert len(work_orders.service_book(session=session, vehicle_id=vehicle.id, until=date(2025, 2, 1))) == 1
    assert work_orders.latest_odometer(session=session, vehicle_id=vehicle.id) == (15_000, date(2025, 4, 5))
    with pytest.raises(NotFound):
        work_orders.record_work_order(session=session, principal=_advisor(a), vehicle_id=999_999,
                                      performed_on=TODAY, odometer_km=1, summary="x", today=TODAY)


def test_a_work_order_without_a_booking_sets_no_mileage_and_opens_nothing(session, make):
    """Attack: any dealer writes a work order on any car; its odometer became the car's recorded
    mileage and the work order a reference for reading the car under warranty work."""
    vehicle, owner = _car(make)
    honest, stranger = make.dealer(), make.dealer()
    booked = _record(session, honest, vehicle, performed_on=date(2025, 3, 1), odometer_km=20_000)
    forged = _record(session, stranger, vehicle, booked=False, performed_on=date(2025, 4, 1), odometer_km=180_000,
                     odometer_from_car=1)
    assert (forged.counts_for_mileage, forged.appointment_id) == (False, None)
    assert forged.odometer_flag is None  # the car's own reading was not consulted for it
    assert booked.counts_for_mileage is True
    # the car's recorded mileage is still the booked visit's, and honest readings are not judged by the forgery
    assert work_orders.latest_odometer(session=session, vehicle_id=vehicle.id) == (20_000, date(2025, 3, 1))
    assert _record(session, honest, vehicle, performed_on=date(2025, 5, 1), odometer_km=24_000).odometer_flag is None
    entries = {e["id"]: e for e in work_orders.service_book(session=session, vehicle_id=vehicle.id)}
    assert entries[forged.id]["counts_for_mileage"] is False  # kept and shown, but marked
    # only a booked work order is a reference, and only for its own dealer
    assert work_orders.reference_for(session=session, principal=_advisor(stranger), vehicle_id=vehicle.id,
                                     number=forged.work_order_number) is None
    assert work_orders.reference_for(session=session, principal=_advisor(stranger), vehicle_id=vehicle.id,
                                     number=booked.work_order_number) is None
    reference = work_orders.reference_for(session=session, principal=_advisor(honest), vehicle_id=vehicle.id,
                                          number=booked.work_order_number)
    assert (reference.purpose, reference.customer_id, reference.organization_id, reference.label) == (
        "warranty_work", owner.id, honest.id, booked.work_order_number)


def test_work_booked_by_a_previous_owner_is_no_reference_for_the_next(session, make):
    from forecourt.core.clock import now
    from forecourt.vehicles import service as vehicles_service

    vehicle, _ = _car(make)
    dealer = make.dealer()
    booked = _record(session, dealer, vehicle, performed_on=date(2025, 3, 1), odometer_km=20_000)
    assert work_orders.reference_for(session=session, principal=_advisor(dealer), vehicle_id=vehicle.id,
                                     number=booked.work_order_number) is not None
    vehicles_service.transfer(session=session, vehicle_id=vehicle.id, customer_id=make.customer().id, at=now())
    assert work_orders.reference_for(session=session, principal=_advisor(dealer), vehicle_id=vehicle.id,
                                     number=booked.work_order_number) is None
