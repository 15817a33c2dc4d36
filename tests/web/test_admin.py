"""Carmaker administration pages: organizations, staff users, and the audit trail they leave."""

from __future__ import annotations

import pytest

from forecourt.core.auth import Role
from forecourt.parties import service as parties_service
from tests.factories import submit_login


@pytest.fixture
def admin(make, visit):
    login = make.staff(make.carmaker(), Role.CARMAKER_ADMIN)
    visitor = visit(login.email)
    visitor.user_id = login.user_id
    return visitor


def _audit(session, action: str, target: str | None = None):
    return [e for e in parties_service.list_audit(session=session)
            if e.action == action and (target is None or e.target == target)]


def test_organizations_page_lists_by_kind_with_dealer_markers(make, admin):
    dealer = make.dealer(name="Autohaus Karte", latitude=53.55, longitude=9.99)
    insurer = make.partner(name="Fair Insurance")
    page = admin.get("/admin/organizations")
    assert page.status_code == 200
    assert "Autohaus Karte" in page.text and "Fair Insurance" in page.text
    assert f'data-lat="53.55" data-lon="9.99" data-name="Autohaus Karte" data-href="/admin/organizations/{dealer.id}"' \
        in page.text
    assert 'id="dealer-map"' in page.text and "/static/vendor/leaflet/leaflet.js" in page.text
    assert f'href="/admin/organizations/{insurer.id}"' in page.text


def test_creating_an_organization_is_audited(admin, session):
    response = admin.post("/admin/organizations", {
        "kind": "dealer", "code": "dlr-kiel-01", "name": "Autohaus Kiel", "city": "Kiel", "country": "de",
        "latitude": "54.32", "longitude": "10.13", "service_bays": "6"})
    assert response.status_code == 303
    organization = parties_service.get_organization_by_code(session=session, code="DLR-KIEL-01")
    assert (organization.name, organization.latitude, organization.service_bays) == ("Autohaus Kiel", 54.32, 6)
    assert response.headers["location"].startswith(f"/admin/organizations/{organization.id}")
    entries = _audit(session, "organization.create", f"organization:{organization.id}")
    assert [e.actor_user_id for e in entries] == [admin.user_id]


def test_organization_form_errors_are_per_field(make, admin, session):
    make.dealer(code="DLR-TAKEN")
    partner = admin.post("/admin/organizations", {"kind": "partner", "code": "PRT-1", "name": "No Kind"})
    assert partner.status_code == 422 and "A partner needs a partner kind" in partner.text
    taken = admin.post("/admin/organizations", {"kind": "dealer", "code": "DLR-TAKEN", "name": "Again"})
    assert taken.status_code == 422 and "already exists" in taken.text
    bad = admin.post("/admin/organizations", {"kind": "dealer", "code": "has space", "name": "X",
                                              "latitude": "123"})
    assert bad.status_code == 422
    assert "Use capital letters, digits and dashes" in bad.text and "A latitude between -90 and 90." in bad.text
    assert [e.details["code"] for e in _audit(session, "organization.create")
            if e.details.get("code") in ("PRT-1", "DLR-TAKEN", "HAS SPACE")] == []


def test_editing_an_organization_saves_hours_and_is_audited(make, admin, session):
    dealer = make.dealer(name="Autohaus Alt")
    form = admin.get(f"/admin/organizations/{dealer.id}")
    assert form.status_code == 200 and 'value="08:00–18:00"' in form.text
    response = admin.post(f"/admin/organizations/{dealer.id}", {
        "name": "Autohaus Neu", "city": "Berlin", "latitude": "52.52", "longitude": "13.40", "service_bays": "4",
        "is_active": "yes", "hours_mon": "08:00-12:00, 13:00–18:00", "hours_sat": "09:00-13:00"})
    assert response.status_code == 303
    session.expire_all()
    organization = parties_service.get_organization(session=session, organization_id=dealer.id)
    assert organization.name == "Autohaus Neu"
    assert organization.opening_hours["mon"] == [["08:00", "12:00"], ["13:00", "18:00"]]
    assert organization.opening_hours["sun"] == []
    [entry] = _audit(session, "organization.update", f"organization:{dealer.id}")
    assert "name" in entry.details["fields"] and entry.actor_user_id == admin.user_id


