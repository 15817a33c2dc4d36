"""A sale: the previous owner keeps the book up to the sale; the new owner and their grants take over."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.vehicles import service as vehicles_service


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
    # the seller allowed the workshop to see their cars' history; the buyer allowed the dealer to sell
    make.grant(seller, workshop, "service_reminders")
    make.grant(buyer, selling_dealer, "sales_contact")
    vin = car.vin
    assert client.get(f"/api/vehicles/{vin}", headers=advisor.headers).status_code == 200

    sold_on = date.today() - timedelta(days=60)
    sold_at = datetime.combine(sold_on, time(15, 0), tzinfo=UTC)
    response = client.post(f"/api/vehicles/{vin}/sale", headers=rep.headers,
                           json={"customer_id": buyer.id, "sold_at": sold_at.isoformat()})
    assert response.status_code == 201, response.text
    after_sale = [make.service_record(car, workshop, on=date.today() - timedelta(days=d), odometer_km=km)
                  for d, km in ((59, 41000), (5, 47000))]
    session.commit()
    return dict(car=car, vin=vin, seller=seller, buyer=buyer, rep=rep, advisor=advisor, workshop=workshop,
                selling_dealer=selling_dealer, sold_at=sold_at, before=before_sale, after=after_sale,
                seller_login=make.customer_login(seller), buyer_login=make.customer_login(buyer))


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


def test_the_previous_owner_can_no_longer_choose_the_workshop(client, sale):
    response = client.patch(f"/api/me/vehicles/{sale['vin']}", headers=sale["seller_login"].headers,
                            json={"service_dealer_id": sale["selling_dealer"].id})
    assert response.status_code == 404


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


def test_a_sale_needs_the_buyers_consent_and_a_sensible_date(make, client, sale):
    rep, vin = sale["rep"], sale["vin"]
    stranger = make.customer()
    refused = client.post(f"/api/vehicles/{vin}/sale", headers=rep.headers, json={"customer_id": stranger.id})
    assert refused.status_code == 404
    to_owner = client.post(f"/api/vehicles/{vin}/sale", headers=rep.headers, json={"customer_id": sale["buyer"].id})
    assert to_owner.status_code == 409
    make.grant(sale["seller"], sale["selling_dealer"], "sales_contact")
    backdated = client.post(f"/api/vehicles/{vin}/sale", headers=rep.headers,
                            json={"customer_id": sale["seller"].id,
                                  "sold_at": (sale["sold_at"] - timedelta(days=1)).isoformat()})
    assert backdated.status_code == 422
    # buying it back is a new ownership: the seller has the car again, the buyer keeps their period
    back = client.post(f"/api/vehicles/{vin}/sale", headers=rep.headers, json={"customer_id": sale["seller"].id})
    assert back.status_code == 201
    assert [v["vehicle"]["vin"] for v in client.get("/api/me/vehicles", headers=sale["seller_login"].headers).json()] == [vin]
    assert client.get("/api/me/vehicles", headers=sale["buyer_login"].headers).json() == []


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
