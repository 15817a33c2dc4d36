"""The configurator's JSON API and pages: public, form-protected, and never showing who configured a car."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from forecourt.sales import codes
from forecourt.sales.models import Configuration
from tests.factories import browser_for, csrf_token_of, form_token_of
from tests.sales.test_configurator import Range, make_range


@pytest.fixture
def cars(session, make) -> Range:
    cars = make_range(session, make)
    session.commit()
    return cars


def saved_row(session, code: str) -> Configuration:
    session.expire_all()
    return session.query(Configuration).filter_by(code=codes.normalise_code(code)).one()


# --- JSON API ------------------------------------------------------------------------------------

def test_options_of_a_trim(client, cars):
    body = client.get(f"/api/catalogue/trims/{cars.electric.code}/options").json()
    assert body["trim_code"] == cars.electric.code and body["base_price"] == 34_000
    groups = {g["kind"]: g for g in body["groups"]}
    assert groups["colour"]["one_of"] and not groups["package"]["one_of"]
    assert cars.code("HEATPUMP") in [o["code"] for o in groups["feature"]["options"]]
    comfort = next(o for o in groups["package"]["options"] if o["code"] == cars.code("COMFORT"))
    assert comfort["price"] == 1290 and "includes Keyless entry" in comfort["notes"]
    assert client.get("/api/catalogue/trims/NOPE-9/options").status_code == 404


def test_check_prices_and_explains(client, cars):
    ok = client.post("/api/configurations/check", json={"trim_code": cars.petrol.code,
                                                         "option_codes": [cars.code("COMFORT")]}).json()
    assert ok["valid"] and ok["total_price"] == 24_000 + 1290 and ok["problems"] == []
    assert {line["code"]: line["included_in"] for line in ok["lines"]}[cars.code("KEYLESS")] == "Comfort package"
    bad = client.post("/api/configurations/check", json={"trim_code": cars.petrol.code,
                                                          "option_codes": [cars.code("PANO"), cars.code("ROOFRAILS")]})
    assert bad.status_code == 200 and bad.json()["valid"] is False
    assert bad.json()["problems"] == ["The Panoramic roof cannot be combined with Roof rails."]


@pytest.mark.parametrize(("body", "says"), [
    ({"trim_code": "NOPE-9"}, "There is no trim 'NOPE-9'"),
    ({"trim_code": "X", "option_codes": ["A"], "customer_id": 1}, "Extra inputs are not permitted"),
    ({"option_codes": []}, "Field required"),
    ({"trim_code": "X", "option_codes": "not a list"}, "valid list"),
])
def test_bad_input_is_422_with_a_message(client, cars, body, says):
    for path in ("/api/configurations/check", "/api/configurations"):
        response = client.post(path, json=body)
        assert response.status_code == 422, response.text
        assert says in response.text


def test_saving_refuses_what_cannot_be_built(client, cars, session):
    before = session.query(Configuration).count()
    response = client.post("/api/configurations", json={"trim_code": cars.petrol.code,
                                                        "option_codes": [cars.code("WINTER")]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == ("The Winter package needs Heated front seats; add it or remove "
                                                   "the package.")
    assert session.query(Configuration).count() == before


def test_save_then_open_by_code_without_any_customer_data(client, cars, session, make):
    customer = make.customer(first_name="Philippa", last_name="Quinterosa", email="philippa.q@owner.example")
    me = make.customer_login(customer)
    response = client.post("/api/configurations", headers=me.headers,
                           json={"trim_code": cars.electric.code,
                                 "option_codes": [cars.code("HEATPUMP"), cars.code("SILVER")]})
    assert response.status_code == 201, response.text
    saved = response.json()
    assert saved["display_code"] == codes.display_code(saved["code"])
    assert saved["url"] == f"http://testserver/c/{saved['display_code']}"
    assert saved["total_price"] == 34_000 + 990 + 690
    assert saved_row(session, saved["code"]).customer_id == customer.id

    typed = saved["display_code"].lower().replace("-", " ")
    opened = client.get(f"/api/configurations/{typed}")
    assert opened.status_code == 200
    body = opened.json()
    assert body["code"] == saved["code"] and body["trim_code"] == cars.electric.code
    assert body["propulsion"] == "electric" and body["total_price"] == saved["total_price"]
    for secret in ("Philippa", "Quinterosa", "philippa.q@owner.example", "customer", "dealer_id"):
        assert secret not in opened.text


def test_a_dealer_reps_configuration_is_the_dealers(client, cars, session, make):
    dealer = make.dealer()
    rep = make.staff(dealer)
    code = client.post("/api/configurations", headers=rep.headers,
                       json={"trim_code": cars.petrol.code}).json()["code"]
    row = saved_row(session, code)
    assert row.dealer_id == dealer.id and row.customer_id is None


def test_unknown_and_mistyped_codes(client, cars):
    unknown = codes.new_code()
    assert client.get(f"/api/configurations/{unknown}").status_code == 404
    assert client.get(f"/api/configurations/{unknown}/qr.svg").status_code == 404
    mistyped = client.get("/api/configurations/7KQ2-M97K")
    assert mistyped.status_code == 422 and "typo" in mistyped.text


def test_qr_image(client, cars):
    saved = client.post("/api/configurations", json={"trim_code": cars.petrol.code}).json()
    response = client.get(f"/api/configurations/{saved['code']}/qr.svg")
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    assert ElementTree.fromstring(response.content).tag == "{http://www.w3.org/2000/svg}svg"


# --- pages ---------------------------------------------------------------------------------------

@pytest.fixture
def visitor(make):
    return browser_for(make)


def test_choose_a_model_and_trim(visitor, cars):
    page = visitor.get("/configure")
    assert page.status_code == 200
    assert f"/configure/{cars.petrol.code}" in page.text and "from €24,000" in page.text
    assert f"/configure/{cars.old.code}" not in page.text  # no longer built


def test_option_form_groups_and_prices(visitor, cars):
    page = visitor.get(f"/configure/{cars.electric.code}")
    assert page.status_code == 200
    for text in ("Colour", "Wheels", "Packages", "Heat pump", "+€990", "includes Heated front seats",
                 'hx-post="/configure/' + cars.electric.code + '/check"', "€34,000"):
        assert text in page.text, text
    assert re.search(rf'value="{cars.code("WHITE")}"\s+checked', page.text), "the standard colour is preselected"
    assert visitor.get(f"/configure/{cars.old.code}").status_code == 404
    assert visitor.get("/configure/NOPE-9").status_code == 404


def test_live_check_fragment(visitor, cars):
    token = form_token_of(visitor, f"/configure/{cars.petrol.code}")
    fragment = visitor.post(f"/configure/{cars.petrol.code}/check",
                            data={"option": [cars.code("WINTER"), cars.code("TOW")], "form_token": token})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="summary"' in fragment.text
    assert "The Winter package needs Heated front seats; add it or remove the package." in fragment.text
    assert "€25,580" in fragment.text  # 24,000 + Winter 590 + Tow 990; the tow bar is included
    assert "included in Tow package" in fragment.text
    forged = visitor.post(f"/configure/{cars.petrol.code}/check", data={"option": [], "form_token": "forged"})
    assert forged.status_code == 403


def test_saving_through_the_form_and_opening_the_page(visitor, cars, session):
    token = form_token_of(visitor, f"/configure/{cars.petrol.code}")
    response = visitor.post(f"/configure/{cars.petrol.code}", follow_redirects=False,
                            data={"option": [cars.code("COMFORT"), cars.code("BLUE")], "form_token": token})
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/c/[0-9A-Z]{4}-[0-9A-Z]{4}", location)
    row = saved_row(session, location[3:])
    assert row.customer_id is None and row.dealer_id is None

    page = visitor.get(location)
    assert page.status_code == 200
    for text in (location[3:], "Bring this code to any dealer", f"/api/configurations/{row.code}/qr.svg",
                 f"/leads/new?code={row.code}", f"{location}/order", "Comfort package", "€26,080",
                 "included in Comfort package"):
        assert text in page.text, text
    # anyone holding the code sees the same page, however they type it
    assert browser_for_code(visitor, location[3:].lower().replace("-", "")).status_code == 200


def browser_for_code(browser, code: str):
    return browser.get(f"/c/{code}")


def test_invalid_form_shows_the_problems_in_words_without_javascript(visitor, cars, session):
    token = form_token_of(visitor, f"/configure/{cars.petrol.code}")
    before = session.query(Configuration).count()
    page = visitor.post(f"/configure/{cars.petrol.code}",
                        data={"option": [cars.code("PANO"), cars.code("ROOFRAILS")], "form_token": token})
    assert page.status_code == 422
    assert "The Panoramic roof cannot be combined with Roof rails." in page.text and "<html" in page.text
    update = visitor.post(f"/configure/{cars.petrol.code}",
                          data={"option": [cars.code("RED")], "action": "update", "form_token": token})
    assert update.status_code == 200 and "€24,990" in update.text
    assert session.query(Configuration).count() == before
    assert visitor.post(f"/configure/{cars.petrol.code}", data={"option": []}).status_code == 403


def test_a_logged_in_customer_saves_with_the_sessions_csrf_token(make, cars, session):
    customer = make.customer()
    browser = browser_for(make, make.customer_login(customer))
    page = browser.get(f"/configure/{cars.petrol.code}")
    assert 'name="csrf_token" value="' in page.text
    refused = browser.post(f"/configure/{cars.petrol.code}", data={"option": []}, follow_redirects=False)
    assert refused.status_code == 403
    response = browser.post(f"/configure/{cars.petrol.code}", follow_redirects=False,
                            data={"option": [], "csrf_token": csrf_token_of(session, browser)})
    assert response.status_code == 303
    assert saved_row(session, response.headers["location"][3:]).customer_id == customer.id


def test_typing_a_code(visitor, cars, client):
    assert visitor.get("/c").status_code == 200
    saved = client.post("/api/configurations", json={"trim_code": cars.petrol.code}).json()
    found = visitor.get("/c", params={"code": saved["display_code"].lower()}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/c/{saved['display_code']}"
    typo = visitor.get("/c", params={"code": "7KQ2-M97K"})
    assert typo.status_code == 422 and "typo" in typo.text and 'value="7KQ2-M97K"' in typo.text
    short = visitor.get("/c/ABC")
    assert short.status_code == 422 and "has 8 characters" in short.text
    unknown = visitor.get(f"/c/{codes.display_code(codes.new_code())}")
    assert unknown.status_code == 404 and "No configuration has this code" in unknown.text
