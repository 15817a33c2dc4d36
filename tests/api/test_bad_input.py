"""Bad input: unknown fields are refused (no mass assignment), duplicates are 409, errors name the field."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forecourt.core.auth import Role
from forecourt.customers.models import Customer
from forecourt.parties.models import AuditEntry, Organization, User
from tests.factories import PASSWORD, admin_login


def extra_field_error(response, *path: str) -> dict:
    assert response.status_code == 422, response.text
    errors = [e for e in response.json()["detail"] if e["loc"] == ["body", *path]]
    assert errors, f"no error at body.{'.'.join(path)}: {response.json()}"
    assert errors[0]["type"] == "extra_forbidden"
    return errors[0]


def users_count(session) -> int:
    return session.scalar(select(func.count(User.id)))


SIGNUP = {"email": "new.driver@forecourt.example", "first_name": "New", "last_name": "Driver"}


@pytest.mark.parametrize(("field", "value"), [
    ("role", "carmaker_admin"), ("organization_id", 1), ("customer_id", 1), ("is_active", True),
    ("password_hash", "$argon2id$forged"), ("erased_at", None), ("id", 5), ("password", PASSWORD),
])
def test_signup_refuses_fields_it_does_not_know(client, session, field, value):
    before = users_count(session)
    response = client.post("/api/auth/signup", json=SIGNUP | {field: value})
    extra_field_error(response, field)
    assert users_count(session) == before
    assert session.scalar(select(func.count(Customer.id)).where(Customer.email == SIGNUP["email"])) == 0


def test_signup_makes_a_customer_and_nothing_more(client, session):
    response = client.post("/api/auth/signup", json=SIGNUP)
    assert response.status_code == 202
    customer = session.scalars(select(Customer).where(Customer.email == SIGNUP["email"])).one()
    assert (customer.first_name, customer.last_name) == ("New", "Driver")
    assert session.scalar(select(func.count(User.id)).where(User.email == SIGNUP["email"])) == 0, (
        "the login waits for the link sent to the address")


@pytest.mark.parametrize(("field", "value"), [
    ("email", "taken.over@forecourt.example"), ("customer_id", 1), ("id", 1), ("erased_at", "2026-01-01T00:00:00Z"),
    ("role", "carmaker_admin"), ("organization_id", 1),
])
def test_profile_patch_refuses_fields_it_does_not_know(make, client, field, value):
    customer = make.customer()
    me = make.customer_login(customer)
    before = client.get("/api/me", headers=me.headers).json()
    extra_field_error(client.patch("/api/me", headers=me.headers, json={"city": "Bonn", field: value}), field)
    assert client.get("/api/me", headers=me.headers).json() == before


def test_preferences_and_consent_bodies_refuse_unknown_fields(make, client):
    customer, other = make.customer(), make.customer()
    dealer = make.dealer()
    me = make.customer_login(customer)
    extra_field_error(client.patch("/api/me/preferences", headers=me.headers,
                                   json={"radio_presets": ["x"], "customer_id": other.id}), "customer_id")
    extra_field_error(client.patch("/api/me/preferences", headers=me.headers,
                                   json={"seat_position": {"height": 1, "distance": 2, "recline": 3, "heated": True}}),
                      "seat_position", "heated")  # nested models refuse unknown keys too
    extra_field_error(client.put(f"/api/me/consents/{dealer.id}/sales_contact", headers=me.headers,
                                 json={"customer_id": other.id}), "customer_id")
    assert client.get("/api/me/consent-receipts", headers=me.headers).json() == []


def test_profile_patch_with_known_fields_changes_only_those(make, client):
    customer = make.customer()
    me = make.customer_login(customer)
    response = client.patch("/api/me", headers=me.headers, json={"city": "Bonn", "country": "DE"})
    assert response.status_code == 200
    body = response.json()
    assert (body["city"], body["country"], body["email"], body["id"]) == ("Bonn", "DE", customer.email, customer.id)


@pytest.fixture
def admin(make):
    return admin_login(make)


@pytest.mark.parametrize(("field", "value"), [("customer_id", 1), ("is_active", False), ("id", 7),
                                               ("password_hash", "x")])
def test_admin_user_create_refuses_unknown_fields(make, client, session, admin, field, value):
    dealer = make.dealer()
    before = users_count(session)
    body = {"email": "advisor@forecourt.example", "display_name": "Advisor", "password": PASSWORD,
            "role": "dealer_service", "organization_id": dealer.id, field: value}
    extra_field_error(client.post("/api/admin/users", headers=admin.headers, json=body), field)
    assert users_count(session) == before


@pytest.mark.parametrize(("role", "kind"), [("customer", "dealer"), ("carmaker_admin", "dealer"),
                                            ("dealer_sales", "partner"), ("partner_analyst", "carmaker")])
def test_admin_cannot_create_a_role_the_organization_does_not_have(make, client, session, admin, role, kind):
    organization = make.carmaker() if kind == "carmaker" else make.organization(
        kind, partner_kind="insurance" if kind == "partner" else None)
    before = users_count(session)
    response = client.post("/api/admin/users", headers=admin.headers, json={
        "email": "odd.role@forecourt.example", "display_name": "Odd Role", "password": PASSWORD, "role": role,
        "organization_id": organization.id})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "role"]
    assert users_count(session) == before


@pytest.mark.parametrize(("field", "value"), [("role", "carmaker_admin"), ("organization_id", 1),
                                               ("email", "new@forecourt.example"), ("customer_id", 1)])
def test_admin_user_update_refuses_unknown_fields(make, client, session, admin, field, value):
    staff = make.staff(make.dealer(), Role.DEALER_SALES)
    response = client.patch(f"/api/admin/users/{staff.user_id}", headers=admin.headers,
                            json={"display_name": "Renamed", field: value})
    extra_field_error(response, field)
    session.expire_all()
    user = session.get(User, staff.user_id)
    assert (user.role, user.display_name) == ("dealer_sales", f"Staff {staff.email}")


def test_admin_organization_bodies_refuse_unknown_fields(make, client, session, admin):
    dealer = make.dealer()
    extra_field_error(client.post("/api/admin/organizations", headers=admin.headers,
                                  json={"kind": "dealer", "code": "DLR-X", "name": "X Motors", "id": 1}), "id")
    extra_field_error(client.patch(f"/api/admin/organizations/{dealer.id}", headers=admin.headers,
                                   json={"kind": "carmaker"}), "kind")
    extra_field_error(client.patch(f"/api/admin/organizations/{dealer.id}", headers=admin.headers,
                                   json={"code": "STOLEN"}), "code")
    session.expire_all()
    assert session.get(Organization, dealer.id).kind == "dealer"
    assert session.scalar(select(func.count(AuditEntry.id))) == 0


def test_vehicle_bodies_refuse_unknown_fields(make, client):
    dealer, other_dealer = make.dealer(), make.dealer()
    rep = make.staff(dealer)
    body = {"vin": make.vin(), "trim_id": make.trim().id, "model_year": 2024}
    extra_field_error(client.post("/api/vehicles", headers=rep.headers,
                                  json=body | {"selling_dealer_id": other_dealer.id}), "selling_dealer_id")
    assert client.post("/api/vehicles", headers=rep.headers, json=body).json()["selling_dealer_id"] == dealer.id
    buyer = make.customer()
    make.grant(buyer, dealer, "sales_contact")
    extra_field_error(client.post(f"/api/vehicles/{body['vin']}/sale", headers=rep.headers,
                                  json={"customer_id": buyer.id, "dealer_id": other_dealer.id}), "dealer_id")


# --- duplicates ----------------------------------------------------------------------------------

def test_a_repeated_signup_answers_the_same_and_makes_nothing_more(client, session):
    first = client.post("/api/auth/signup", json=SIGNUP)
    before = (users_count(session), session.scalar(select(func.count(Customer.id))))
    for email in (SIGNUP["email"], "New.Driver@Forecourt.Example", " new.driver@forecourt.example "):
        response = client.post("/api/auth/signup", json=SIGNUP | {"email": email})
        assert (response.status_code, response.text) == (first.status_code, first.text), email
    assert (users_count(session), session.scalar(select(func.count(Customer.id)))) == before


def test_signup_with_a_staff_email_answers_the_same_and_makes_nothing(make, client, admin, session):
    email = "staff.member@forecourt.example"
    created = client.post("/api/admin/users", headers=admin.headers, json={
        "email": email, "display_name": "Staff", "password": PASSWORD, "role": "dealer_sales",
        "organization_id": make.dealer().id})
    assert created.status_code == 201
    customers = session.scalar(select(func.count(Customer.id)))
    response = client.post("/api/auth/signup", json=SIGNUP | {"email": email})
    assert response.status_code == 202
    assert response.text == client.post("/api/auth/signup", json=SIGNUP).text
    assert session.scalar(select(func.count(Customer.id))) == customers + 1  # only the second, new address


def test_admin_creating_a_user_with_a_taken_email_is_409(make, client, admin):
    taken = make.customer_login(make.customer(email="taken.address@forecourt.example"))
    response = client.post("/api/admin/users", headers=admin.headers, json={
        "email": taken.email.upper(), "display_name": "Clash", "password": PASSWORD, "role": "dealer_sales",
        "organization_id": make.dealer().id})
    assert response.status_code == 409 and response.json()["detail"][0]["loc"] == ["body", "email"]


def test_malformed_input_is_422_naming_the_field(make, client):
    response = client.post("/api/auth/signup", json=SIGNUP | {"email": "not-an-address"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "email"]
    me = make.customer_login(make.customer())
    response = client.patch("/api/me", headers=me.headers, json={"phone": "call me maybe"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "phone"]
    response = client.put(f"/api/me/consents/{make.dealer().id}/no_such_purpose", headers=me.headers)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "purpose"]
    response = client.put("/api/me/consents/999999/sales_contact", headers=me.headers)
    assert response.status_code == 404
