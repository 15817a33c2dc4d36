"""A small catalogue and fleet for recall tests: two models, three trims, cars with known VINs and dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from forecourt.core.auth import Principal, Role
from forecourt.core.clock import now
from forecourt.vehicles import service as vehicles_service
from tests.factories import Factory, admin_login


def principal_of(login, role: Role) -> Principal:
    return Principal(user_id=login.user_id, role=role, display_name="Test", organization_id=login.organization_id,
                     customer_id=login.customer_id)


@dataclass
class Scene:
    make: Factory
    models: dict = field(default_factory=dict)
    trims: dict = field(default_factory=dict)
    cars: dict = field(default_factory=dict)
    owners: dict = field(default_factory=dict)
    prefix: str = ""

    def vin(self, serial: int) -> str:
        return vehicles_service.with_check_digit(f"WFC{self.prefix}0RB{serial:06d}")

    def car(self, name: str, trim: str, serial: int, produced: date, owner=True):
        vehicle = vehicles_service.register(session=self.make.session, vin=self.vin(serial),
                                            trim_id=self.trims[trim].id, model_year=2024, production_date=produced)
        if owner:
            customer = self.make.customer()
            vehicles_service.transfer(session=self.make.session, vehicle_id=vehicle.id, customer_id=customer.id,
                                      at=now() - timedelta(days=300))
            self.owners[name] = customer
        self.cars[name] = vehicle
        return vehicle


def build(make: Factory) -> Scene:
    """Model A (trims A1, A2) and model B (trim B1); six cars with serials 100..600 and spread production."""
    session = make.session
    i = make.n()
    scene = Scene(make=make, prefix=f"{i % 100000:05d}")
    for key, body in (("A", "hatchback"), ("B", "suv")):
        scene.models[key] = vehicles_service.create_model(session=session, code=f"RM{key}{i}", name=f"Recallia {key}{i}",
                                                          body=body, year_from=2020)
    for key, model in (("A1", "A"), ("A2", "A"), ("B1", "B")):
        scene.trims[key] = vehicles_service.create_trim(session=session, model_id=scene.models[model].id,
                                                        code=f"RT{key}{i}", name=f"Trim {key}", propulsion="petrol",
                                                        year_from=2020, base_price=30000)
    scene.car("a1_early", "A1", 100, date(2023, 1, 10))
    scene.car("a1_mid", "A1", 200, date(2023, 6, 15))
    scene.car("a2_mid", "A2", 300, date(2023, 6, 20))
    scene.car("a2_late", "A2", 400, date(2024, 2, 1))
    scene.car("b1_mid", "B1", 500, date(2023, 6, 18))
    scene.car("b1_stock", "B1", 600, date(2023, 7, 1), owner=False)
    session.flush()
    scene.admin = admin_login(make)
    scene.admin_principal = principal_of(scene.admin, Role.CARMAKER_ADMIN)
    return scene


def campaign_json(scene: Scene, code: str, **scope) -> dict:
    return {"code": code, "title": "Brake hose may chafe", "severity": "high", "labour_minutes": 45,
            "description": "The front brake hose can rub against the wheel arch and leak brake fluid.",
            "remedy": "The workshop fits a new brake hose and a guide clip.",
            "scopes": [scope or {"model_code": scene.models["A"].code}]}


def booked_in(scene: Scene, name: str, dealer_id: int, *, hours_from_now: float = -1, status: str = "checked_in"):
    """The owner's booking of one scene car at a dealer: the relationship that lets the dealer work on it."""
    from forecourt.workshop.models import Appointment

    start = now().replace(microsecond=0) + timedelta(hours=hours_from_now)
    visit = Appointment(dealer_id=dealer_id, vehicle_id=scene.cars[name].id, customer_id=scene.owners[name].id,
                        bay=1, starts_at=start, ends_at=start + timedelta(hours=1), job="recall", source="owner",
                        status=status)
    scene.make.session.add(visit)
    scene.make.session.commit()
    return visit
