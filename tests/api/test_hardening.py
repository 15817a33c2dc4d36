import csv
import io

from tests.factories import admin_login


def test_customer_csv_export_defuses_spreadsheet_formulas(make, client):
    dealer = make.dealer()
    rep = make.staff(dealer)
    customer = make.customer(first_name="=HYPERLINK(\"http://evil\")", last_name="@SUM(A1)")
    make.grant(customer, dealer, "sales_contact")
    response = client.get("/api/customers.csv", params={"purpose": "sales_contact", "headers": "codes"},
                          headers=rep.headers)
    assert response.status_code == 200
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(response.text))}
    row = rows[str(customer.id)]
    assert row["first_name"] == "'=HYPERLINK(\"http://evil\")"
    assert row["last_name"] == "'@SUM(A1)"
    assert row["email"] == customer.email


def test_customer_csv_names_its_columns_in_the_readers_language(make, client):
    """A person opens the file in a spreadsheet: the columns are named in their language (with a byte order
    mark so Korean survives); a program asks for the stable codes."""
    dealer = make.dealer()
    rep = make.staff(dealer)
    customer = make.customer(first_name="민준", last_name="김", city="서울특별시")
    make.grant(customer, dealer, "sales_contact")
    for language, names in (("ko", ["고객 번호", "이름", "성", "이메일", "전화", "지역"]),
                            ("de", ["Kundennummer", "Vorname(n)", "Nachname", "E-Mail", "Telefon", "Ort"]),
                            ("en", ["Customer number", "Given name(s)", "Family name", "E-mail", "Phone", "City"])):
        response = client.get("/api/customers.csv", params={"purpose": "sales_contact"},
                              headers=rep.headers | {"Accept-Language": language})
        assert response.status_code == 200 and response.text.startswith("\ufeff"), language
        rows = list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))))
        assert rows[0] == names, language
        assert [str(customer.id), "민준", "김"] == rows[[r[0] for r in rows].index(str(customer.id))][:3]
    codes = client.get("/api/customers.csv", params={"purpose": "sales_contact", "headers": "codes"},
                       headers=rep.headers | {"Accept-Language": "ko"}).text
    assert codes.splitlines()[0] == "id,first_name,last_name,email,phone,city"
    assert client.get("/api/customers.csv", params={"headers": "fancy"}, headers=rep.headers).status_code == 422


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


def test_a_busy_database_asks_to_try_again_and_changes_nothing(make, client, session, monkeypatch):
    """True overload (a writer that finds the database locked all the same) is rolled back, answered 503
    with Retry-After and counted on /metrics."""
    import sqlite3

    import pytest
    from sqlalchemy.exc import OperationalError

    from forecourt.customers import service as customers_service

    customer = make.customer(city="Kiel")
    me = make.customer_login(customer)

    def busy(**_):
        raise OperationalError("UPDATE customers ...", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(customers_service, "update_profile", busy)
    response = client.patch("/api/me", headers=me.headers, json={"city": "Bremen"})
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
    assert "try again" in response.json()["detail"] and "nothing was changed" in response.json()["detail"]
    assert "forecourt_web_refused_busy_total 1.0" in client.get("/metrics").text
    session.expire_all()
    assert customers_service.get(session=session, customer_id=customer.id).city == "Kiel"

    def broken(**_):
        raise OperationalError("UPDATE customers ...", {}, sqlite3.OperationalError("no such table: customers"))

    monkeypatch.setattr(customers_service, "update_profile", broken)
    with pytest.raises(OperationalError):  # a real fault is not dressed up as "busy"
        client.patch("/api/me", headers=me.headers, json={"city": "Bremen"})


def test_a_read_that_finds_the_database_locked_runs_again_as_a_writer(make, client, monkeypatch):
    """A GET that wrote after all and lost the race is run again from the start, holding the write
    turn; the person sees one ordinary answer."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from forecourt.customers import service as customers_service

    customer = make.customer(city="Kiel")
    me = make.customer_login(customer)
    real, calls = customers_service.get, []

    def locked_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))
        return real(**kwargs)

    monkeypatch.setattr(customers_service, "get", locked_once)
    response = client.get("/api/me", headers=me.headers)
    assert response.status_code == 200 and response.json()["city"] == "Kiel"
    assert len(calls) == 2
    assert "forecourt_web_reads_run_as_writers_total 1.0" in client.get("/metrics").text
