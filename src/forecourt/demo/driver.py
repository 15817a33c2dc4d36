"""driver@example.com: the customer every demo starts with.

She owns a car bought from the first dealer, sold her previous one to a neighbour (so the
ownership story has two sides), lets that dealer contact her and remind her of service, lets the
carmaker see her car's position and health, and has set up her seat, radio and favourite places.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from forecourt.core.auth import Role
from forecourt.demo import population
from forecourt.demo.population import DealerRef, Person, World

EMAIL = "driver@example.com"


def _trim(world: World, code_prefix: str, propulsion: str):
    return next(t for t in world.trims if t.model_code == code_prefix and t.propulsion == propulsion)


def _clamp_year(trim, year: int) -> int:
    return max(trim.year_from, min(year, trim.year_to or year))


def build_driver(world: World, *, dealer: DealerRef, neighbours: list[Person]) -> int:
    """Writes the demo driver (rows only; the caller flushes) and returns her customer id."""
    now, rng = world.now, world.rng
    person = Person(id=world.ids.take(population.CUSTOMERS), city=dealer.city, first_name="Lena",
                    last_name="Hoffmann")
    switched = datetime.combine(now.date() - timedelta(days=975), time(10, 30), tzinfo=UTC)

    old_trim = _trim(world, "LUMO", "petrol")
    old_year = _clamp_year(old_trim, now.year - 8)
    old_car = population.new_car(world, person, selling=dealer, service=dealer, bought=datetime.combine(
        date(old_year, 3, 14), time(11, 0), tzinfo=UTC), trim=old_trim, model_year=old_year, colour="Ruby red")
    new_trim = _trim(world, "TERRA", "plug_in_hybrid")
    population.new_car(world, person, selling=dealer, service=dealer, bought=switched, trim=new_trim,
                       model_year=_clamp_year(new_trim, switched.year), colour="Fjord blue")
    buyer = next((p for p in neighbours if p.city.name == dealer.city.name), neighbours[0] if neighbours else None)
    if buyer is not None:
        population.resell(old_car, buyer, at=switched + timedelta(days=12, hours=3), dealer=None)
    for car in person.cars:
        population.workshop_history(world, car, most=5, at_least=3)

    street, postcode = "Kastanienallee 12", "10435"
    population.add_customer(world, person, email=EMAIL, phone="+49 151 20304050", street=street,
                            postcode=postcode, birth=date(1986, 4, 17), language="en", prefs=dict(
        radio_presets=["radioeins 95.8", "Deutschlandfunk 97.7", "Fritz 102.6", "Jazzradio 106.8"],
        navigation_favourites=[
            dict(label="Home", address=f"{street}, {postcode} Berlin", latitude=52.5385, longitude=13.4105),
            dict(label="Work", address="Potsdamer Platz 1, 10785 Berlin", latitude=52.5096, longitude=13.3759),
            dict(label="My dealer", address=dealer.name, latitude=dealer.latitude, longitude=dealer.longitude),
            dict(label="Parents", address="Am Markt 3, 14467 Potsdam", latitude=52.3989, longitude=13.0657),
        ],
        seat_position=dict(height=6, distance=9, recline=4, lumbar=3),
        preferred_contact="app"))
    for car in person.cars:
        population.write_car(world, car)

    book = world.consents
    service = book.give(customer_id=person.id, organization_id=dealer.id, purpose="service_reminders",
                        at=switched + timedelta(minutes=40), method="in-dealership")
    sales = book.give(customer_id=person.id, organization_id=dealer.id, purpose="sales_contact",
                      at=now - timedelta(days=40, hours=2), method="web-portal")
    # The car's app asked on delivery day; she said yes, so the simulated fleet shows her car on the map
    # and its health reaches the carmaker.
    for purpose in ("location_services", "vehicle_health_sharing"):
        book.give(customer_id=person.id, organization_id=world.carmaker_id, purpose=purpose,
                  at=switched + timedelta(hours=2), method="api")
    for grant, user_id, role, whats in (
            (service, dealer.service_user_id, Role.DEALER_SERVICE, ("customer 360", "service history")),
            (sales, dealer.sales_user_id, Role.DEALER_SALES, ("customer list", "customer 360"))):
        if grant is not None:
            book.reads_after(grant, user_id=user_id, role=role.value, whats=whats, most=3)
    # One guaranteed recent look, so the portal's "who looked" never starts empty.
    book.looked(customer_id=person.id, organization_id=dealer.id, user_id=dealer.service_user_id,
                role=Role.DEALER_SERVICE.value, purpose="service_reminders", what="customer 360",
                at=now - timedelta(days=2, hours=rng.randint(1, 5)))
    return person.id
