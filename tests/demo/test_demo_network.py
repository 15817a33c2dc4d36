"""The demo network is believable and keeps the platform's rules: real towns, valid VINs, owners
over time, and consents written exactly as the consent service writes them."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import inspect
import io
from collections import defaultdict
from datetime import UTC, datetime, time

import pytest
from rich.console import Console
from sqlalchemy import func, select

from forecourt.assist import subscriptions
from forecourt.consent import service as consent_service
from forecourt.consent.models import AccessLogEntry, ConsentReceipt, Grant, Notice, Purpose
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.core.errors import Conflict
from forecourt.core.geo import distance_km
from forecourt.customers import service as customers_service
from forecourt.customers.models import Customer, Preferences
from forecourt.demo import geography
from forecourt.demo.network import build_demo_network, demo_logins, korean_share
from forecourt.payments import service as payments_service
from forecourt.payments.models import PaymentEntry
from forecourt.parties import service as parties_service
from forecourt.parties.models import Organization, User
from forecourt.privacy import customer360
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.models import Ownership, ServiceRecord, Vehicle

CUSTOMERS, DEALERS = 120, 40
MOMENT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


def _build(url: str, **options):
    with frozen_at(MOMENT):
        return build_demo_network(settings=get_settings(database_url=url), console=_quiet(), **options)


@pytest.fixture(scope="module")
def demo(fresh_database_url):
    url = fresh_database_url("demo")
    network = _build(url, customers=CUSTOMERS, dealers=DEALERS, seed=11)
    return url, network


@pytest.fixture
def db(demo):
    url, _ = demo
    session = make_sessionmaker(get_engine(url))()
    yield session
    session.rollback()
    session.close()


def _dealers(db) -> list[Organization]:
    """The German market's dealers (the Korean market beside it has its own tests)."""
    return list(db.scalars(select(Organization).where(Organization.kind == "dealer", Organization.market == "DE")
                           .order_by(Organization.id)))


def test_defaults_promise_a_network_of_believable_size():
    defaults = inspect.signature(build_demo_network).parameters
    assert defaults["dealers"].default >= 40 and defaults["customers"].default >= 2000
    towns = geography.largest_cities(defaults["dealers"].default)
    assert len({t.name for t in towns}) == defaults["dealers"].default
    assert "Wandsbek" not in {t.name for t in towns}  # boroughs are not towns


def test_dealers_sit_in_distinct_real_german_towns(db):
    dealers = _dealers(db)
    assert len(dealers) == DEALERS
    assert len({d.city for d in dealers}) == DEALERS
    for dealer in dealers:
        town = geography.city_named(dealer.city)  # a GeoNames town of that name exists
        assert geography.GERMANY_LAT[0] < dealer.latitude < geography.GERMANY_LAT[1]
        assert geography.GERMANY_LON[0] < dealer.longitude < geography.GERMANY_LON[1]
        assert distance_km(dealer.latitude, dealer.longitude, town.latitude, town.longitude) < 10
        assert 2 <= dealer.service_bays <= 12
        assert dealer.postcode and len(dealer.postcode) == 5 and dealer.street
        assert dealer.opening_hours["sun"] == [] and dealer.opening_hours["mon"]
        roles = set(db.scalars(select(User.role).where(User.organization_id == dealer.id)))
        assert roles == {Role.DEALER_SALES.value, Role.DEALER_SERVICE.value, Role.DEALER_CASHIER.value}


def test_carmaker_and_every_kind_of_partner_have_staff(db):
    carmaker = parties_service.carmaker(session=db)
    roles = set(db.scalars(select(User.role).where(User.organization_id == carmaker.id)))
    assert roles == {Role.CARMAKER_ADMIN.value, Role.CALL_CENTRE_AGENT.value}
    partners = db.scalars(select(Organization).where(Organization.kind == "partner")).all()
    assert {p.partner_kind for p in partners} == set(parties_service.PARTNER_KINDS)
    for partner in partners:
        assert db.scalar(select(User.role).where(User.organization_id == partner.id)) == Role.PARTNER_ANALYST.value


