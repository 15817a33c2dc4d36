"""A hub at a dealer with shared cars, a driver ready to drive, and the car's telemetry set by hand."""

from __future__ import annotations

from datetime import date, timedelta

from forecourt.core.clock import now
from forecourt.payments.providers import Gateway
from forecourt.sharing import hubs, profiles
from forecourt.telematics.models import TwinSignal

GATEWAY = Gateway()


def hub_with_cars(make, cars: int = 2, **values):
    dealer = make.dealer()
    hub = hubs.create_hub(session=make.session, dealer_id=dealer.id, **values)
    fleet = [hubs.add_car(session=make.session, hub_id=hub.id, vehicle_id=make.vehicle(selling_dealer_id=dealer.id).id)
             for _ in range(cars)]
    make.session.flush()
    return dealer, hub, fleet


def ready_driver(make, hub=None):
    customer = make.customer()
    profiles.accept_terms(session=make.session, customer_id=customer.id)
    staff = make.staff(make.dealer()) if hub is None else None
    profiles.check_licence(session=make.session, customer_id=customer.id,
                           checked_by_user_id=staff.user_id if staff else 1, number="B072RRE2I55",
                           expires_on=date.today() + timedelta(days=900), note="seen at the desk")
    return customer


def report(session, vehicle_id: int, **signals) -> None:
    """What the car's own unit would have reported a moment ago."""
    names = {"odometer": "Vehicle.TraveledDistance", "charge": "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current",
             "lat": "Vehicle.CurrentLocation.Latitude", "lon": "Vehicle.CurrentLocation.Longitude",
             "moving": "Vehicle.IsMoving"}
    for name, value in signals.items():
        session.merge(TwinSignal(vehicle_id=vehicle_id, path=names[name], value=value, measured_at=now()))
    session.flush()
