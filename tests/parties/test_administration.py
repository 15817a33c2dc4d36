"""Carmaker administration: every change is audited; nobody but a carmaker admin reaches it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forecourt.core.auth import Role
from forecourt.parties.models import AuditEntry, Organization
from tests.factories import PASSWORD, admin_login, browser_for, csrf_token_of


def audit_rows(session) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_admin_api_changes_write_audit_rows(make, client, session):
    admin = admin_login(make)
    created = client.post("/api/admin/organizations", headers=admin.headers, json={
        "kind": "partner", "partner_kind": "roadside", "code": "RSA-01", "name": "Roadside Assist"})
    assert created.status_code == 201
    org_id = created.json()["id"]
    assert client.patch(f"/api/admin/organizations/{org_id}", headers=admin.headers,
                        json={"city": "Hannover", "phone": "+49 511 1234567"}).status_code == 200
    dealer = make.dealer()
    user = client.post("/api/admin/users", headers=admin.headers, json={
        "email": "advisor.one@forecourt.example", "display_name": "Advisor One", "password": PASSWORD,
        "role": "dealer_service", "organization_id": dealer.id})
    assert user.status_code == 201
    user_id = user.json()["id"]
    assert client.patch(f"/api/admin/users/{user_id}", headers=admin.headers,
                        json={"is_active": False, "password": "another-long-password"}).status_code == 200

    rows = audit_rows(session)
    assert [(r.actor_user_id, r.action, r.target) for r in rows] == [
        (admin.user_id, "organization.create", f"organization:{org_id}"),
        (admin.user_id, "organization.update", f"organization:{org_id}"),
        (admin.user_id, "user.create", f"user:{user_id}"),
        (admin.user_id, "user.update", f"user:{user_id}"),
    ]
    assert rows[0].details == {"code": "RSA-01"}
    assert rows[1].details == {"fields": ["city", "phone"],
                               "changes": {"city": [None, "Hannover"], "phone": [None, "+495111234567"]}}
    assert rows[2].details == {"role": "dealer_service", "organization_id": dealer.id}
    # the password is named as changed, never its value, old or new
    assert rows[3].details == {"fields": ["is_active", "password"], "changes": {"is_active": [True, False]}}
    assert "another-long-password" not in str([r.details for r in rows])
    assert all(r.at is not None for r in rows)

    listed = client.get("/api/admin/audit", headers=admin.headers).json()
    assert [e["action"] for e in listed] == ["user.update", "user.create", "organization.update",
                                             "organization.create"]


def test_the_audit_page_names_people_and_organizations_and_shows_each_change(make, client, session):
    admin = admin_login(make)
    dealer = make.dealer()
    assert client.patch(f"/api/admin/organizations/{dealer.id}", headers=admin.headers,
                        json={"city": "Lüneburg"}).status_code == 200
    staff = make.staff(dealer)
    browser = browser_for(make, admin)
    assert browser.post(f"/admin/users/{staff.user_id}/active", follow_redirects=False,
                        data={"active": "no", "csrf_token": csrf_token_of(session, browser)}).status_code == 303
    page = browser.get("/admin/audit")
    assert page.status_code == 200
    html = page.text
    rows = html.split('<tr data-action="')[1:]
    assert rows[0].startswith("user.update") and rows[1].startswith("organization.update")
    assert "Staff login changed" in rows[0] and "Active: <del>yes</del> → <ins>no</ins>" in rows[0]
    assert f'<a href="/admin/organizations/{dealer.id}">{dealer.name}</a>' in rows[1]
    assert "Organization changed" in rows[1] and "→ <ins>Lüneburg</ins>" in rows[1]
    assert f"organization:{dealer.id}" not in html and f"user:{staff.user_id}" not in html


def test_a_refused_admin_change_writes_no_audit_row(make, client, session):
    admin = admin_login(make)
    response = client.post("/api/admin/organizations", headers=admin.headers,
                           json={"kind": "partner", "code": "P-1", "name": "No Kind"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "partner_kind"]
    duplicate = client.post("/api/admin/organizations", headers=admin.headers,
                            json={"kind": "dealer", "code": make.dealer().code, "name": "Clash"})
    assert duplicate.status_code == 409
    assert audit_rows(session) == []


def test_admin_pages_audit_too(make, session):
    admin = admin_login(make)
    staff = make.staff(make.dealer())
    browser = browser_for(make, admin)
    response = browser.post(f"/admin/users/{staff.user_id}/active",
                            data={"active": "no", "csrf_token": csrf_token_of(session, browser)},
                            follow_redirects=False)
    assert response.status_code == 303
    (row,) = audit_rows(session)
    assert (row.actor_user_id, row.action, row.target) == (admin.user_id, "user.update", f"user:{staff.user_id}")


def _admin_operations(app) -> list[tuple[str, str]]:
    return sorted((method.upper(), path) for path, item in app.openapi()["paths"].items()
                  for method in item if path.startswith("/api/admin/"))


@pytest.mark.parametrize("role", [Role.DEALER_SALES, Role.DEALER_SERVICE, Role.DEALER_CASHIER, Role.PARTNER_ANALYST,
                                  Role.CALL_CENTRE_AGENT, Role.CUSTOMER])
def test_nobody_but_a_carmaker_admin_reaches_the_admin_api(app, make, client, session, role):
    if role is Role.CUSTOMER:
        caller = make.customer_login(make.customer())
    elif role is Role.PARTNER_ANALYST:
        caller = make.staff(make.partner("finance"), role)
    elif role is Role.CALL_CENTRE_AGENT:
        caller = make.staff(make.carmaker(), role)
    else:
        caller = make.staff(make.dealer(), role)
    dealer = make.dealer()
    operations = _admin_operations(app)
    assert len(operations) >= 7
    for method, path in operations:
        url = path.format(organization_id=dealer.id, user_id=caller.user_id, vin=make.vin(), code="RC-1",
                          model_code="LUMO", dealer_id=dealer.id, month="2025-06", rule_id=1, reference="PAY-0000-0000",
                          entry_id=1, event_id=1, message_id=1, run_id=1)
        body = {} if method in ("POST", "PATCH") else None
        response = client.request(method, url, headers=caller.headers, json=body)
        assert response.status_code == 404, (role, method, path, response.status_code)
        assert client.request(method, url, json=body).status_code == 401
    session.expire_all()
    assert session.get(Organization, dealer.id).name == dealer.name
    assert audit_rows(session) == []
