import csv
import io

from tests.factories import admin_login


def test_customer_csv_export_defuses_spreadsheet_formulas(make, client):
    dealer = make.dealer()
    rep = make.staff(dealer)
    customer = make.customer(first_name="=HYPERLINK(\"http://evil\")", last_name="@SUM(A1)")
    make.grant(customer, dealer, "sales_contact")
    response = client.get("/api/customers.csv", params={"purpose": "sales_contact"}, headers=rep.headers)
    assert response.status_code == 200
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(response.text))}
    row = rows[str(customer.id)]
    assert row["first_name"] == "'=HYPERLINK(\"http://evil\")"
    assert row["last_name"] == "'@SUM(A1)"
    assert row["email"] == customer.email


def test_an_admin_cannot_lock_themselves_out_through_the_api(make, client):
    admin = admin_login(make)
    response = client.patch(f"/api/admin/users/{admin.user_id}", json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "is_active"]
    assert client.get("/api/admin/users", headers=admin.headers).status_code == 200


def test_every_response_carries_the_security_headers(client):
    for path in ("/login", "/api/purposes", "/no-such-page"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        assert "script-src 'self'" in headers["content-security-policy"], path
    assert client.get("/api/purposes").headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/login").headers
