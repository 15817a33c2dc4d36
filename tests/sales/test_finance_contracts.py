"""Finance contracts: a finance partner records one for a car whose owner granted it its purpose, nobody
else sees it, and its end opens a ``finance_ends`` occasion once; export and erasure carry it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from forecourt.core.auth import Role
from forecourt.core.clock import today
from forecourt.engagement import occasions
from forecourt.engagement.models import Occasion
from forecourt.privacy import rights
from forecourt.sales.models import FinanceContract


@pytest.fixture
def lender(make):
    """A finance partner's analyst, a driver who granted it marketing offers, and the driver's car."""
    partner = make.partner("finance")
    driver = make.customer()
    car = make.vehicle(owner=driver, dealer=make.dealer())
    make.grant(driver, partner, "marketing_offers")
    return dict(partner=partner, analyst=make.staff(partner, Role.PARTNER_ANALYST), driver=driver, car=car)


def body(car, **values) -> dict:
    ends = today() + timedelta(days=60)
    return {"vin": car.vin, "product": "loan", "reference": "AF-1001", "starts_on": (ends - timedelta(days=1460))
            .isoformat(), "ends_on": ends.isoformat(), "monthly_amount": "412.50", "currency": "EUR"} | values


def _contracts(session, customer_id) -> list[FinanceContract]:
    session.expire_all()
    return list(session.scalars(select(FinanceContract).where(FinanceContract.customer_id == customer_id)))


def test_the_partner_records_and_reads_its_contract_and_its_end_opens_an_occasion_once(client, session, lender):
    response = client.post("/api/finance/contracts", headers=lender["analyst"].headers, json=body(lender["car"]))
    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["vin"], out["product"], out["currency"], out["customer_id"]) == (
        lender["car"].vin, "loan", "EUR", lender["driver"].id)
    listed = client.get("/api/finance/contracts", headers=lender["analyst"].headers).json()
    assert [c["id"] for c in listed] == [out["id"]]
    assert client.get(f"/api/finance/contracts/{out['id']}", headers=lender["analyst"].headers).status_code == 200
    # ends in 60 days: inside the 90-day window, so the event opened the occasion at once
    session.expire_all()
    [occasion] = session.scalars(select(Occasion).where(Occasion.vehicle_id == lender["car"].id,
                                                        Occasion.kind == "finance_ends"))
    ends = date.fromisoformat(out["ends_on"])
    assert (occasion.customer_id, occasion.window_starts_on, occasion.window_ends_on) == (
        lender["driver"].id, ends - timedelta(days=90), ends)
    assert "finance_ends" not in occasions.detect(session=session, today=today(), vehicle_ids=[lender["car"].id])
    assert "finance_ends" not in occasions.detect(session=session, today=today() + timedelta(days=5),
                                                  vehicle_ids=[lender["car"].id])


def test_a_contract_far_from_its_end_is_found_by_the_daily_job_when_its_window_opens(client, session, lender):
    ends = today() + timedelta(days=200)
    response = client.post("/api/finance/contracts", headers=lender["analyst"].headers,
                           json=body(lender["car"], ends_on=ends.isoformat()))
    assert response.status_code == 201, response.text
    car = lender["car"].id
    assert occasions.detect(session=session, today=today(), vehicle_ids=[car]).get("finance_ends") is None
    assert occasions.detect(session=session, today=ends - timedelta(days=91), vehicle_ids=[car]).get(
        "finance_ends") is None
    assert occasions.detect(session=session, today=ends - timedelta(days=90), vehicle_ids=[car]) == {
        "finance_ends": 1}
    assert occasions.detect(session=session, today=ends - timedelta(days=30), vehicle_ids=[car]) == {}
    # an ended contract opens nothing
    assert "finance_ends" not in occasions.detect(session=session, today=ends + timedelta(days=1),
                                                  vehicle_ids=[car])


def test_other_partners_dealers_and_drivers_without_the_grant_find_nothing(client, session, make, lender):
    created = client.post("/api/finance/contracts", headers=lender["analyst"].headers, json=body(lender["car"]))
    assert created.status_code == 201
    contract_id = created.json()["id"]
    rival = make.staff(make.partner("finance"), Role.PARTNER_ANALYST)
    dealer = make.dealer()
    dealer_sales = make.staff(dealer, Role.DEALER_SALES)
    make.grant(lender["driver"], dealer, "marketing_offers")  # a dealer holding the same purpose is no lender
    insurer = make.partner("insurance")
    make.grant(lender["driver"], insurer, "marketing_offers")
    for login in (rival, dealer_sales, make.staff(insurer, Role.PARTNER_ANALYST)):
        assert client.post("/api/finance/contracts", headers=login.headers,
                           json=body(lender["car"])).status_code == 404
        assert client.get(f"/api/finance/contracts/{contract_id}", headers=login.headers).status_code == 404
    assert client.get("/api/finance/contracts", headers=rival.headers).json() == []
    # a car whose owner never granted this partner anything, and a VIN nobody knows
    stranger_car = make.vehicle(owner=make.customer(), dealer=dealer)
    assert client.post("/api/finance/contracts", headers=lender["analyst"].headers,
                       json=body(stranger_car)).status_code == 404
    assert client.post("/api/finance/contracts", headers=lender["analyst"].headers,
                       json=body(lender["car"], vin="WF0XXXGCDX1234567")).status_code == 404
    driver = make.customer_login(lender["driver"])
    assert client.post("/api/finance/contracts", headers=driver.headers,
                       json=body(lender["car"])).status_code in (403, 404)
    assert len(_contracts(session, lender["driver"].id)) == 1


@pytest.mark.parametrize("change, field", [
    ({"owner_id": 1}, "owner_id"),
    ({"ends_on": "2020-01-01", "starts_on": "2021-01-01"}, "ends_on"),
    ({"ends_on": "2027-02-30"}, "ends_on"),
    ({"starts_on": "2020-01-01", "ends_on": "2040-01-01"}, "ends_on"),
    ({"monthly_amount": "0"}, "monthly_amount"),
    ({"currency": "XYZ"}, "currency"),
    ({"product": "gift"}, "product"),
])
def test_bad_input_is_refused_with_the_field_named_and_nothing_recorded(client, session, lender, change, field):
    response = client.post("/api/finance/contracts", headers=lender["analyst"].headers,
                           json=body(lender["car"], **change))
    assert response.status_code == 422, response.text
    assert field in response.text
    assert _contracts(session, lender["driver"].id) == []


def test_export_carries_the_contract_and_erasure_removes_it(client, session, lender):
    client.post("/api/finance/contracts", headers=lender["analyst"].headers, json=body(lender["car"]))
    document = rights.export(session=session, customer_id=lender["driver"].id)
    [row] = document["finance_contracts"]
    assert (row["vehicle_id"], row["product"], row["organization_id"]) == (
        lender["car"].id, "loan", lender["partner"].id)
    report = rights.erase(session=session, customer_id=lender["driver"].id)
    assert report["removed"]["sales_finance_contracts"] == 1
    assert _contracts(session, lender["driver"].id) == []
    assert session.scalars(select(FinanceContract)).all() == []
