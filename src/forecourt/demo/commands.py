"""The demo drivers' cars take remote commands: a connected unit each, and a few weeks of locking.

So the phone's remote lock has something to show from the first minute: unlocks and locks the car
acknowledged, one the car refused (a door was open), and one it never answered (parked in an
underground car park), reported as timed out, never as done. The car's twin says it is locked now.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.customers.models import Customer
from forecourt.demo.driving import DEMO_DRIVERS
from forecourt.telematics import devices
from forecourt.telematics.models import Device, TwinSignal, VehicleCommand
from forecourt.telematics.readings import Source
from forecourt.telematics.simulator.fleet import LABEL
from forecourt.telematics.simulator.locks import LOCKED_PATH
from forecourt.vehicles.models import Ownership, Vehicle

# (days ago, action, what became of it, the car's words)
HISTORY = [(12, "unlock", "acknowledged", None), (12, "lock", "acknowledged", None),
           (6, "lock", "refused", "door open: Row1.PassengerSide"), (6, "lock", "acknowledged", None),
           (3, "unlock", "timed_out", None), (3, "unlock", "acknowledged", None),
           (1, "lock", "acknowledged", None)]


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    cars = session.execute(select(Vehicle.id, Vehicle.vin).join(Ownership, Ownership.vehicle_id == Vehicle.id)
                           .join(Customer, Customer.id == Ownership.customer_id)
                           .where(Customer.email.in_(DEMO_DRIVERS), Ownership.ended_at.is_(None))).all()
    written = 0
    for vehicle_id, vin in cars:
        unit = session.scalars(select(Device).where(Device.kind == Source.EMBEDDED.value,
                                                    Device.identifier == vin)).first()
        if unit is None:  # the simulator's label: `forecourt simulate` may drive it and re-key it
            devices.register(session=session, kind=Source.EMBEDDED, identifier=vin, vehicle_id=vehicle_id,
                             label=LABEL)
        for days, action, status, answer in HISTORY:
            issued = now - timedelta(days=days, hours=rng.randint(1, 9), minutes=rng.randint(0, 59))
            answered = issued + timedelta(seconds=rng.uniform(0.8, 3.5))
            session.add(VehicleCommand(
                vehicle_id=vehicle_id, vin=vin, action=action, reason="owner:app", transport="mqtt",
                device_identifier=vin, status=status, issued_at=issued, expires_at=issued + timedelta(seconds=30),
                sent_at=issued + timedelta(milliseconds=rng.randint(40, 300)),
                answered_at=None if status == "timed_out" else answered, answer=answer))
            written += 1
        session.merge(TwinSignal(vehicle_id=vehicle_id, path=LOCKED_PATH, value=True,
                                 measured_at=now - timedelta(hours=20)))
    session.flush()
    return {"vehicle_commands": written}
