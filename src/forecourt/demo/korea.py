"""The Korean demo market beside the German one: the importer, dealers in Seoul, Busan and Daegu, their
staff, partners, prices in won, and drivers with their cars, service history, consents and On Call.

Everything is written through the same builders as the German network (``population``, the
organization and consent services), with the market's own towns, names, numbers and plates from
``korea_people``: a Korean user logging in sees a Korean network, on Seoul's clock, in won.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from random import Random

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from forecourt.assist.models import Case, CaseEvent, Subscription, SubscriptionTerms
from forecourt.core import names
from forecourt.core.auth import Role
from forecourt.demo import korea_people, korea_sales, population
from forecourt.demo.bulk import Ids
from forecourt.demo.organizations import _organization, _staff_user
from forecourt.demo.population import DealerRef, PartnerRef, Person, World
from forecourt.parties.markets import get_market
from forecourt.sales.configurator import set_option_price
from forecourt.sales.models import Option, Opportunity, Target
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.models import Ownership, ServiceRecord, Trim, Vehicle, WarrantyContract, WarrantyTerms

MARKET = "KR"
WON_PER_EURO = 1450  # list prices in won are set by the importer; this is only where the demo starts from
IMPORTER = dict(code="AURORA-KR", name="오로라모터스코리아", domain="aurora-korea.example", town="서울특별시",
                street="강남구 테헤란로 152", postcode="06236")
KOREAN_HOURS = ({"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]], "wed": [["09:00", "18:00"]],
                 "thu": [["09:00", "18:00"]], "fri": [["09:00", "18:00"]], "sat": [["09:00", "13:00"]], "sun": []},
                {"mon": [["08:30", "17:30"]], "tue": [["08:30", "17:30"]], "wed": [["08:30", "17:30"]],
                 "thu": [["08:30", "17:30"]], "fri": [["08:30", "17:30"]], "sat": [["08:30", "12:30"]], "sun": []})
# town, (street, postcode), (lat, lon) of a real spot in the district, bays
DEALERS = (("서울특별시", ("강남구 도산대로 318", "06054"), (37.5226, 127.0383), 10),
           ("부산광역시", ("해운대구 센텀중앙로 79", "48058"), (35.1690, 129.1316), 7),
           ("대구광역시", ("수성구 달구벌대로 2450", "42165"), (35.8547, 128.6305), 6))
PARTNERS = (("roadside", "RSA-KR-SEOUL", "서울긴급출동", "seoul-rescue", "서울특별시"),
            ("roadside", "RSA-KR-BUSAN", "부산로드서비스", "busan-road", "부산광역시"),
            ("emergency", "EMS-KR", "한국긴급구조센터", "kr-emergency", "대구광역시"),
            ("insurance", "INS-KR-HANGYEOL", "한결손해보험", "hangyeol", "서울특별시"))
STAFF = {"importer": (("admin", Role.CARMAKER_ADMIN, "정수민"), ("agent", Role.CALL_CENTRE_AGENT, "박지훈")),
         "dealer": (("sales", Role.DEALER_SALES), ("service", Role.DEALER_SERVICE))}
DRIVER_EMAIL = "driver@example.kr"
RENEWAL_WON = 129_000


@dataclass(frozen=True)
class KoreanLogin:
    email: str
    role: str
    who: str


def logins() -> list[KoreanLogin]:
    """Stable for every seed, so the README can list them."""
    _code, brand, slug = korea_people.DEALER_NAMES[0]
    return [KoreanLogin(f"admin@{IMPORTER['domain']}", "importer admin", f"{IMPORTER['name']} (정수민)"),
            KoreanLogin(f"agent@{IMPORTER['domain']}", "call-centre agent", f"{IMPORTER['name']} (박지훈)"),
            KoreanLogin(f"sales@{slug}.example", "dealer sales", f"{brand} 서울 강남"),
            KoreanLogin(f"service@{slug}.example", "dealer service", f"{brand} 서울 강남"),
            KoreanLogin(DRIVER_EMAIL, "customer", "김민준 (driver)")]


def _won(euros, step: int = 100_000) -> int:
    return int(round(float(euros) * WON_PER_EURO / step) * step)


def price_catalogue(session: Session) -> None:
    """Every trim and option gets a list price in won (rounded as Korean price lists are)."""
    market = get_market(session=session, code=MARKET)
    for trim in session.scalars(select(Trim).order_by(Trim.id)):
        vehicles_service.set_trim_price(session=session, trim_id=trim.id, market=market, amount=_won(trim.base_price))
    for option in session.scalars(select(Option).order_by(Option.id)):
        set_option_price(session=session, option_id=option.id, market=market, amount=_won(option.price, 10_000))


def build_organizations(*, session: Session, ids: Ids, rng: Random, now: datetime,
                        password_hash: str) -> tuple[list[DealerRef], dict[str, list[PartnerRef]]]:
    since = now - timedelta(days=700)
    seoul = korea_people.town_named(IMPORTER["town"])
    importer = _organization(session, kind="carmaker", code=IMPORTER["code"], name=IMPORTER["name"], market=MARKET,
                             country=MARKET, street=IMPORTER["street"], postcode=IMPORTER["postcode"],
                             city=seoul.name, latitude=37.5087, longitude=127.0632, phone=seoul.landline(rng),
                             email=f"info@{IMPORTER['domain']}")
    for mailbox, role, name in STAFF["importer"]:
        _staff_user(session, ids, email=f"{mailbox}@{IMPORTER['domain']}", name=name, role=role,
                    organization_id=importer.id, password_hash=password_hash, since=since, language="ko")
    dealers = []
    for index, ((code, brand, slug), (town_name, (street, postcode), (lat, lon), bays)) in enumerate(
            zip(korea_people.DEALER_NAMES, DEALERS, strict=True)):
        town = korea_people.town_named(town_name)
        district = street.split()[0]
        organization = _organization(
            session, kind="dealer", code=f"DLR-KR-{index + 1:02d}", name=f"{brand} {town_name[:2]} {district[:-1]}",
            market=MARKET, country=MARKET, street=street, postcode=postcode, city=town.name, latitude=lat,
            longitude=lon, phone=town.landline(rng), email=f"info@{slug}.example",
            opening_hours=KOREAN_HOURS[index % 2], service_bays=bays)
        users = {}
        for mailbox, role in STAFF["dealer"]:
            given, family = korea_people.person_name(rng)
            users[role] = _staff_user(session, ids, email=f"{mailbox}@{slug}.example",
                                      name=names.display_name(given, family), role=role,
                                      organization_id=organization.id, password_hash=password_hash, since=since,
                                      language="ko")
        dealers.append(DealerRef(id=organization.id, name=organization.name, city=town, latitude=lat, longitude=lon,
                                 sales_user_id=users[Role.DEALER_SALES], service_user_id=users[Role.DEALER_SERVICE]))
    partners: dict[str, list[PartnerRef]] = {}
    for kind, code, name, slug, town_name in PARTNERS:
        town = korea_people.town_named(town_name)
        organization = _organization(
            session, kind="partner", partner_kind=kind, code=code, name=name, market=MARKET, country=MARKET,
            street=town.street_address(rng), postcode=town.postcode(rng), city=town.name,
            latitude=round(town.latitude + rng.uniform(-0.03, 0.03), 6),
            longitude=round(town.longitude + rng.uniform(-0.03, 0.03), 6), phone=town.landline(rng),
            email=f"info@{slug}.example")
        given, family = korea_people.person_name(rng)
        analyst = _staff_user(session, ids, email=f"{'insurer' if kind == 'insurance' else kind}@{slug}.example",
                              name=names.display_name(given, family), role=Role.PARTNER_ANALYST,
                              organization_id=organization.id, password_hash=password_hash, since=since,
                              language="ko")
        partners.setdefault(kind, []).append(PartnerRef(id=organization.id, kind=kind, analyst_user_id=analyst))
    return dealers, partners


def world_for(base: World, *, dealers: list[DealerRef], partners: dict[str, list[PartnerRef]]) -> World:
    """The German world's ids, rows, consents and catalogue, with Korea's towns, dealers and people."""
    towns = korea_people.towns()
    nearest = {t.name: sorted(dealers, key=lambda d: (d.latitude - t.latitude) ** 2 + (d.longitude - t.longitude) ** 2)
               for t in towns}
    return World(rng=base.rng, now=base.now, password_hash=base.password_hash, carmaker_id=base.carmaker_id,
                 admin_user_id=base.admin_user_id, agent_user_id=base.agent_user_id, dealers=dealers,
                 partners=partners, trims=base.trims, towns=towns, nearest=nearest, ids=base.ids, rows=base.rows,
                 consents=base.consents, plates=base.plates, folk=korea_people, currency="KRW",
                 money_factor=WON_PER_EURO)


def build_driver(world: World, *, dealer: DealerRef) -> int:
    """김민준 in Seoul: his car from the Gangnam dealer, its workshop visits, and what he shares."""
    now = world.now
    person = Person(id=world.ids.take(population.CUSTOMERS), city=dealer.city, first_name="민준", last_name="김")
    bought = datetime.combine(now.date() - timedelta(days=640), time(2, 30), tzinfo=UTC)  # 11:30 in Seoul
    trim = next(t for t in world.trims if t.model_code == "TERRA" and t.propulsion == "electric")
    population.new_car(world, person, selling=dealer, service=dealer, bought=bought, trim=trim,
                       model_year=max(trim.year_from, bought.year), colour="Lunar silver")
    for car in person.cars:
        population.workshop_history(world, car, most=4, at_least=2)
    street, postcode = "강남구 테헤란로 521", "06164"
    population.add_customer(world, person, email=DRIVER_EMAIL, phone="+821012345678", street=street,
                            postcode=postcode, birth=date(1991, 8, 23), language="ko", prefs=dict(
        radio_presets=["KBS 쿨FM 89.1", "MBC FM4U 91.9", "KBS 클래식FM 93.1"],
        navigation_favourites=[dict(label="집", address=f"({postcode}) 서울특별시 {street}", latitude=37.5087,
                                    longitude=127.0632),
                               dict(label="회사", address="(04524) 서울특별시 중구 세종대로 110", latitude=37.5663,
                                    longitude=126.9779)],
        seat_position=dict(height=5, distance=8, recline=4, lumbar=2), preferred_contact="app"))
    for car in person.cars:
        population.write_car(world, car)
    book = world.consents
    service = book.give(customer_id=person.id, organization_id=dealer.id, purpose="service_reminders",
                        at=bought + timedelta(minutes=30), method="in-dealership")
    book.give(customer_id=person.id, organization_id=dealer.id, purpose="sales_contact",
              at=now - timedelta(days=20), method="web-portal")
    for purpose in ("location_services", "vehicle_health_sharing"):
        book.give(customer_id=person.id, organization_id=world.carmaker_id, purpose=purpose,
                  at=bought + timedelta(hours=1), method="api")
    if service is not None:
        book.reads_after(service, user_id=dealer.service_user_id, role=Role.DEALER_SERVICE.value,
                         whats=("customer 360", "service history"), most=2)
    return person.id


def finish(*, session: Session, rng: Random, now: datetime, dealers: list[DealerRef]) -> dict[str, int]:
    """After the network-wide builders ran: deals, targets and On Call in won, terms for Korea, and
    past cases around the Korean drivers' towns."""
    dealer_ids = [d.id for d in dealers]
    session.execute(update(Opportunity).where(Opportunity.dealer_id.in_(dealer_ids))
                    .values(amount=func.round(Opportunity.amount * WON_PER_EURO, 0), currency="KRW"))
    korea_sales.translate_sales(session, dealer_ids)  # what Korean reps wrote, in Korean
    session.execute(update(Target).where(Target.dealer_id.in_(dealer_ids))
                    .values(value=func.round(Target.value * WON_PER_EURO, 0), currency="KRW"))
    session.add(SubscriptionTerms(model_id=None, market=MARKET, included_years=3, renewal_price=RENEWAL_WON,
                                  currency="KRW"))
    for model_id in {t.model_id for t in session.scalars(select(Trim))}:
        session.add(WarrantyTerms(model_id=model_id, market=MARKET, years=5, km=100_000, components=[]))
    korean_cars = select(Vehicle.id).where(Vehicle.selling_dealer_id.in_(dealer_ids))
    # Workshop visits the network-wide builders wrote for these cars (warranty repairs, recall remedies) and
    # extended warranties sold for them, in won like the rest of the market.
    for record in session.scalars(select(ServiceRecord).where(ServiceRecord.vehicle_id.in_(korean_cars))):
        korea_sales.translate_service(record)
    for record in session.scalars(select(ServiceRecord).where(ServiceRecord.vehicle_id.in_(korean_cars),
                                                              ServiceRecord.currency != "KRW")):
        record.total_cost, record.currency = _won(record.total_cost, 1_000), "KRW"
        record.warranty_amount, record.customer_amount = (_won(record.warranty_amount or 0, 1_000),
                                                          _won(record.customer_amount or 0, 1_000))
    for contract in session.scalars(select(WarrantyContract).where(WarrantyContract.vehicle_id.in_(korean_cars))):
        contract.price, contract.currency = _won(contract.price, 10_000), "KRW"
    for subscription in session.scalars(select(Subscription).where(Subscription.vehicle_id.in_(korean_cars))):
        years = max(1, round((subscription.ends_on - subscription.starts_on).days / 365))
        subscription.currency = "KRW"
        subscription.price = RENEWAL_WON * years if subscription.plan != "included" else 0
    cases = _past_cases(session, rng, now, dealers)
    session.flush()
    return {"korean_dealers": len(dealers), "korean_cases": cases}