def test_editing_refuses_bad_hours_and_can_deactivate(make, admin, session):
    dealer = make.dealer()
    bad = admin.post(f"/admin/organizations/{dealer.id}", {"name": dealer.name, "hours_tue": "8 to 6"})
    assert bad.status_code == 422 and "Write Tuesday&#39;s hours as 08:00–18:00" in bad.text
    backwards = admin.post(f"/admin/organizations/{dealer.id}", {"name": dealer.name, "hours_tue": "18:00-08:00"})
    assert backwards.status_code == 422 and "opens first" in backwards.text
    off = admin.post(f"/admin/organizations/{dealer.id}", {"name": dealer.name})  # no is_active box ticked
    assert off.status_code == 303
    session.expire_all()
    assert parties_service.get_organization(session=session, organization_id=dealer.id).is_active is False


def test_creating_a_staff_user_is_audited(make, admin, session):
    dealer = make.dealer(name="Autohaus Personal")
    page = admin.get("/admin/users")
    assert 'data-kind="dealer"' in page.text and "/static/js/staff-roles.js" in page.text
    response = admin.post("/admin/users", {"display_name": "Sam Sales", "email": "sam@autohaus-kiel.de",
                                           "password": "long-enough-pw", "organization_id": str(dealer.id),
                                           "role": "dealer_sales"})
    assert response.status_code == 303
    user = parties_service.list_users(session=session, q="sam@autohaus-kiel.de")[0]
    assert (user.role, user.organization_id) == ("dealer_sales", dealer.id)
    [entry] = _audit(session, "user.create", f"user:{user.id}")
    assert entry.details == {"role": "dealer_sales", "organization_id": dealer.id}
    assert "Sam Sales" in admin.get("/admin/users").text


def test_a_role_must_exist_at_the_organization(make, admin, session):
    dealer = make.dealer()
    response = admin.post("/admin/users", {"display_name": "Wrong Role", "email": "wrong@autohaus-kiel.de",
                                           "password": "long-enough-pw", "organization_id": str(dealer.id),
                                           "role": "partner_analyst"})
    assert response.status_code == 422
    assert "does not exist at a dealer" in response.text
    short = admin.post("/admin/users", {"display_name": "Short", "email": "short@autohaus-kiel.de", "password": "x",
                                        "organization_id": str(dealer.id), "role": "dealer_sales"})
    assert short.status_code == 422 and "Use at least 10 characters." in short.text
    assert parties_service.list_users(session=session, q="@autohaus-kiel.de", organization_id=dealer.id) == []


def test_deactivating_and_activating_a_user(make, admin, visit, session):
    rep = make.staff(make.dealer())
    admin.get("/admin/users")
    assert admin.post(f"/admin/users/{rep.user_id}/active", {"active": "no"}).status_code == 303
    session.expire_all()
    assert parties_service.get_user(session=session, user_id=rep.user_id).is_active is False
    assert [e.details for e in _audit(session, "user.update", f"user:{rep.user_id}")] == [
        {"fields": ["is_active"], "is_active": False, "changes": {"is_active": [True, False]}}]
    locked_out = submit_login(visit(None).client, rep.email, "correct-horse-battery", follow_redirects=False)
    assert locked_out.status_code == 400
    assert admin.post(f"/admin/users/{rep.user_id}/active", {"active": "yes"}).status_code == 303
    session.expire_all()
    assert parties_service.get_user(session=session, user_id=rep.user_id).is_active is True


def test_an_admin_cannot_lock_themselves_out(admin, session):
    response = admin.post(f"/admin/users/{admin.user_id}/active", {"active": "no"})
    assert "cannot+deactivate+your+own" in response.headers["location"]
    assert parties_service.get_user(session=session, user_id=admin.user_id).is_active is True


def test_audit_page_lists_changes_with_who_made_them(make, admin):
    admin.post("/admin/organizations", {"kind": "partner", "partner_kind": "finance", "code": "FIN-AUDIT",
                                        "name": "Audit Finance"})
    page = admin.get("/admin/audit")
    assert page.status_code == 200
    assert "organization.create" in page.text and "FIN-AUDIT" in page.text
    assert "Staff staff" in page.text  # the factory's display name for the acting admin


def test_admin_forms_need_the_csrf_token(make, admin):
    assert admin.post("/admin/organizations", {"kind": "dealer", "code": "NO-CSRF", "name": "No"},
                      csrf=False).status_code == 403
    assert admin.post(f"/admin/users/{admin.user_id}/active", {"active": "yes"}, csrf=False).status_code == 403


def test_admin_pages_do_not_exist_for_other_staff_or_customers(make, visit):
    dealer = make.dealer()
    rep = visit(make.staff(dealer).email)
    me = visit(make.customer().email)
    for url in ("/admin/organizations", f"/admin/organizations/{dealer.id}", "/admin/users", "/admin/audit"):
        assert rep.get(url).status_code == 404, url
        assert me.get(url).status_code == 404, url
