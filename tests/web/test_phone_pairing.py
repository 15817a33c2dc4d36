"""Pairing a phone in the portal and through the API: the server URL with the phone's token, once."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from forecourt.telematics.models import Device

URL = re.compile(r'id="server-url" type="text" readonly value="(http://testserver/osmand/[A-Za-z0-9_-]{40,})"')


def report(client, url: str, phone_id: str):
    path = url.removeprefix("http://testserver")
    return client.get(path, params={"id": phone_id, "timestamp": str(int(datetime(2026, 11, 20, tzinfo=UTC)
                                                                         .timestamp())), "lat": "52.5", "lon": "13.4"})


def test_the_owner_pairs_a_phone_and_sees_its_url_and_qr_once(make, client, session, visit):
    owner = make.customer()
    car = make.vehicle(owner=owner)
    login = make.customer_login(owner)
    browser = visit(login.email)
    page = browser.get(f"/me/vehicles/{car.vin}/phone")
    assert page.status_code == 200 and "No phone reports for this car yet." in page.text
    paired = browser.post(f"/me/vehicles/{car.vin}/phone", {"identifier": "802211", "label": "Lena's phone"})
    assert paired.status_code == 200, paired.text
    assert paired.headers["cache-control"] == "no-store"
    url = URL.search(paired.text).group(1)
    assert '<figure class="qr" id="server-url-qr"' in paired.text and "<svg" in paired.text
    assert report(client, url, "802211").status_code == 200
    # the URL is not shown again: the list names the phone, never its token
    again = browser.get(f"/me/vehicles/{car.vin}/phone")
    assert "802211" in again.text and url.rsplit("/", 1)[1] not in again.text
    device = session.scalars(select(Device).where(Device.identifier == "802211")).one()
    removed = browser.post(f"/me/vehicles/{car.vin}/phones/{device.id}/unpair")
    assert removed.status_code == 303
    assert report(client, url, "802211").status_code == 401


def test_pairing_refuses_a_short_id_in_words(make, visit):
    owner = make.customer()
    car = make.vehicle(owner=owner)
    browser = visit(make.customer_login(owner).email)
    browser.get(f"/me/vehicles/{car.vin}/phone")
    response = browser.post(f"/me/vehicles/{car.vin}/phone", {"identifier": "12"})
    assert response.status_code == 422 and 'id="e-identifier"' in response.text


def test_nobody_else_pairs_a_phone_with_someone_elses_car(make, client, session, visit):
    owner, stranger = make.customer(), make.customer()
    car = make.vehicle(owner=owner)
    stranger_login = make.customer_login(stranger)
    assert client.post(f"/api/me/vehicles/{car.vin}/phone", headers=stranger_login.headers,
                       json={"identifier": "990011"}).status_code == 404
    browser = visit(stranger_login.email)
    browser.get("/me")
    assert browser.get(f"/me/vehicles/{car.vin}/phone").status_code == 404
    assert browser.post(f"/me/vehicles/{car.vin}/phone", {"identifier": "990011"}).status_code == 404
    assert session.scalars(select(Device).where(Device.vehicle_id == car.id)).all() == []


def test_the_api_gives_the_server_url_and_can_remove_the_phone(make, client, session):
    owner = make.customer()
    car = make.vehicle(owner=owner)
    me = make.customer_login(owner)
    response = client.post(f"/api/me/vehicles/{car.vin}/phone", headers=me.headers, json={"identifier": "551234"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["server_url"] == f"http://testserver/osmand/{body['secret']}"
    assert response.headers["cache-control"] == "no-store"
    assert report(client, body["server_url"], "551234").status_code == 200
    listed = client.get(f"/api/me/vehicles/{car.vin}/devices", headers=me.headers).json()
    assert [d["identifier"] for d in listed] == ["551234"] and "secret" not in listed[0]
    other = make.customer_login(make.customer())
    assert client.delete(f"/api/me/vehicles/{car.vin}/devices/{body['id']}", headers=other.headers).status_code == 404
    assert report(client, body["server_url"], "551234").status_code == 200
    assert client.delete(f"/api/me/vehicles/{car.vin}/devices/{body['id']}", headers=me.headers).status_code == 204
    assert report(client, body["server_url"], "551234").status_code == 401


def test_a_removed_phone_can_be_paired_with_another_car_but_not_while_it_still_reports(make, client):
    owner = make.customer()
    first, second = make.vehicle(owner=owner), make.vehicle(owner=owner)
    me = make.customer_login(owner)
    paired = client.post(f"/api/me/vehicles/{first.vin}/phone", headers=me.headers, json={"identifier": "660077"})
    taken = client.post(f"/api/me/vehicles/{second.vin}/phone", headers=me.headers, json={"identifier": "660077"})
    assert taken.status_code == 409 and taken.json()["detail"][0]["loc"] == ["body", "identifier"]
    client.delete(f"/api/me/vehicles/{first.vin}/devices/{paired.json()['id']}", headers=me.headers)
    moved = client.post(f"/api/me/vehicles/{second.vin}/phone", headers=me.headers, json={"identifier": "660077"})
    assert moved.status_code == 201 and moved.json()["id"] == paired.json()["id"]
    assert report(client, moved.json()["server_url"], "660077").status_code == 200
    assert report(client, paired.json()["server_url"], "660077").status_code == 401
    assert [d["identifier"] for d in client.get(f"/api/me/vehicles/{first.vin}/devices", headers=me.headers).json()] \
        == []
