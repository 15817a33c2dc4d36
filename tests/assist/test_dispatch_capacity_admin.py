"""How many cases a roadside or emergency partner takes at once is set by the carmaker's administrator,
on the organization's page or through the API; it is audited with what it was and became, and nobody
else may change it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forecourt.core.auth import Role
from forecourt.parties.models import AuditEntry, Organization
from tests.factories import admin_login, browser_for, csrf_token_of


def _audit(session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_the_admin_sets_and_clears_a_providers_capacity_through_the_api(make, client, session):
    admin = admin_login(make)
    tow = make.partner("roadside", name="Abschlepp Nord")
    url = f"/api/admin/organizations/{tow.id}"
    done = client.patch(url, headers=admin.headers, json={"dispatch_capacity": 4})
    assert done.status_code == 200 and done.json()["dispatch_capacity"] == 4
    session.expire_all()
    assert session.get(Organization, tow.id).dispatch_capacity == 4
    cleared = client.patch(url, headers=admin.headers, json={"dispatch_capacity": None})
    assert cleared.status_code == 200 and cleared.json()["dispatch_capacity"] is None
    rows = _audit(session)
    assert [(r.action, r.details["changes"]) for r in rows] == [
        ("organization.update", {"dispatch_capacity": [None, 4]}),
        ("organization.update", {"dispatch_capacity": [4, None]})]
    for bad in (0, 501, "many"):
        assert client.patch(url, headers=admin.headers, json={"dispatch_capacity": bad}).status_code == 422
    dealer = make.dealer()
    refused = client.patch(f"/api/admin/organizations/{dealer.id}", headers=admin.headers,
                           json={"dispatch_capacity": 3})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "dispatch_capacity"
    created = client.post("/api/admin/organizations", headers=admin.headers, json={
        "kind": "partner", "partner_kind": "emergency", "code": "EMS-CAP", "name": "Rettung Süd",
        "dispatch_capacity": 12})
    assert created.status_code == 201 and created.json()["dispatch_capacity"] == 12
    assert len(_audit(session)) == 3  # the refused changes wrote nothing


@pytest.mark.parametrize("role", [Role.CALL_CENTRE_AGENT, Role.DEALER_SERVICE, Role.PARTNER_ANALYST, Role.CUSTOMER])
def test_nobody_else_may_change_it(make, client, session, role):
    tow = make.partner("roadside", name="Abschlepp Ost", dispatch_capacity=2)
    if role is Role.CUSTOMER:
        caller = make.customer_login(make.customer())
    elif role is Role.CALL_CENTRE_AGENT:
        caller = make.staff(make.carmaker(), role)
    elif role is Role.PARTNER_ANALYST:
        caller = make.staff(tow, role)  # not even the provider's own staff
    else:
        caller = make.staff(make.dealer(), role)
    refused = client.patch(f"/api/admin/organizations/{tow.id}", headers=caller.headers,
                           json={"dispatch_capacity": 50})
    assert refused.status_code == 404
    if role is not Role.CUSTOMER:
        browser = browser_for(make, caller)
        page = browser.post(f"/admin/organizations/{tow.id}", follow_redirects=False,
                            data={"csrf_token": csrf_token_of(session, browser), "name": "Abschlepp Ost",
                                  "dispatch_capacity": "50"})
        assert page.status_code in (303, 403, 404)
        assert "/admin/organizations" not in page.headers.get("location", "")
    session.expire_all()
    assert session.get(Organization, tow.id).dispatch_capacity == 2
    assert _audit(session) == []


def test_the_organization_page_has_the_capacity_for_providers_only(make, session):
    admin = admin_login(make)
    tow = make.partner("roadside", name="Abschlepp West", service_bays=0)
    browser = browser_for(make, admin)
    page = browser.get(f"/admin/organizations/{tow.id}")
    assert page.status_code == 200 and 'name="dispatch_capacity"' in page.text
    assert 'name="dispatch_capacity"' not in browser.get(f"/admin/organizations/{make.dealer().id}").text
    form = {"csrf_token": csrf_token_of(session, browser), "name": "Abschlepp West", "service_bays": "0",
            "city": "Berlin", "latitude": "52.52", "longitude": "13.4", "is_active": "yes", "dispatch_capacity": "0"}
    bad = browser.post(f"/admin/organizations/{tow.id}", data=form)
    assert bad.status_code == 422 and "from 1 to 500" in bad.text
    saved = browser.post(f"/admin/organizations/{tow.id}", data=form | {"dispatch_capacity": "5"},
                         follow_redirects=False)
    assert saved.status_code == 303
    session.expire_all()
    assert session.get(Organization, tow.id).dispatch_capacity == 5
    (row,) = _audit(session)
    assert row.details["changes"] == {"dispatch_capacity": [None, 5]}
    log = browser.get("/admin/audit").text
    assert "Cases at once" in log and "<ins>5</ins>" in log
    browser.post(f"/admin/organizations/{tow.id}", data=form | {"dispatch_capacity": ""})
    session.expire_all()
    assert session.get(Organization, tow.id).dispatch_capacity is None