def test_every_customer_has_a_login_and_a_car(db):
    assert db.scalar(select(func.count(Customer.id)).where(Customer.market == "DE")) == CUSTOMERS
    assert db.scalar(select(func.count(Customer.id))) == CUSTOMERS + korean_share(CUSTOMERS)
    without_login = db.scalar(select(func.count(Customer.id)).where(
        ~Customer.id.in_(select(User.customer_id).where(User.role == Role.CUSTOMER.value))))
    without_car = db.scalar(select(func.count(Customer.id)).where(
        ~Customer.id.in_(select(Ownership.customer_id))))
    without_preferences = db.scalar(select(func.count(Customer.id)).where(
        ~Customer.id.in_(select(Preferences.customer_id))))
    assert (without_login, without_car, without_preferences) == (0, 0, 0)


def test_vins_are_valid_and_unique(db):
    vins = list(db.scalars(select(Vehicle.vin)))
    assert len(vins) == len(set(vins)) >= CUSTOMERS
    assert all(vehicles_service.normalise_vin(vin) == vin for vin in vins)


def test_resales_hand_over_at_one_moment_and_history_names_the_owner_of_the_day(db):
    periods = defaultdict(list)
    for ownership in db.scalars(select(Ownership).order_by(Ownership.vehicle_id, Ownership.started_at)):
        periods[ownership.vehicle_id].append(ownership)
    resold = [p for p in periods.values() if len(p) > 1]
    assert 0.05 < len(resold) / len(periods) < 0.3
    for chain in periods.values():
        assert chain[-1].ended_at is None and all(o.ended_at is not None for o in chain[:-1])
        for previous, following in zip(chain, chain[1:]):
            assert previous.ended_at == following.started_at
            assert previous.customer_id != following.customer_id
        assert all(o.started_at <= MOMENT for o in chain)
    last_km: dict[int, int] = {}
    for record in db.scalars(select(ServiceRecord).order_by(ServiceRecord.vehicle_id, ServiceRecord.performed_on)):
        end_of_day = datetime.combine(record.performed_on, time.max, tzinfo=UTC)
        owner = [o for o in periods[record.vehicle_id] if o.started_at <= end_of_day][-1]
        assert record.customer_id == owner.customer_id
        assert record.odometer_km > last_km.get(record.vehicle_id, -1)
        assert record.performed_on < MOMENT.date()
        last_km[record.vehicle_id] = record.odometer_km
    counts = db.execute(select(ServiceRecord.vehicle_id, func.count()).group_by(ServiceRecord.vehicle_id)).all()
    assert counts and max(n for _, n in counts) <= 6


def test_workshops_are_near_the_first_owner(db):
    dealers = {d.id: d for d in _dealers(db)}
    first_owner_town = dict(db.execute(
        select(Ownership.vehicle_id, Customer.city).join(Customer, Customer.id == Ownership.customer_id)
        .where(Customer.market == "DE").order_by(Ownership.started_at.desc())).all())  # the earliest ownership wins
    owned = list(db.scalars(select(Vehicle).where(Vehicle.id.in_(list(first_owner_town)))))
    assert owned  # dealers' own cars (courtesy cars in stock) have no owner and are not asked about
    for vehicle in owned:
        town = geography.city_named(first_owner_town[vehicle.id])
        ranked = sorted(dealers.values(), key=lambda d: distance_km(town.latitude, town.longitude,
                                                                    d.latitude, d.longitude))
        assert vehicle.service_dealer_id in {d.id for d in ranked[:3]}


def test_every_grant_has_its_receipt_under_a_notice_that_covers_it(db):
    notices = {n.version: set(n.purposes) for n in db.scalars(select(Notice))}
    current = max(notices)
    consent_purposes = set(db.scalars(select(Purpose.code).where(Purpose.legal_basis == "consent")))
    receipts = defaultdict(list)
    for receipt in db.scalars(select(ConsentReceipt)):
        receipts[(receipt.customer_id, receipt.organization_id, receipt.purpose_code)].append(receipt)
    grants = db.scalars(select(Grant)).all()
    assert len(grants) > CUSTOMERS  # most people share something, many more than one thing
    assert {g.purpose_code for g in grants} >= {"service_reminders", "sales_contact", "marketing_offers",
                                                "driving_behaviour_insurance", "location_services"}
    for grant in grants:
        assert grant.purpose_code in consent_purposes
        assert grant.purpose_code in notices[grant.notice_version]
        trail = receipts[(grant.customer_id, grant.organization_id, grant.purpose_code)]
        assert [r.state for r in trail if r.state == "granted" and r.recorded_at == grant.granted_at
                and r.notice_version == grant.notice_version] == ["granted"]
        assert len({r.receipt_id for r in trail}) == len(trail)
        if grant.withdrawn_at is not None:
            assert any(r.state == "withdrawn" and r.recorded_at == grant.withdrawn_at for r in trail)
        else:
            found = consent_service.active_grant(session=db, customer_id=grant.customer_id,
                                                 organization_id=grant.organization_id,
                                                 purpose_code=grant.purpose_code)
            assert found is not None and found.id == grant.id
        if grant.purpose_code == "driving_behaviour_insurance":  # only the notice that announced it, or a later one
            announced = min(version for version, purposes in notices.items() if grant.purpose_code in purposes)
            assert grant.notice_version in (announced, current)
    customers_without_grants = db.scalar(select(func.count(Customer.id)).where(
        ~Customer.id.in_(select(Grant.customer_id))))
    assert customers_without_grants > 0