def _past_cases(session: Session, rng: Random, now: datetime, dealers: list[DealerRef]) -> int:
    """A closed breakdown and a false SOS alarm in Korea, so the console's history speaks of both markets."""
    written = 0
    for index, (dealer, (kind, resolution)) in enumerate(zip(dealers, (("breakdown", "help_arrived"),
                                                                       ("sos", "false_alarm")), strict=False)):
        row = session.execute(select(Ownership.vehicle_id, Ownership.customer_id).join(
            Vehicle, Vehicle.id == Ownership.vehicle_id).where(
            Vehicle.selling_dealer_id == dealer.id, Ownership.ended_at.is_(None)).order_by(Ownership.id)).first()
        if row is None:
            continue
        opened = now - timedelta(days=5 * (index + 1), hours=rng.randint(1, 8))
        case = Case(number=f"OC-KR{index + 1}", vehicle_id=row[0], customer_id=row[1], kind=kind,
                    priority={"sos": 2, "breakdown": 3}[kind], status="closed", resolution=resolution, source="embedded",
                    latitude=dealer.latitude + rng.uniform(-0.05, 0.05),
                    longitude=dealer.longitude + rng.uniform(-0.05, 0.05), opened_at=opened, last_alert_at=opened,
                    acknowledged_at=opened + timedelta(seconds=35), resolved_at=opened + timedelta(minutes=70),
                    closed_at=opened + timedelta(hours=2))
        session.add(case)
        session.flush()
        for event_kind, at, text in (("alert", opened, f"{kind.upper()} alert received"),
                                     ("acknowledged", case.acknowledged_at, "Acknowledged by the call centre"),
                                     ("resolved", case.resolved_at, f"Resolved: {resolution.replace('_', ' ')}"),
                                     ("closed", case.closed_at, "Closed")):
            session.add(CaseEvent(case_id=case.id, kind=event_kind, at=at, text=text))
        written += 1
    return written
