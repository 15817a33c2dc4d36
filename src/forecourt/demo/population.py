"""Customers, their cars, owners over time, workshop visits, consents and reads — in batches.

Every batch is built in memory, then written with a few executemany calls, so 100,000
customers take minutes rather than hours and memory stays flat. The rows carry exactly what the
services would have written (``customers_service.sign_up``, ``vehicles_service.register`` and
``transfer``, ``add_service_record``, ``consent_service.give``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from random import Random

from forecourt.core import names
from forecourt.core.auth import Role
from forecourt.customers.models import Customer, Preferences
from forecourt.demo import fleet, people
from forecourt.demo.bulk import Ids, Rows
from forecourt.demo.consents import ConsentBook
from forecourt.demo.geography import City
from forecourt.parties import markets
from forecourt.parties.models import User
from forecourt.vehicles.models import Ownership, ServiceRecord, Vehicle

CUSTOMERS, USERS, PREFERENCES = Customer.__table__, User.__table__, Preferences.__table__
VEHICLES, OWNERSHIPS, SERVICE_RECORDS = Vehicle.__table__, Ownership.__table__, ServiceRecord.__table__
BATCH = 1_000
RESALE_SHARE = 0.2  # of cars old enough to have been resold; about 15% of all cars end up resold
VISIT_KINDS, VISIT_WEIGHTS = ("inspection", "oil_service", "tyres", "repair"), (35, 25, 25, 15)


@dataclass(frozen=True)
class DealerRef:
    id: int
    name: str
    city: City
    latitude: float
    longitude: float
    sales_user_id: int
    service_user_id: int


@dataclass(frozen=True)
class PartnerRef:
    id: int
    kind: str
    analyst_user_id: int


@dataclass
class Car:
    row: dict
    trim: fleet.TrimRef
    # [customer_id, started_at, ended_at, sold_by_dealer_id]
    owners: list[list] = field(default_factory=list)


@dataclass
class Person:
    id: int
    city: City
    first_name: str
    last_name: str
    cars: list[Car] = field(default_factory=list)
    first_dealers: tuple[int, int] | None = None  # (selling, service) of the first car they bought


@dataclass
class World:
    """Everything already in the database that customers attach to."""

    rng: Random
    now: datetime
    password_hash: str
    carmaker_id: int
    admin_user_id: int
    agent_user_id: int
    dealers: list[DealerRef]
    partners: dict[str, list[PartnerRef]]
    trims: list[fleet.TrimRef]
    towns: list[City]
    nearest: dict[str, list[DealerRef]]
    ids: Ids
    rows: Rows
    consents: ConsentBook
    plates: set[str] = field(default_factory=set)
    # Who lives in this world: names, numbers and habits (``demo.people`` for Germany, ``demo.korea`` for Korea).
    folk: object = people
    currency: str = "EUR"
    money_factor: float = 1.0  # workshop prices written in euros, times this, in ``currency``
    _by_id: dict[int, DealerRef] = field(default_factory=dict)

    def dealer(self, dealer_id: int) -> DealerRef:
        if not self._by_id:
            self._by_id.update((d.id, d) for d in self.dealers)
        return self._by_id[dealer_id]


def _moment(day: date, rng: Random) -> datetime:
    """A time during the working day (as UTC) on the given date."""
    return datetime.combine(day, time(rng.randint(7, 16), rng.randint(0, 59), rng.randint(0, 59)), tzinfo=UTC)


def _random_day(first: date, last: date, rng: Random) -> date:
    return date.fromordinal(rng.randint(first.toordinal(), max(first.toordinal(), last.toordinal())))


# --- the rows ------------------------------------------------------------------------------------

def add_customer(world: World, person: Person, *, email: str, phone: str, street: str, postcode: str,
                 birth: date, language: str, prefs: dict) -> None:
    """The customer, their login and their preferences (``customers_service.sign_up``)."""
    starts = [o[1] for car in person.cars for o in car.owners if o[0] == person.id]
    created = min(starts) - timedelta(days=world.rng.randint(0, 30)) if starts else world.now
    country = person.city.country
    world.consents.languages[person.id] = language
    world.consents.jurisdictions[person.id] = markets.jurisdiction_of(country)
    world.rows.add(CUSTOMERS, dict(id=person.id, first_name=person.first_name, last_name=person.last_name,
                                   email=email, phone=phone, street=street, postcode=postcode,
                                   city=person.city.name, country=country, market=country, time_zone=None,
                                   birth_date=birth, language=language, created_at=created, erased_at=None))
    world.rows.add(USERS, dict(id=world.ids.take(USERS), email=email,
                               display_name=names.display_name(person.first_name, person.last_name,
                                                               language=language),
                               password_hash=world.password_hash, role=Role.CUSTOMER.value, organization_id=None,
                               customer_id=person.id, is_active=True, created_at=created, last_login_at=None))
    world.rows.add(PREFERENCES, dict(customer_id=person.id, updated_at=created, **prefs))


def new_car(world: World, person: Person, *, selling: DealerRef, service: DealerRef, bought: datetime,
            trim: fleet.TrimRef | None = None, model_year: int | None = None, colour: str | None = None) -> Car:
    """A car registered by the selling dealer and handed to its first owner."""
    rng = world.rng
    if trim is None:
        trim, model_year = fleet.pick_trim(world.trims, rng, latest_year=bought.year)
    vehicle_id = world.ids.take(VEHICLES)
    row = dict(id=vehicle_id, vin=fleet.vin(trim, model_year, vehicle_id), trim_id=trim.id, model_year=model_year,
               colour=colour or rng.choices(fleet.COLOURS, fleet.COLOUR_WEIGHTS)[0],
               production_date=bought.date() - timedelta(days=rng.randint(12, 90)),
               registration=person.city.registration(rng, world.plates, trim.propulsion == "electric"),
               selling_dealer_id=selling.id, service_dealer_id=service.id,
               created_at=bought - timedelta(days=rng.randint(3, 10)))
    car = Car(row=row, trim=trim, owners=[[person.id, bought, None, selling.id]])
    person.cars.append(car)
    if person.first_dealers is None:
        person.first_dealers = (selling.id, service.id)
    return car


def resell(car: Car, buyer: Person, *, at: datetime, dealer: DealerRef | None) -> None:
    """``vehicles_service.transfer``: the seller's period ends the moment the buyer's begins."""
    previous = car.owners[-1]
    assert previous[0] != buyer.id and at > previous[1]
    previous[2] = at
    car.owners.append([buyer.id, at, None, dealer.id if dealer else None])
    if dealer is not None:
        car.row["selling_dealer_id"] = dealer.id
        car.row["service_dealer_id"] = car.row["service_dealer_id"] or dealer.id
    buyer.cars.append(car)


def workshop_history(world: World, car: Car, *, most: int = 6, at_least: int = 0) -> None:
    """Visits at the car's workshop, dated inside ownerships, odometer always rising
    (``vehicles_service.add_service_record`` names the owner on the day)."""
    rng = world.rng
    first_day = car.owners[0][1].date()
    last_day = world.now.date() - timedelta(days=1)
    age_years = (last_day - first_day).days / 365.25
    count = max(at_least, rng.randint(0, min(most, 1 + int(age_years * 1.3))))
    handovers = {o[1].date() for o in car.owners[1:]}
    km_per_year = rng.randint(6_000, 28_000)
    odometer = 0
    for day in fleet.visit_dates(first_day, last_day, count, rng, avoid=handovers):
        end_of_day = datetime.combine(day, time.max, tzinfo=UTC)
        owner = max((o for o in car.owners if o[1] <= end_of_day), key=lambda o: o[1])[0]
        kind = rng.choices(VISIT_KINDS, VISIT_WEIGHTS)[0]
        summary, operations, cost = fleet.workshop_visit(kind, car.trim.propulsion, rng)
        reading = int((day - first_day).days / 365.25 * km_per_year * rng.uniform(0.92, 1.08)) + rng.randint(5, 40)
        odometer = max(odometer + rng.randint(40, 400), reading)
        world.rows.add(SERVICE_RECORDS, dict(
            id=world.ids.take(SERVICE_RECORDS), vehicle_id=car.row["id"], dealer_id=car.row["service_dealer_id"],
            customer_id=owner, performed_on=day, odometer_km=odometer,
            kind="inspection" if kind == "oil_service" and car.trim.propulsion == "electric" else kind,
            summary=summary, operations=operations, created_at=_moment(day, rng),
            total_cost=round(cost * world.money_factor, -3) if world.money_factor != 1 else cost,
            currency=world.currency))


def write_car(world: World, car: Car) -> None:
    world.rows.add(VEHICLES, car.row)
    for customer_id, started, ended, sold_by in car.owners:
        world.rows.add(OWNERSHIPS, dict(id=world.ids.take(OWNERSHIPS), vehicle_id=car.row["id"],
                                        customer_id=customer_id, started_at=started, ended_at=ended,
                                        sold_by_dealer_id=sold_by))


# --- consent habits ------------------------------------------------------------------------------

def typical_consents(world: World, person: Person) -> None:
    """Most drivers let their workshop remind them; fewer want sales calls, offers or telematics."""
    rng, book = world.rng, world.consents
    if person.first_dealers is None or rng.random() < 0.1:
        return  # some people never share anything
    selling, service = (world.dealer(i) for i in person.first_dealers)
    bought = min(o[1] for car in person.cars for o in car.owners if o[0] == person.id)

    def moment() -> tuple[datetime, str]:
        if rng.random() < 0.6:
            return bought + timedelta(minutes=rng.randint(5, 90)), "in-dealership"
        later = bought + timedelta(days=rng.uniform(1, max(2, (world.now - bought).days)))
        return later, rng.choice(("web-portal", "web-portal", "api"))

    def grant(organization_id: int, purpose: str):
        at, method = moment()
        given = book.give(customer_id=person.id, organization_id=organization_id, purpose=purpose, at=at,
                          method=method)
        if given is not None and rng.random() < 0.04:
            span = (world.now - given["granted_at"]).total_seconds()
            if span > 7200:
                book.withdraw(given, at=given["granted_at"] + timedelta(seconds=rng.uniform(3600, span)),
                              method="web-portal")
        return given

    if rng.random() < 0.85 and (given := grant(service.id, "service_reminders")) and rng.random() < 0.35:
        book.reads_after(given, user_id=service.service_user_id, role=Role.DEALER_SERVICE.value,
                         whats=("customer 360", "service history", "customer list", "vehicles"), most=3)
    if rng.random() < 0.4 and (given := grant(selling.id, "sales_contact")) and rng.random() < 0.25:
        book.reads_after(given, user_id=selling.sales_user_id, role=Role.DEALER_SALES.value,
                         whats=("customer 360", "customer list", "profile"), most=2)
    if rng.random() < 0.15:
        grant(service.id, "vehicle_health_sharing")
    if rng.random() < 0.3 and (given := grant(world.carmaker_id, "marketing_offers")) and rng.random() < 0.2:
        book.reads_after(given, user_id=world.admin_user_id, role=Role.CARMAKER_ADMIN.value,
                         whats=("customer list",), most=1)
    if rng.random() < 0.15 and (given := grant(world.carmaker_id, "location_services")) and rng.random() < 0.1:
        book.reads_after(given, user_id=world.admin_user_id, role=Role.CARMAKER_ADMIN.value,
                         whats=("customer 360",), most=1)
    partners = world.partners
    if partners.get("insurance") and rng.random() < 0.12:
        insurer = rng.choice(partners["insurance"])
        if (given := grant(insurer.id, "driving_behaviour_insurance")) and rng.random() < 0.5:
            book.reads_after(given, user_id=insurer.analyst_user_id, role=Role.PARTNER_ANALYST.value,
                             whats=("customer 360", "driving score"), most=3)
    if partners.get("roadside") and rng.random() < 0.08:
        grant(rng.choice(partners["roadside"]).id, "location_services")
    if partners.get("finance") and rng.random() < 0.05:
        grant(rng.choice(partners["finance"]).id, "marketing_offers")


# --- the population ------------------------------------------------------------------------------

def _pick_dealers(world: World, city: City) -> tuple[DealerRef, DealerRef]:
    """Selling dealer: usually the nearest, sometimes the next; workshop: usually the nearest."""
    near = world.nearest[city.name]
    selling = world.rng.choices(near, (70, 20, 10)[:len(near)])[0]
    service = near[0] if world.rng.random() < 0.85 else selling
    return selling, service


def _batch(world: World, size: int) -> list[Person]:
    rng, now = world.rng, world.now
    persons: list[Person] = []
    town_weights = [c.population for c in world.towns]
    for _ in range(size):
        first, last = world.folk.person_name(rng)
        persons.append(Person(id=world.ids.take(CUSTOMERS), city=rng.choices(world.towns, town_weights)[0],
                              first_name=first, last_name=last))
    by_town: dict[str, list[Person]] = defaultdict(list)
    for person in persons:
        by_town[person.city.name].append(person)
    owner_town = {p.id: p.city.name for p in persons}
    cars: list[Car] = []
    for person in persons:
        for _ in range(2 if rng.random() < 0.12 else 1):
            trim, year = fleet.pick_trim(world.trims, rng, latest_year=now.year)
            window_start = date(year - 1, 9, 1)
            day = _random_day(window_start, min(date(year, 12, 31), now.date() - timedelta(days=10)), rng)
            selling, service = _pick_dealers(world, person.city)
            cars.append(new_car(world, person, selling=selling, service=service, bought=_moment(day, rng),
                                trim=trim, model_year=year))
    for car in cars:
        age_days = (now - car.owners[0][1]).days
        if age_days < 500 or rng.random() >= RESALE_SHARE:
            continue
        seller = car.owners[0][0]
        # Used cars mostly change hands locally.
        candidates = [p for p in by_town[owner_town[seller]] if p.id != seller] \
            or [p for p in rng.sample(persons, min(8, len(persons))) if p.id != seller]
        if not candidates:
            continue
        buyer = rng.choice(candidates)
        at = _moment((car.owners[0][1] + timedelta(days=rng.randint(365, age_days - 14))).date(), rng)
        dealer = world.nearest[buyer.city.name][0] if rng.random() < 0.6 else None
        resell(car, buyer, at=at, dealer=dealer)
    for car in cars:
        workshop_history(world, car)
    return persons


def _write_people(world: World, persons: list[Person]) -> None:
    rng, today = world.rng, world.now.date()
    written: set[int] = set()
    for person in persons:
        folk = world.folk
        street, postcode = person.city.street_address(rng), person.city.postcode(rng)
        add_customer(world, person, email=folk.email_for(person.first_name, person.last_name, person.id, rng),
                     phone=folk.mobile_number(rng), street=street, postcode=postcode,
                     birth=folk.birth_date(rng, today), language=folk.language(rng),
                     prefs=folk.preferences(rng, person.city, street, postcode))
        for car in person.cars:
            if car.row["id"] not in written:
                written.add(car.row["id"])
                write_car(world, car)
        typical_consents(world, person)


def populate(*, session, world: World, count: int,
             on_progress: Callable[[int], None] = lambda n: None) -> list[Person]:
    """Writes ``count`` customers; returns the first batch (the demo driver's neighbours)."""
    first_batch: list[Person] = []
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        persons = _batch(world, size)
        _write_people(world, persons)
        world.rows.flush(session)
        world.consents.forget_batch()
        if not first_batch:
            first_batch = persons
        on_progress(size)
    return first_batch