def test_demo_logins_work(demo, db):
    _, network = demo
    assert [login.email for login in network.logins] == [login.email for login in demo_logins()]
    for login in network.logins:
        user = parties_service.authenticate(session=db, email=login.email, password="forecourt-demo",
                                            address="test", max_failures=5, window_seconds=60)
        assert user.is_active


def test_demo_driver_has_a_car_a_history_consents_and_preferences(db):
    driver = db.scalar(select(Customer).where(Customer.email == "driver@example.com"))
    first_dealer = _dealers(db)[0]
    assert first_dealer.city == "Berlin"
    current = vehicles_service.vehicles_of(session=db, customer_id=driver.id)
    assert len(current) == 1 and vehicles_service.service_history(session=db, vehicle_id=current[0][0].id)
    # the README tour shows her car's live map: her On Call is current when the demo is built
    assert subscriptions.convenience_allowed(session=db, vehicle_id=current[0][0].id, today=MOMENT.date())
    assert len(vehicles_service.vehicles_of(session=db, customer_id=driver.id, current_only=False)) == 2
    for purpose in ("sales_contact", "service_reminders"):
        assert consent_service.active_grant(session=db, customer_id=driver.id, organization_id=first_dealer.id,
                                            purpose_code=purpose)
    preferences = customers_service.get_preferences(session=db, customer_id=driver.id)
    assert preferences.radio_presets and preferences.navigation_favourites and preferences.seat_position
    assert customers_service.access_log(session=db, customer_id=driver.id)
    service_user = db.scalar(select(User).where(User.email == demo_logins()[3].email))
    view = customer360.customer_360(session=db, principal=parties_service.principal_for(service_user),
                                    customer_id=driver.id, purpose="service_reminders")
    assert view["vehicles"] and view["service_history"]


def test_most_owners_keep_on_call_by_renewing_when_the_included_years_end(db):
    from forecourt.assist.models import Subscription
    from forecourt.vehicles.models import Ownership

    current = list(db.scalars(select(Ownership.vehicle_id).where(Ownership.ended_at.is_(None))))
    live = [v for v in current if subscriptions.convenience_allowed(session=db, vehicle_id=v, today=MOMENT.date())]
    assert len(live) >= 0.6 * len(current)
    renewals = db.scalars(select(Subscription).where(Subscription.plan == "renewal")).all()
    assert renewals and all(r.price > 0 and r.payment_id for r in renewals)
    # each paid by transfer, recorded by the carmaker's admin through the manual provider
    paid = payments_service.settled(session=db, payment_ids=[r.payment_id for r in renewals])
    assert paid == {r.payment_id for r in renewals}
    recorders = set(db.scalars(select(PaymentEntry.recorded_by_user_id).where(
        PaymentEntry.payment_id.in_(paid))))
    assert [db.get(User, u).role for u in recorders] == ["carmaker_admin"]
    for renewal in renewals:  # each picks up the day after the included years end
        included = db.scalars(select(Subscription).where(Subscription.vehicle_id == renewal.vehicle_id,
                                                         Subscription.plan == "included")).one()
        assert (renewal.starts_on - included.ends_on).days == 1


def test_others_can_see_who_looked(db):
    readers = db.scalar(select(func.count(func.distinct(AccessLogEntry.customer_id))))
    assert readers > CUSTOMERS // 10


def _fingerprint(url: str) -> tuple:
    with make_sessionmaker(get_engine(url))() as session:
        return (list(session.scalars(select(Customer.email).order_by(Customer.id))),
                list(session.scalars(select(Vehicle.vin).order_by(Vehicle.id))),
                list(session.execute(select(ConsentReceipt.receipt_id, ConsentReceipt.recorded_at)
                                     .order_by(ConsentReceipt.id)).all()))


