"""A car changes hands only through a real sale: a dealer's hand-over of its own stock, a sale its owner
starts and a buyer accepts (private or trade-in), or the carmaker's audited correction. The previous
owner keeps the book up to the sale; the new owner and their grants take over, from the server's moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at, now
from forecourt.core.errors import Invalid
from forecourt.core.outbox import OutboxMessage
from forecourt.parties.models import AuditEntry
from forecourt.sales import transfers
from forecourt.sales.models import OwnershipTransfer
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.models import Ownership
from tests.factories import admin_login


def _sell(client, seller_login, buyer_login, vin: str) -> dict:
    """The seller starts the sale in their portal; the buyer accepts it with the code."""
    started = client.post(f"/api/me/vehicles/{vin}/sale", headers=seller_login.headers)
    assert started.status_code == 201, started.text
    accepted = client.post("/api/me/purchases", headers=buyer_login.headers, json={"code": started.json()["code"]})
    assert accepted.status_code == 201, accepted.text
    return accepted.json()


@pytest.fixture
def sale(make, client, session):
    selling_dealer = make.dealer()
    workshop = make.dealer()
    rep = make.staff(selling_dealer, Role.DEALER_SALES)
    advisor = make.staff(workshop, Role.DEALER_SERVICE)
    seller, buyer = make.customer(), make.customer()
    car = make.vehicle(owner=seller, dealer=selling_dealer, since=now() - timedelta(days=800))
    before_sale = [make.service_record(car, workshop, on=date.today() - timedelta(days=d), odometer_km=km)
                   for d, km in ((500, 20000), (200, 35000))]
    # the seller allowed the workshop to see their cars' history
    make.grant(seller, workshop, "service_reminders")
    vin = car.vin
    assert client.get(f"/api/vehicles/{vin}", headers=advisor.headers).status_code == 200
    seller_login, buyer_login = make.customer_login(seller), make.customer_login(buyer)

    sold_at = datetime.combine(date.today() - timedelta(days=60), time(15, 0), tzinfo=UTC)
    with frozen_at(sold_at):
        _sell(client, seller_login, buyer_login, vin)
    after_sale = [make.service_record(car, workshop, on=date.today() - timedelta(days=d), odometer_km=km)
                  for d, km in ((59, 41000), (5, 47000))]
    session.commit()
    return dict(car=car, vin=vin, seller=seller, buyer=buyer, rep=rep, advisor=advisor, workshop=workshop,
                selling_dealer=selling_dealer, sold_at=sold_at, before=before_sale, after=after_sale,
                seller_login=seller_login, buyer_login=buyer_login)


# --- attack: a dealer employee takes a car from its owner ----------------------------------------------

def test_no_dealer_employee_can_take_a_car_from_its_owner(make, client, session):
    """Attack: ``POST /api/vehicles/{vin}/sale`` with a service advisor's (or a sales rep's) token, a
    "buyer" who allowed the dealer sales contact, and a past ``sold_at``."""
    dealer = make.dealer()
    owner, accomplice = make.customer(), make.customer()
    car = make.vehicle(owner=owner, dealer=dealer, since=now() - timedelta(days=700))  # the dealer sold it once
    make.service_record(car, dealer, on=date.today() - timedelta(days=100))
    make.grant(accomplice, dealer, "sales_contact")
    make.grant(accomplice, dealer, "service_reminders")
    session.commit()
    before = session.scalar(select(func.count(Ownership.id)).where(Ownership.vehicle_id == car.id))
    for role in (Role.DEALER_SERVICE, Role.DEALER_SALES):
        staff = make.staff(dealer, role)
        for body in ({"customer_id": accomplice.id, "sold_at": (now() - timedelta(days=30)).isoformat()},
                     {"customer_id": accomplice.id}):
            response = client.post(f"/api/vehicles/{car.vin}/sale", headers=staff.headers, json=body)
            assert response.status_code in (404, 422), (role, body, response.text)
    session.expire_all()
    assert vehicles_service.current_owner_id(session=session, vehicle_id=car.id) == owner.id
    assert session.scalar(select(func.count(Ownership.id)).where(Ownership.vehicle_id == car.id)) == before
    me = make.customer_login(owner)
    assert [c["vehicle"]["vin"] for c in client.get("/api/me/vehicles", headers=me.headers).json()] == [car.vin]
    assert client.get("/api/me/vehicles", headers=make.customer_login(accomplice).headers).json() == []


def test_a_dealer_sells_only_its_own_stock_and_the_server_dates_it(make, client, session):
    dealer, other_dealer = make.dealer(), make.dealer()
    rep, rep_elsewhere = make.staff(dealer, Role.DEALER_SALES), make.staff(other_dealer, Role.DEALER_SALES)
    advisor = make.staff(dealer, Role.DEALER_SERVICE)
    buyer = make.customer()
    make.grant(buyer, dealer, "sales_contact")
    make.grant(buyer, other_dealer, "sales_contact")
    stock = make.vehicle(selling_dealer_id=dealer.id)
    factory_car = make.vehicle()  # nobody's stock: it reaches a buyer through an order
    session.commit()
    assert client.post(f"/api/vehicles/{stock.vin}/sale", headers=rep_elsewhere.headers,
                       json={"customer_id": buyer.id}).status_code == 404
    assert client.post(f"/api/vehicles/{factory_car.vin}/sale", headers=rep.headers,
                       json={"customer_id": buyer.id}).status_code == 404
    assert client.post(f"/api/vehicles/{stock.vin}/sale", headers=advisor.headers,
                       json={"customer_id": buyer.id}).status_code == 404  # selling is not the workshop's work
    dated = client.post(f"/api/vehicles/{stock.vin}/sale", headers=rep.headers,
                        json={"customer_id": buyer.id, "sold_at": "2020-01-01T00:00:00+00:00"})
    assert dated.status_code == 422 and dated.json()["detail"][0]["loc"] == ["body", "sold_at"]
    before = now()
    sold = client.post(f"/api/vehicles/{stock.vin}/sale", headers=rep.headers, json={"customer_id": buyer.id})
    assert sold.status_code == 201, sold.text
    started = datetime.fromisoformat(sold.json()["started_at"])
    assert before <= started <= now() and sold.json()["acquisition"] == "dealer_sale"
    # sold once, it is nobody's stock any more
    again = make.customer()
    make.grant(again, dealer, "sales_contact")
    assert client.post(f"/api/vehicles/{stock.vin}/sale", headers=rep.headers,
                       json={"customer_id": again.id}).status_code == 404


# --- the previous and the new owner ----------------------------------------------------------------------

def test_the_previous_owner_no_longer_has_the_car(client, sale):
    headers = sale["seller_login"].headers
    assert client.get("/api/me/vehicles", headers=headers).json() == []
    past = client.get("/api/me/vehicles", params={"include_past": True}, headers=headers).json()
    assert [p["vehicle"]["vin"] for p in past] == [sale["vin"]]
    assert datetime.fromisoformat(past[0]["owned_until"]) == sale["sold_at"]


def test_the_previous_owner_sees_the_history_only_up_to_the_sale(client, sale):
    history = client.get(f"/api/me/vehicles/{sale['vin']}/service-history", headers=sale["seller_login"].headers)
    assert history.status_code == 200
    assert sorted(r["id"] for r in history.json()) == sorted(r.id for r in sale["before"])
    assert all(date.fromisoformat(r["performed_on"]) <= sale["sold_at"].date() for r in history.json())


def test_the_previous_owner_can_no_longer_choose_the_workshop_or_sell_it(client, sale):
    headers = sale["seller_login"].headers
    response = client.patch(f"/api/me/vehicles/{sale['vin']}", headers=headers,
                            json={"service_dealer_id": sale["selling_dealer"].id})
    assert response.status_code == 404
    assert client.post(f"/api/me/vehicles/{sale['vin']}/sale", headers=headers).status_code == 404


def test_the_new_owner_sees_the_car_and_its_whole_book(client, sale):
    headers = sale["buyer_login"].headers
    mine = client.get("/api/me/vehicles", headers=headers).json()
    assert [m["vehicle"]["vin"] for m in mine] == [sale["vin"]]
    assert datetime.fromisoformat(mine[0]["owned_since"]) == sale["sold_at"] and mine[0]["owned_until"] is None
    history = client.get(f"/api/me/vehicles/{sale['vin']}/service-history", headers=headers).json()
    assert sorted(r["id"] for r in history) == sorted(r.id for r in sale["before"] + sale["after"])
    assert sale["seller"].email not in str(history)


def test_the_service_records_name_the_owner_at_the_time(session, sale):
    assert {r.customer_id for r in sale["before"]} == {sale["seller"].id}
    assert {r.customer_id for r in sale["after"]} == {sale["buyer"].id}


def test_dealer_access_follows_the_current_owners_grants(make, client, session, sale):
    advisor, vin = sale["advisor"], sale["vin"]
    # the seller's grant to the workshop still stands, but the car is no longer the seller's data
    for path in (f"/api/vehicles/{vin}", f"/api/vehicles/{vin}/service-history", f"/api/vehicles/{vin}/ownership"):
        assert client.get(path, params={"purpose": "service_reminders"}, headers=advisor.headers).status_code == 404
    seller_cars = client.get(f"/api/customers/{sale['seller'].id}/vehicles", params={"purpose": "service_reminders"},
                             headers=advisor.headers)
    assert seller_cars.status_code == 200 and seller_cars.json() == []

    make.grant(sale["buyer"], sale["workshop"], "service_reminders")
    detail = client.get(f"/api/vehicles/{vin}", params={"purpose": "service_reminders"}, headers=advisor.headers)
    assert detail.status_code == 200 and detail.json()["vin"] == vin
    entry = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id.desc())).first()
    assert (entry.customer_id, entry.organization_id) == (sale["buyer"].id, sale["workshop"].id)
    # the chain of ownership is shown without naming the previous owner
    chain = client.get(f"/api/vehicles/{vin}/ownership", params={"purpose": "service_reminders"},
                       headers=advisor.headers).json()
    assert len(chain) == 2 and all("customer_id" not in link for link in chain)
    assert chain[0]["ended_at"] is not None and chain[1]["ended_at"] is None
    assert chain[1]["acquisition"] == "private_sale"


# --- a sale the owner starts ----------------------------------------------------------------------------

def test_a_private_sale_needs_the_owners_start_and_the_buyers_acceptance(make, client, session):
    seller, buyer, stranger = make.customer(), make.customer(), make.customer()
    car = make.vehicle(owner=seller, since=now() - timedelta(days=300))
    seller_login, buyer_login = make.customer_login(seller), make.customer_login(buyer)
    # nobody but the owner starts a sale of the car
    assert client.post(f"/api/me/vehicles/{car.vin}/sale", headers=buyer_login.headers).status_code == 404
    started = client.post(f"/api/me/vehicles/{car.vin}/sale", headers=seller_login.headers).json()
    assert len(started["code"].replace("-", "")) == 12
    stored = session.get(OwnershipTransfer, started["id"])
    assert started["code"] not in (stored.code_digest or "") and stored.status == "pending"
    # a wrong or mistyped code opens nothing, and the seller cannot buy their own car
    for code in ("0000-0000-0000", "not a code", started["code"][:-1]):
        refused = client.post("/api/me/purchases", headers=buyer_login.headers, json={"code": code})
        assert refused.status_code in (404, 422) and car.vin not in refused.text
    assert client.post("/api/me/purchases", headers=seller_login.headers,
                       json={"code": started["code"]}).status_code == 422
    assert vehicles_service.current_owner_id(session=session, vehicle_id=car.id) == seller.id
    # a new code replaces the old one; a cancelled sale opens nothing
    replaced = client.post(f"/api/me/vehicles/{car.vin}/sale", headers=seller_login.headers).json()
    assert client.post("/api/me/purchases", headers=buyer_login.headers,
                       json={"code": started["code"]}).status_code == 404
    assert [s["id"] for s in client.get("/api/me/sales", headers=seller_login.headers).json()] == [replaced["id"]]
    assert client.delete(f"/api/me/sales/{replaced['id']}",
                         headers=make.customer_login(stranger).headers).status_code == 404
    assert client.delete(f"/api/me/sales/{replaced['id']}", headers=seller_login.headers).status_code == 204
    assert client.post("/api/me/purchases", headers=buyer_login.headers,
                       json={"code": replaced["code"]}).status_code == 404
    # an expired code opens nothing
    stale = client.post(f"/api/me/vehicles/{car.vin}/sale", headers=seller_login.headers).json()
    assert session.get(OwnershipTransfer, stale["id"]).expires_at > now() + timedelta(days=transfers.SALE_DAYS - 1)
    session.get(OwnershipTransfer, stale["id"]).expires_at = now() - timedelta(minutes=1)
    session.commit()
    assert client.post("/api/me/purchases", headers=buyer_login.headers, json={"code": stale["code"]}).status_code == 404
    late = client.post(f"/api/me/vehicles/{car.vin}/sale", headers=seller_login.headers).json()
    # the real thing: the car is the buyer's from the server's moment of acceptance
    before = now()
    bought = client.post("/api/me/purchases", headers=buyer_login.headers, json={"code": late["code"].lower()})
    assert bought.status_code == 201, bought.text
    assert before <= datetime.fromisoformat(bought.json()["owned_since"]) <= now()
    session.expire_all()
    assert vehicles_service.current_owner_id(session=session, vehicle_id=car.id) == buyer.id
    assert session.get(OwnershipTransfer, late["id"]).kind == "private_sale"
    # the seller is told; a used code is spent
    told = session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == seller.id,
                                                       OutboxMessage.topic == "ownership")).all()
    assert {m.channel for m in told} == {"in_app", "email"} and "buyer accepted" in told[0].body
    assert client.post("/api/me/purchases", headers=make.customer_login(stranger).headers,
                       json={"code": late["code"]}).status_code == 404


def test_a_trade_in_puts_the_car_into_the_dealers_stock(make, client, session):
    dealer = make.dealer()
    rep, advisor = make.staff(dealer, Role.DEALER_SALES), make.staff(dealer, Role.DEALER_SERVICE)
    owner, next_buyer = make.customer(), make.customer()
    car = make.vehicle(owner=owner, since=now() - timedelta(days=900))
    make.grant(next_buyer, dealer, "sales_contact")
    owner_login = make.customer_login(owner)
    code = client.post(f"/api/me/vehicles/{car.vin}/sale", headers=owner_login.headers).json()["code"]
    assert client.post("/api/dealer/trade-ins", headers=advisor.headers, json={"code": code}).status_code == 404
    taken = client.post("/api/dealer/trade-ins", headers=rep.headers, json={"code": code})
    assert taken.status_code == 201, taken.text
    assert taken.json()["vin"] == car.vin and taken.json()["selling_dealer_id"] == dealer.id
    session.expire_all()
    assert vehicles_service.current_owner_id(session=session, vehicle_id=car.id) is None
    assert client.get("/api/me/vehicles", headers=owner_login.headers).json() == []
    # in the dealer's stock, the dealer sells it on
    resold = client.post(f"/api/vehicles/{car.vin}/sale", headers=rep.headers, json={"customer_id": next_buyer.id})
    assert resold.status_code == 201, resold.text
    assert vehicles_service.current_owner_id(session=session, vehicle_id=car.id) == next_buyer.id


# --- the carmaker's correction ----------------------------------------------------------------------------

def test_the_carmaker_corrects_an_owner_with_a_reason_in_the_audit_log(make, client, session):
    wrong, right = make.customer(), make.customer()
    car = make.vehicle(owner=wrong, since=now() - timedelta(days=400))
    make.service_record(car, make.dealer(), on=date.today() - timedelta(days=100))
    admin = admin_login(make)
    url = f"/api/admin/vehicles/{car.vin}/ownership"
    rep = make.staff(make.dealer(), Role.DEALER_SALES)
    assert client.post(url, headers=rep.headers, json={"customer_id": right.id,
                                                       "reason": "Registered to the wrong customer"}).status_code == 404
    audit_before = session.scalar(select(func.count(AuditEntry.id)))
    assert client.post(url, headers=admin.headers, json={"customer_id": right.id, "reason": "oops"}).status_code == 422
    for when, words in ((now() + timedelta(days=1), "future"), (now() - timedelta(days=101), "serviced on"),
                        (now() - timedelta(days=500), "current owner's purchase")):
        refused = client.post(url, headers=admin.headers, json={"customer_id": right.id, "effective_at":
                              when.isoformat(), "reason": "Registered to the wrong customer at import"})
        assert refused.status_code == 422 and words in refused.text, refused.text
        assert refused.json()["detail"][0]["loc"] == ["body", "effective_at"]
    assert client.post(url, headers=admin.headers, json={"customer_id": 999_999,
                                                         "reason": "Registered to the wrong customer"}).status_code == 422
    assert session.scalar(select(func.count(AuditEntry.id))) == audit_before
    effective = now() - timedelta(days=50)
    corrected = client.post(url, headers=admin.headers, json={
        "customer_id": right.id, "effective_at": effective.isoformat(),
        "reason": "Registered to the wrong customer at import"})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["acquisition"] == "correction"
    assert datetime.fromisoformat(corrected.json()["started_at"]) == effective
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.target) == ("ownership.correct", f"vehicle:{car.vin}")
    assert entry.details["reason"] == "Registered to the wrong customer at import"
    assert (entry.details["from_customer_id"], entry.details["to_customer_id"]) == (wrong.id, right.id)
    for person in (wrong, right):
        told = session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == person.id,
                                                           OutboxMessage.topic == "ownership")).all()
        assert told and all("wrong customer at import" in m.body for m in told), person.id
    # and back to nobody
    back = client.post(url, headers=admin.headers, json={"customer_id": None,
                                                         "reason": "The car was never delivered to anyone"})
    assert back.status_code == 200 and back.json() is None
    assert vehicles_service.current_owner_id(session=session, vehicle_id=car.id) is None
    # nobody owns it now, but its history still bounds the next change
    again = client.post(url, headers=admin.headers, json={"customer_id": wrong.id, "effective_at": (
        now() - timedelta(days=10)).isoformat(), "reason": "Delivered after all, ten days ago"})
    assert again.status_code == 422 and "last changed hands" in again.text


def test_a_change_of_owner_stays_inside_the_cars_history(make, session):
    first, second = make.customer(), make.customer()
    car = make.vehicle(owner=first, since=now() - timedelta(days=300), production_date=date.today() - timedelta(days=400))
    make.service_record(car, make.dealer(), on=date.today() - timedelta(days=20))
    for at, words in ((now() + timedelta(minutes=5), "future"), (now() - timedelta(days=301), "purchase"),
                      (now() - timedelta(days=21), "serviced on")):
        with pytest.raises(Invalid, match=words):
            vehicles_service.transfer(session=session, vehicle_id=car.id, customer_id=second.id, at=at)
    unowned = make.vehicle(production_date=date.today() - timedelta(days=10))
    with pytest.raises(Invalid, match="built on"):
        vehicles_service.transfer(session=session, vehicle_id=unowned.id, customer_id=second.id,
                                  at=now() - timedelta(days=11))
    assert vehicles_service.transfer(session=session, vehicle_id=car.id, customer_id=second.id).customer_id == second.id


def test_many_cars_facts_and_first_owners_are_read_in_one_go(make, session):
    """What health needs of a fleet: each car's propulsion and dates, and when it was first owned
    (a sold car's first owner counts, an unsold car has none)."""
    first, second = make.customer(), make.customer()
    sold = make.vehicle(owner=first, since=now() - timedelta(days=800))
    vehicles_service.transfer(session=session, vehicle_id=sold.id, customer_id=second.id,
                              at=now() - timedelta(days=100))
    unsold = make.vehicle(production_date=date(2025, 3, 1))
    facts = vehicles_service.service_facts(session=session, vehicle_ids=[sold.id, unsold.id, 999_999])
    assert set(facts) == {sold.id, unsold.id}
    assert facts[unsold.id].propulsion == unsold.propulsion == "electric"
    assert facts[unsold.id].production_date == date(2025, 3, 1) and facts[sold.id].production_date is None
    assert facts[sold.id].created_at == sold.created_at
    owned = vehicles_service.first_owned(session=session, vehicle_ids=[sold.id, unsold.id])
    assert set(owned) == {sold.id}
    assert abs(owned[sold.id] - (now() - timedelta(days=800))) < timedelta(minutes=1)
