"""The Korean demo market is coherent: dealers in Seoul, Busan and Daegu on Seoul's clock, staff who can log
in, customers with Korean names, numbers and road-name addresses who gave grants, cars with service
history and On Call, and every price in won."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from rich.console import Console
from sqlalchemy import func, select

from forecourt.assist.models import Case, SubscriptionTerms
from forecourt.consent.models import Grant
from forecourt.core import names, phones
from forecourt.core.clock import frozen_at
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.core.geo import distance_km
from forecourt.customers.models import Customer
from forecourt.demo import korea, korea_people
from forecourt.demo.network import build_demo_network, korean_share
from forecourt.parties import service as parties_service
from forecourt.parties.models import Organization, User
from forecourt.sales import configurator
from forecourt.sales.models import Opportunity
from forecourt.vehicles.models import ServiceRecord, TrimPrice, Vehicle

MOMENT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
CUSTOMERS = 150
CITY_HALLS = {"서울특별시": (37.5665, 126.9780), "부산광역시": (35.1796, 129.0756), "대구광역시": (35.8714, 128.6014)}


@pytest.fixture(scope="module")
def db(fresh_database_url):
    url = fresh_database_url("korea")
    with frozen_at(MOMENT):
        build_demo_network(settings=get_settings(database_url=url), customers=CUSTOMERS, dealers=6, seed=3,
                           console=Console(file=io.StringIO()))
    session = make_sessionmaker(get_engine(url))()
    yield session
    session.rollback()
    session.close()


def _korean(db, kind: str) -> list[Organization]:
    return list(db.scalars(select(Organization).where(Organization.market == "KR", Organization.kind == kind)
                           .order_by(Organization.id)))


def test_dealers_are_in_seoul_busan_and_daegu_on_seouls_clock(db):
    dealers = _korean(db, "dealer")
    assert [d.city for d in dealers] == list(CITY_HALLS)
    for dealer in dealers:
        assert distance_km(dealer.latitude, dealer.longitude, *CITY_HALLS[dealer.city]) < 15
        assert (dealer.time_zone, dealer.country) == ("Asia/Seoul", "KR")
        assert re.fullmatch(r"\d{5}", dealer.postcode) and dealer.phone.startswith("+82")
        assert phones.display(dealer.phone, viewer_region="KR").startswith("0")
        assert dealer.opening_hours["sun"] == [] and dealer.opening_hours["sat"][0][1] <= "13:00"
        assert dealer.service_bays > 0
    assert _korean(db, "carmaker")[0].name == korea.IMPORTER["name"]
    assert {p.partner_kind for p in _korean(db, "partner")} >= {"roadside", "emergency", "insurance"}


def test_every_korean_demo_login_works(db):
    logins = korea.logins()
    assert {login.role for login in logins} >= {"dealer sales", "dealer service", "call-centre agent", "customer"}
    for login in logins:
        user = parties_service.authenticate(session=db, email=login.email, password=get_settings().demo_password,
                                            address="127.0.0.1", max_failures=5, window_seconds=900)
        assert user.is_active
    db.rollback()
    staff = db.scalars(select(User).join(Organization, Organization.id == User.organization_id)
                       .where(Organization.market == "KR")).all()
    assert staff and all(names.written_east_asian(u.display_name) for u in staff)


def test_customers_have_korean_names_numbers_addresses_and_grants(db):
    people = db.scalars(select(Customer).where(Customer.market == "KR")).all()
    assert len(people) == korean_share(CUSTOMERS)
    families = {f for f, _ in korea_people.FAMILY_NAMES}
    for person in people:
        assert person.last_name in families and person.first_name in korea_people.GIVEN_NAMES
        assert person.full_name == person.last_name + person.first_name  # 김민준: family name first, no space
        assert re.fullmatch(r"\+8210\d{8}", person.phone) and phones.display(person.phone, viewer_region="KR")[:4] == "010-"
        assert re.fullmatch(r"\d{5}", person.postcode) and person.country == "KR"
    granted = set(db.scalars(select(Grant.customer_id).where(Grant.customer_id.in_([p.id for p in people]))))
    assert len(granted) >= len(people) // 2
    driver = db.scalars(select(Customer).where(Customer.email == korea.DRIVER_EMAIL)).one()
    assert (driver.full_name, driver.language, driver.phone) == ("김민준", "ko", "+821012345678")
    assert driver.id in granted


def test_korean_cars_have_plates_service_history_and_on_call(db):
    dealer_ids = [d.id for d in _korean(db, "dealer")]
    cars = db.scalars(select(Vehicle).where(Vehicle.selling_dealer_id.in_(dealer_ids))).all()
    assert len(cars) >= korean_share(CUSTOMERS)
    assert all(re.fullmatch(r"\d{2,3}[가-힣] \d{4}", car.registration) for car in cars)
    records = db.scalars(select(ServiceRecord).where(ServiceRecord.vehicle_id.in_([c.id for c in cars]))).all()
    assert records and {r.currency for r in records} == {"KRW"}
    odd = [(r.kind, r.total_cost) for r in records if r.total_cost != round(r.total_cost, -3)]
    assert not odd, odd
    assert db.scalar(select(func.count(Case.id)).where(Case.vehicle_id.in_([c.id for c in cars]))) >= 1
    terms = db.scalars(select(SubscriptionTerms).where(SubscriptionTerms.market == "KR")).one()
    assert (terms.currency, int(terms.renewal_price)) == ("KRW", korea.RENEWAL_WON)


def test_prices_in_korea_are_in_whole_won_and_never_mixed(db):
    prices = db.scalars(select(TrimPrice).where(TrimPrice.market == "KR")).all()
    assert prices and all(p.currency == "KRW" and p.amount == int(p.amount) for p in prices)
    entries = configurator.catalogue(session=db, market="KR")
    assert entries and all(e["from_price"].currency == "KRW" for e in entries)
    assert all(e["from_price"].currency == "EUR" for e in configurator.catalogue(session=db, market="DE"))
    dealer_ids = [d.id for d in _korean(db, "dealer")]
    deals = db.scalars(select(Opportunity).where(Opportunity.dealer_id.in_(dealer_ids))).all()
    assert deals and {d.currency for d in deals} == {"KRW"} and all(d.amount == int(d.amount) for d in deals)
    assert db.scalar(select(func.count(Opportunity.id)).where(Opportunity.dealer_id.not_in(dealer_ids),
                                                              Opportunity.currency != "EUR")) == 0