def test_the_same_seed_builds_the_same_network(demo, fresh_database_url):
    url, _ = demo
    again = fresh_database_url("demo_again")
    _build(again, customers=CUSTOMERS, dealers=DEALERS, seed=11)
    assert _fingerprint(again) == _fingerprint(url)


def test_if_empty_leaves_a_populated_database_alone(demo):
    url, _ = demo
    tables = (Organization, Customer, Vehicle, Grant, ConsentReceipt, User)

    def counts():
        with make_sessionmaker(get_engine(url))() as session:
            return [session.scalar(select(func.count()).select_from(t)) for t in tables]

    before = counts()
    result = _build(url, customers=50, dealers=40, if_empty=True)
    assert not result.created and counts() == before
    with pytest.raises(Conflict):
        _build(url, customers=50, dealers=40)
    assert counts() == before


def test_cli_builds_a_demo(fresh_database_url):
    from typer.testing import CliRunner

    from forecourt.cli import app

    url = fresh_database_url("demo_cli")
    result = CliRunner().invoke(app, ["demo", "--customers", "50", "--dealers", "40"],
                                env={"FORECOURT_DATABASE_URL": url, "COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "driver@example.com" in result.output and "Demo network ready" in result.output
    with make_sessionmaker(get_engine(url))() as session:
        assert session.scalar(select(func.count(Customer.id))) == 50 + korean_share(50)
        assert session.scalar(select(func.count(Organization.id)).where(Organization.kind == "dealer")) == 40 + 3
    again = CliRunner().invoke(app, ["demo", "--customers", "50", "--dealers", "40"],
                               env={"FORECOURT_DATABASE_URL": url, "COLUMNS": "120"})
    assert again.exit_code == 1
    assert "already has organizations" in again.output and "Traceback" not in again.output


def test_online_orders_were_paid_at_the_till_and_handed_over(db):
    from forecourt.sales import orders, statements
    from forecourt.sales.models import Order

    placed = db.scalars(select(Order)).all()
    delivered = [o for o in placed if o.status == "delivered"]
    assert delivered and all(o.commission and o.commission_rule for o in delivered)
    for order in placed:
        money = orders.money_of(session=db, order=order)
        assert money["state"] == {"delivered": "paid_in_full", "confirmed": "deposit_paid",
                                  "placed": "awaiting_deposit"}[order.status]
    cashiers = set(db.scalars(select(PaymentEntry.recorded_by_user_id).where(
        PaymentEntry.payment_id.in_([p.id for o in placed for p in payments_service.payments_of(
            session=db, subject_kind="order", subject_id=o.id)]))))
    assert cashiers and {db.get(User, u).role for u in cashiers} == {"dealer_cashier"}
    assert all(db.get(User, u).organization_id in {o.dealer_id for o in placed} for u in cashiers)
    driver_orders = [o for o in placed if o.customer_id == db.scalar(select(Customer.id).where(
        Customer.email == "driver@example.com"))]
    assert [o.status for o in driver_orders] == ["confirmed"]
    handed = delivered[0].handed_over_at
    month = handed.astimezone(ZoneInfo("Europe/Berlin")).date().replace(day=1)
    statement = statements.statement(session=db, dealer_id=delivered[0].dealer_id, month=month)
    assert delivered[0].number in [line["number"] for line in statement["lines"]]


def test_demo_work_orders_stand_on_visits_their_owners_booked(db):
    """A work order counts for the car's mileage and warranty only on the owner's booking, so every old
    workshop visit of the demo was booked by the owner of the day (recall remedies stand on their
    campaign), and no booking is the workshop's own."""
    from forecourt.workshop.models import Appointment

    visits = db.execute(select(ServiceRecord, Appointment).join(
        Appointment, Appointment.id == ServiceRecord.appointment_id, isouter=True)
        .where(ServiceRecord.dealer_id.is_not(None), ServiceRecord.recall_campaign_id.is_(None))).all()
    assert visits
    for record, booking in visits:
        assert booking is not None, record.id
        assert (booking.dealer_id, booking.vehicle_id, booking.customer_id, booking.status) == (
            record.dealer_id, record.vehicle_id, record.customer_id, "done")
        assert booking.starts_at.date() == record.performed_on and record.counts_for_mileage
    assert db.scalar(select(func.count(Appointment.id)).where(Appointment.source == "advisor")) == 0
