"""Input the code cannot hold is refused with the field named, never answered with a server error:
integers wider than the database's integer columns, null where a record needs a value, half a position,
dates at the end of the calendar and periods of millennia."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forecourt.core.auth import Role
from forecourt.customers.models import Preferences
from forecourt.parties.models import Organization, User
from tests.conftest import test_database_kind as database_kind
from tests.factories import admin_login

HUGE = "99999999999999999999"  # 20 digits: wider than any integer column, even SQLite's 64 bits


def field_of(response) -> list:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"]


@pytest.fixture
def people(make):
    dealer = make.dealer()
    return dict(admin=admin_login(make), sales=make.staff(dealer, Role.DEALER_SALES),
                driver=make.customer_login(make.customer()), dealer=dealer)


# (who, method, url, JSON body or None, where the error must point)
WIDE_INTEGERS = [
    ("admin", "GET", f"/api/admin/audit?offset={HUGE}", None, ["query", "offset"]),
    ("admin", "GET", f"/api/admin/users?offset={HUGE}", None, ["query", "offset"]),
    ("admin", "GET", f"/api/admin/users?organization_id={HUGE}", None, ["query", "organization_id"]),
    ("admin", "PATCH", f"/api/admin/users/{HUGE}", {"display_name": "Renamed"}, ["path", "user_id"]),
    ("driver", "GET", f"/api/me/access-log?offset={HUGE}", None, ["query", "offset"]),
    ("sales", "GET", f"/api/customers?offset={HUGE}", None, ["query", "offset"]),
    ("sales", "GET", f"/api/customers/{HUGE}", None, ["path", "customer_id"]),
    ("sales", "GET", f"/api/customers/{2**31}", None, ["path", "customer_id"]),  # PostgreSQL's INTEGER is 32 bits
    ("sales", "GET", f"/api/leads?offset={HUGE}", None, ["query", "offset"]),
    ("sales", "POST", "/api/leads/1/merge", {"duplicate_id": int(HUGE)}, ["body", "duplicate_id"]),
    ("sales", "POST", f"/api/opportunities/1/quotes/{HUGE}/send", None, ["path", "version"]),
    ("sales", "GET", f"/api/pipeline/volume?dealer_id={HUGE}", None, ["query", "dealer_id"]),
    ("sales", "GET", f"/api/pipeline/trend?rep_id={HUGE}", None, ["query", "rep_id"]),
    ("admin", "GET", f"/api/pipeline/speed?model_id={HUGE}", None, ["query", "model_id"]),
    ("driver", "PUT", f"/api/me/consents/{HUGE}/sales_contact", None, ["path", "organization_id"]),
]


@pytest.mark.parametrize(("who", "method", "url", "body", "where"), WIDE_INTEGERS,
                         ids=[f"{m} {u}" for _, m, u, _, _ in WIDE_INTEGERS])
def test_integers_wider_than_64_bits_are_refused_naming_the_field(client, people, who, method, url, body, where):
    response = client.request(method, url, json=body, headers=people[who].headers)
    assert field_of(response) == where


def test_pages_refuse_wide_integers_too(client, people):
    browser_headers = people["admin"].headers
    assert client.get(f"/admin/audit?page={HUGE}", headers=browser_headers).status_code == 422
    assert client.get(f"/me/access-log?page={HUGE}", headers=people["driver"].headers).status_code == 422
    assert client.get(f"/me/privacy?add={HUGE}", headers=people["driver"].headers).status_code == 422
    page = client.get(f"/workspace/pipeline?dealer_id={HUGE}", headers=people["sales"].headers)
    assert page.status_code == 422 and "Choose from the list" in page.text


def test_a_dealer_with_half_a_position_does_not_break_the_nearest_dealer_search(client, session, make):
    near = make.dealer(name="Near Motors", latitude=52.52, longitude=13.40)
    broken = make.dealer(name="Broken Motors", latitude=52.50, longitude=13.41)
    broken.longitude = None  # a row from before both coordinates were required together
    session.commit()
    response = client.get("/api/dealers/nearest", params={"lat": 52.5, "lon": 13.4, "limit": 50})
    assert response.status_code == 200, response.text
    names = [row["dealer"]["name"] for row in response.json()]
    assert "Near Motors" in names and "Broken Motors" not in names
    assert near.id in [row["dealer"]["id"] for row in response.json()]


def test_a_position_is_both_coordinates_or_neither(client, session, make, people):
    dealer = make.dealer()
    response = client.patch(f"/api/admin/organizations/{dealer.id}", headers=people["admin"].headers,
                            json={"longitude": None})
    assert field_of(response) == ["body", "longitude"]
    session.expire_all()
    assert session.get(Organization, dealer.id).longitude == 13.40
    cleared = client.patch(f"/api/admin/organizations/{dealer.id}", headers=people["admin"].headers,
                           json={"latitude": None, "longitude": None})
    assert cleared.status_code == 200 and (cleared.json()["latitude"], cleared.json()["longitude"]) == (None, None)


@pytest.mark.parametrize("field", ["name", "opening_hours", "service_bays", "is_active"])
def test_an_organization_update_refuses_null_where_the_organization_needs_a_value(client, session, make, people,
                                                                                   field):
    dealer = make.dealer()
    before = {c: getattr(dealer, c) for c in ("name", "opening_hours", "service_bays", "is_active")}
    response = client.patch(f"/api/admin/organizations/{dealer.id}", headers=people["admin"].headers,
                            json={field: None})
    assert field_of(response) == ["body", field]
    session.expire_all()
    organization = session.get(Organization, dealer.id)
    assert {c: getattr(organization, c) for c in before} == before


def test_an_organization_update_may_clear_what_may_be_empty(client, make, people):
    dealer = make.dealer(phone="+49 30 1234")
    response = client.patch(f"/api/admin/organizations/{dealer.id}", headers=people["admin"].headers,
                            json={"phone": None, "street": None, "name": "Renamed Motors"})
    assert response.status_code == 200, response.text
    assert (response.json()["phone"], response.json()["name"]) == (None, "Renamed Motors")


@pytest.mark.parametrize("field", ["display_name", "password", "is_active"])
def test_a_staff_update_refuses_null(client, session, make, people, field):
    staff = make.staff(make.dealer())
    response = client.patch(f"/api/admin/users/{staff.user_id}", headers=people["admin"].headers,
                            json={field: None})
    assert field_of(response) == ["body", field]
    session.expire_all()
    user = session.get(User, staff.user_id)
    assert user.is_active and user.display_name == f"Staff {staff.email}"


@pytest.mark.parametrize("field", ["radio_presets", "navigation_favourites", "seat_position", "preferred_contact"])
def test_preferences_refuse_null_and_keep_what_was_saved(client, session, people, field):
    me = people["driver"]
    saved = client.patch("/api/me/preferences", headers=me.headers, json={
        "radio_presets": ["SWR3"], "seat_position": {"height": 1, "distance": 2, "recline": 3},
        "preferred_contact": "sms"})
    assert saved.status_code == 200, saved.text
    assert field_of(client.patch("/api/me/preferences", headers=me.headers, json={field: None})) == ["body", field]
    assert client.get("/api/me/preferences", headers=me.headers).json() == saved.json()
    stored = session.scalars(select(Preferences).where(Preferences.customer_id == me.customer_id)).one()
    assert stored.preferred_contact == "sms" and stored.radio_presets == ["SWR3"]


def test_an_empty_list_clears_presets(client, people):
    me = people["driver"]
    client.patch("/api/me/preferences", headers=me.headers, json={"radio_presets": ["SWR3"]})
    response = client.patch("/api/me/preferences", headers=me.headers, json={"radio_presets": []})
    assert response.status_code == 200 and response.json()["radio_presets"] == []


def test_profile_language_cannot_be_nulled(client, people):
    me = people["driver"]
    assert field_of(client.patch("/api/me", headers=me.headers, json={"language": None})) == ["body", "language"]
    assert client.get("/api/me", headers=me.headers).json()["language"] == "en"


@pytest.mark.parametrize(("date_from", "date_to", "field"), [
    ("2024-01-01", "9999-12-31", "date_to"),  # the day after the period would overflow
    ("2024-01-01", "7687-01-01", "date_to"),  # one row per month for five millennia
    ("1850-01-01", "1851-01-01", "date_from"),
])
def test_pipeline_dates_stay_within_two_centuries(client, people, date_from, date_to, field):
    response = client.get("/api/pipeline/trend", headers=people["sales"].headers,
                          params={"date_from": date_from, "date_to": date_to})
    assert field_of(response) == ["query", field]


def test_a_pipeline_period_lasts_at_most_ten_years(client, people):
    for who in ("sales", "admin"):
        response = client.get("/api/pipeline/trend", headers=people[who].headers,
                              params={"date_from": "2000-01-01", "date_to": "2199-12-31"})
        assert field_of(response) == ["body", "date_from"]
        assert "at most ten years" in response.json()["detail"][0]["msg"]
    ten_years = client.get("/api/pipeline/trend", headers=people["sales"].headers,
                           params={"date_from": "2016-01-01", "date_to": "2025-12-31"})
    assert ten_years.status_code == 200 and len(ten_years.json()["months"]) == 120
    page = client.get("/workspace/pipeline?date_from=2024-01-01&date_to=7687-01-01", headers=people["sales"].headers)
    assert page.status_code == 422 and "between the years 1900 and 2199" in page.text


def test_a_nul_character_is_refused_on_every_engine(client, people):
    me = people["driver"]
    response = client.patch("/api/me", headers=me.headers, json={"city": "Bo\u0000nn"})
    assert field_of(response) == ["body", "city"] and "NUL" in response.json()["detail"][0]["msg"]
    login = client.post("/api/auth/token", json={"email": "driver\u0000@example.com", "password": "secret"})
    assert field_of(login) == ["body", "email"]
    search = client.get("/api/customers", params={"q": "Ha\x00ns"}, headers=people["sales"].headers)
    # SQLite finds nobody; PostgreSQL cannot even compare it, and the request is refused rather than failing
    assert search.status_code == (422 if database_kind() == "postgresql" else 200), search.text
    assert client.get("/api/me", headers=me.headers).json()["city"] == "Hamburg"
