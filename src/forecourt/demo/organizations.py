"""The carmaker, its partners and its dealers, each with the staff who log in for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

from sqlalchemy import insert
from sqlalchemy.orm import Session

from forecourt.core.auth import Role
from forecourt.core.geo import distance_km
from forecourt.demo import geography, people
from forecourt.demo.bulk import Ids
from forecourt.demo.geography import City
from forecourt.demo.population import DealerRef, PartnerRef
from forecourt.parties import service as parties_service
from forecourt.parties.models import User

USERS = User.__table__

CARMAKER = dict(code="AURORA", name="Aurora Motors", domain="aurora.example", city="Stuttgart",
                street="Aurora-Allee 1", postcode="70173")
# kind, code, name, web-style slug, home town
PARTNERS = (
    ("finance", "FIN-AURORA", "Aurora Financial Services", "aurora-financial", "Braunschweig"),
    ("finance", "FIN-RHEIN", "Rheinland Autobank", "rheinland-autobank", "Köln"),
    ("finance", "FIN-NORD", "Nordlicht Leasing", "nordlicht-leasing", "Hamburg"),
    ("insurance", "INS-HANSE", "Hanse Versicherung", "hanse-versicherung", "Hamburg"),
    ("insurance", "INS-ISAR", "Isar Assekuranz", "isar-assekuranz", "München"),
    ("insurance", "INS-MAIN", "Mainufer Kfz-Versicherung", "mainufer-versicherung", "Frankfurt am Main"),
    ("roadside", "RSA-ENGEL", "Straßenengel Pannenhilfe", "strassenengel", "Berlin"),
    ("roadside", "RSA-SUED", "Autobahn Assist Süd", "autobahn-assist", "Stuttgart"),
    ("roadside", "RSA-WEST", "Rhein-Ruhr Abschleppdienst", "rhein-ruhr-abschleppdienst", "Essen"),
    ("emergency", "EMS-MITTE", "Leitstelle Mitte", "leitstelle-mitte", "Kassel"),
    ("emergency", "EMS-NORD", "Notrufzentrale Nord", "notrufzentrale-nord", "Hannover"),
    ("emergency", "EMS-SUED", "eCall-Zentrale Süd", "ecall-zentrale-sued", "Nürnberg"),
)
# How the road partners work: most around the clock (no hours), one family firm by day only, and how many
# cases each takes at once (``assist.availability``), so the console has someone closed or busy at night.
PARTNER_SERVICE = {
    "RSA-ENGEL": {"dispatch_capacity": 8}, "RSA-SUED": {"dispatch_capacity": 6},
    "RSA-WEST": {"dispatch_capacity": 3,
                 "opening_hours": {d: [["07:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}},
}
# The analyst's mailbox at each kind of partner: "insurer@hanse-versicherung.example".
PARTNER_MAILBOX = {"finance": "finance", "insurance": "insurer", "roadside": "roadside", "emergency": "emergency"}


@dataclass(frozen=True)
class Staff:
    admin_user_id: int
    agent_user_id: int
    carmaker_id: int


def dealer_slug(index: int, city: City) -> str:
    family = people.DEALER_FAMILIES[index % len(people.DEALER_FAMILIES)]
    suffix = f"-{index // len(people.DEALER_FAMILIES) + 1}" if index >= len(people.DEALER_FAMILIES) else ""
    return people.ascii_slug(f"{family}-{city.name}") + suffix


def first_dealer_slug() -> str:
    return dealer_slug(0, geography.largest_cities(1)[0])


def _staff_user(session: Session, ids: Ids, *, email: str, name: str, role: Role, organization_id: int,
                password_hash: str, since: datetime, language: str | None = None) -> int:
    """``parties_service.create_user`` without hashing the same password again for every account;
    ``language``: the staff member's own setting (none: they read in their browser's language)."""
    user_id = ids.take(USERS)
    session.execute(insert(USERS), [dict(
        id=user_id, email=email.lower(), display_name=name, password_hash=password_hash, role=role.value,
        organization_id=organization_id, customer_id=None, is_active=True, created_at=since, last_login_at=None,
        language=language)])
    return user_id


def _organization(session: Session, **values):
    values.setdefault("opening_hours", {})
    values.setdefault("service_bays", 0)
    return parties_service.create_organization(session=session, values=values)


def opening_hours(rng: Random) -> dict[str, list[list[str]]]:
    """Mon–Fri 08:00–18:00 and Saturday mornings, with the variations real dealers have."""
    opens, closes = rng.choice([("08:00", "18:00")] * 6 + [("07:30", "18:30"), ("08:00", "19:00"),
                                                         ("07:00", "18:00")])
    weekday = [[opens, "12:30"], ["13:30", closes]] if rng.random() < 0.12 else [[opens, closes]]
    friday = [[opens, rng.choice(("16:00", "17:00"))]] if rng.random() < 0.25 else weekday
    saturday = rng.choices([[["09:00", "13:00"]], [["09:00", "14:00"]], [["10:00", "14:00"]], []],
                           (70, 10, 5, 15))[0]
    return {"mon": weekday, "tue": weekday, "wed": weekday, "thu": weekday, "fri": friday,
            "sat": saturday, "sun": []}


def build_carmaker_and_partners(*, session: Session, ids: Ids, rng: Random, now: datetime,
                                password_hash: str) -> tuple[Staff, dict[str, list[PartnerRef]]]:
    home = geography.city_named(CARMAKER["city"])
    lat, lon = geography.near(home, rng, 1.5)
    carmaker = _organization(session, kind="carmaker", code=CARMAKER["code"], name=CARMAKER["name"],
                             street=CARMAKER["street"], postcode=CARMAKER["postcode"], city=home.name,
                             latitude=lat, longitude=lon, phone=home.landline(rng),
                             email=f"info@{CARMAKER['domain']}")
    since = now - timedelta(days=900)
    staff = Staff(
        carmaker_id=carmaker.id,
        admin_user_id=_staff_user(session, ids, email=f"admin@{CARMAKER['domain']}", name="Katrin Vogel",
                                  role=Role.CARMAKER_ADMIN, organization_id=carmaker.id,
                                  password_hash=password_hash, since=since),
        agent_user_id=_staff_user(session, ids, email=f"agent@{CARMAKER['domain']}", name="Jonas Becker",
                                  role=Role.CALL_CENTRE_AGENT, organization_id=carmaker.id,
                                  password_hash=password_hash, since=since))
    partners: dict[str, list[PartnerRef]] = {}
    for kind, code, name, slug, town in PARTNERS:
        city = geography.city_named(town)
        lat, lon = geography.near(city, rng, 3)
        organization = _organization(session, kind="partner", partner_kind=kind, code=code, name=name,
                                     street=city.street_address(rng, geography.DEALER_STREETS),
                                     postcode=city.postcode(rng), city=city.name, latitude=lat, longitude=lon,
                                     phone=city.landline(rng), email=f"info@{slug}.example",
                                     **PARTNER_SERVICE.get(code, {}))
        first, last = people.person_name(rng)
        analyst = _staff_user(session, ids, email=f"{PARTNER_MAILBOX[kind]}@{slug}.example",
                              name=f"{first} {last}", role=Role.PARTNER_ANALYST, organization_id=organization.id,
                              password_hash=password_hash, since=since)
        partners.setdefault(kind, []).append(PartnerRef(id=organization.id, kind=kind, analyst_user_id=analyst))
    return staff, partners


def build_dealers(*, session: Session, ids: Ids, rng: Random, now: datetime, password_hash: str,
                  count: int) -> list[DealerRef]:
    """One dealer per large town, biggest towns first; more dealers than towns share the big ones."""
    towns = geography.largest_cities(count)
    dealers: list[DealerRef] = []
    for index in range(count):
        city = towns[index % len(towns)]
        family = people.DEALER_FAMILIES[index % len(people.DEALER_FAMILIES)]
        slug = dealer_slug(index, city)
        lat, lon = geography.near(city, rng, 5)
        bays = rng.randint(8, 12) if city.population > 1_000_000 else (
            rng.randint(5, 10) if city.population > 400_000 else rng.randint(2, 8))
        organization = _organization(
            session, kind="dealer", code=f"DLR-{index + 1:03d}", name=f"Autohaus {family} {city.name}",
            street=city.street_address(rng, geography.DEALER_STREETS), postcode=city.postcode(rng),
            city=city.name, latitude=lat, longitude=lon, phone=city.landline(rng), email=f"info@{slug}.example",
            opening_hours=opening_hours(rng), service_bays=bays)
        since = now - timedelta(days=rng.randint(400, 1500))
        users = {}
        for role, mailbox in ((Role.DEALER_SALES, "sales"), (Role.DEALER_SERVICE, "service"),
                              (Role.DEALER_CASHIER, "cashier")):
            first, last = people.person_name(rng)
            users[role] = _staff_user(session, ids, email=f"{mailbox}@{slug}.example", name=f"{first} {last}",
                                      role=role, organization_id=organization.id, password_hash=password_hash,
                                      since=since)
        dealers.append(DealerRef(id=organization.id, name=organization.name, city=city, latitude=lat,
                                 longitude=lon, sales_user_id=users[Role.DEALER_SALES],
                                 service_user_id=users[Role.DEALER_SERVICE]))
    return dealers


def nearest_dealers(dealers: list[DealerRef], towns: list[City], count: int = 3) -> dict[str, list[DealerRef]]:
    """For every home town, the closest dealers by great-circle distance, closest first."""
    return {town.name: sorted(dealers, key=lambda d: distance_km(town.latitude, town.longitude,
                                                                 d.latitude, d.longitude))[:count]
            for town in towns}
