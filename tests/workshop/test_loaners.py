"""Courtesy cars: a model the owner tried but did not buy first, then the same propulsion, then any;
never one car lent twice for the same hours; the preset made from the owner's shared preferences."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.customers import service as customers_service
from forecourt.sales.models import Activity, Configuration
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import booking, loaners
from forecourt.workshop.models import LoanerBooking
from tests.factories import browser_for, csrf_token_of
from tests.workshop.booking_scene import utc
from tests.workshop.test_brief import advisor_scene, frozen  # noqa: F401 - the fixture


def _model(make, name: str, propulsion: str):
    i = make.n()
    model = vehicles_service.create_model(session=make.session, code=f"L{i}", name=f"{name} {i}", body="suv",
                                          year_from=2015)
    trim = vehicles_service.create_trim(session=make.session, model_id=model.id, code=f"LT{i}", name="Style",
                                        propulsion=propulsion, year_from=2015, base_price=40000)
    return model, trim


def _stock(make, dealer, trim):
    return vehicles_service.register(session=make.session, vin=make.vin(), trim_id=trim.id, model_year=2025,
                                     colour="Graphite", selling_dealer_id=dealer.id)


def _fleet(make, client, scene, *trims) -> list[int]:
    ids = []
    for trim in trims:
        car = _stock(make, scene.dealer, trim)
        make.session.commit()
        response = client.post("/api/advisor/loaners", json={"vin": car.vin}, headers=scene.advisor.headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _offer(client, scene, appointment_id=None):
    return client.post(f"/api/advisor/appointments/{appointment_id or scene.appointment.id}/loaner",
                       headers=scene.advisor.headers)


def _configured(make, customer, trim, days_ago: int = 20):
    make.session.add(Configuration(code=f"CFG{make.n():08d}", trim_id=trim.id, base_price=40000, total_price=42000,
                                   customer_id=customer.id, created_at=utc(1, 10) - timedelta(days=days_ago)))
    make.session.commit()


def test_a_model_configured_but_not_bought_beats_the_same_propulsion(make, session, client, frozen):  # noqa: F811
    """What the owner configured is sales history: read only by a role whose work is sales, with the
    owner's sales contact; the workshop's advisor never reads it (they get the same propulsion)."""
    scene = advisor_scene(make, session)
    _, petrol = _model(make, "Terra", "petrol")
    _, electric = _model(make, "Volta", "electric")
    petrol_loaner, electric_loaner = _fleet(make, client, scene, petrol, electric)
    _configured(make, scene.customer, petrol)
    make.grant(scene.customer, scene.dealer, "sales_contact")
    by_advisor = _offer(client, scene)
    assert by_advisor.status_code == 201, by_advisor.text
    assert (by_advisor.json()["loaner_id"], by_advisor.json()["tier"]) == (electric_loaner, "propulsion")
    assert _sales_reads(session, scene) == 0  # the workshop did not look at the owner's sales history
    session.execute(LoanerBooking.__table__.delete())
    session.commit()
    rep = make.staff(scene.dealer, Role.DEALER_SALES)
    response = client.post(f"/api/advisor/appointments/{scene.appointment.id}/loaner", headers=rep.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["loaner_id"] == petrol_loaner and body["tier"] == "interest"
    assert body["reason"].startswith(f"The owner configured a {petrol.model.name} on 12 May 2025")
    assert "has not bought one" in body["reason"]
    assert _sales_reads(session, scene) == 1  # reading what the owner tried is in their access log


def _sales_reads(session, scene) -> int:
    return session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.customer_id == scene.customer.id, AccessLogEntry.purpose_code == "sales_contact"))


def test_without_sales_contact_the_same_propulsion_wins_then_any(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)  # the owner drives an electric car
    _, petrol = _model(make, "Terra", "petrol")
    _, electric = _model(make, "Volta", "electric")
    petrol_loaner, electric_loaner = _fleet(make, client, scene, petrol, electric)
    _configured(make, scene.customer, petrol)  # tried, but sales contact is not allowed: not read
    first = _offer(client, scene).json()
    assert (first["loaner_id"], first["tier"]) == (electric_loaner, "propulsion")
    assert "Same propulsion as the owner's car (electric)" in first["reason"]
    # a second car in the other bay at the same hour: only the petrol loaner is free
    other = booking.book(session=session, dealer_id=scene.dealer.id, vehicle_id=make.vehicle(owner=make.customer()).id,
                         customer_id=None, bay=2, starts_at=utc(2, 9), job="diagnosis", source="advisor")
    session.commit()
    second = _offer(client, scene, other.id).json()
    assert (second["loaner_id"], second["tier"]) == (petrol_loaner, "any")


def test_a_model_already_owned_or_test_driven_counts_as_it_should(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    owned_model, owned_trim = _model(make, "Terra", "petrol")
    driven_model, driven_trim = _model(make, "Ranger", "diesel")
    _, electric = _model(make, "Volta", "electric")
    _configured(make, scene.customer, owned_trim, days_ago=2)  # configured, then bought: no longer of interest
    vehicles_service.transfer(session=session, vehicle_id=_stock(make, make.dealer(), owned_trim).id,
                              customer_id=scene.customer.id, at=utc(1, 8))
    session.add(Activity(dealer_id=scene.dealer.id, customer_id=scene.customer.id, kind="test_drive",
                         model_id=driven_model.id, happened_at=utc(1, 10) - timedelta(days=40)))
    session.commit()
    _, driven_loaner, _ = _fleet(make, client, scene, owned_trim, driven_trim, electric)
    make.grant(scene.customer, scene.dealer, "sales_contact")
    rep = make.staff(scene.dealer, Role.DEALER_SALES)  # sales history is read by the sales team only
    body = client.post(f"/api/advisor/appointments/{scene.appointment.id}/loaner", headers=rep.headers).json()
    assert body["loaner_id"] == driven_loaner and body["tier"] == "interest"
    assert body["reason"].startswith(f"The owner test-drove a {driven_model.name} on 22 Apr 2025")


def test_one_loaner_is_never_lent_twice_for_the_same_hours(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    _, electric = _model(make, "Volta", "electric")
    [only] = _fleet(make, client, scene, electric)
    assert _offer(client, scene).status_code == 201
    again = _offer(client, scene)
    assert again.status_code == 409 and "already has a courtesy car" in again.text
    overlapping = booking.book(session=session, dealer_id=scene.dealer.id, vehicle_id=make.vehicle().id,
                               customer_id=None, bay=2, starts_at=utc(2, 9, 30), job="tyres", source="advisor")
    later = booking.book(session=session, dealer_id=scene.dealer.id, vehicle_id=make.vehicle().id,
                         customer_id=None, bay=2, starts_at=utc(2, 14), job="tyres", source="advisor")
    session.commit()
    refused = _offer(client, scene, overlapping.id)
    assert refused.status_code == 409 and "No courtesy car is free" in refused.text
    assert _offer(client, scene, later.id).json()["loaner_id"] == only
    assert session.scalar(select(func.count(LoanerBooking.id)).where(LoanerBooking.loaner_id == only)) == 2


def test_the_preset_carries_the_shared_preferences_and_says_why(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    _, electric = _model(make, "Volta", "electric")
    _fleet(make, client, scene, electric)
    favourites = [{"label": "Home", "address": "Torstraße 1, Berlin", "lat": 52.53, "lon": 13.40}]
    customers_service.update_preferences(session=session, customer_id=scene.customer.id, changes=dict(
        radio_presets=["radioeins 95.8", "Deutschlandfunk"], navigation_favourites=favourites,
        seat_position={"height": 4, "distance": 7, "recline": 3}))
    make.grant(scene.customer, scene.dealer, "service_reminders")
    preset = _offer(client, scene).json()["preset"]
    assert preset["radio_presets"] == ["radioeins 95.8", "Deutschlandfunk"]
    assert preset["navigation_favourites"] == favourites
    assert preset["seat_position"] == {"height": 4, "distance": 7, "recline": 3}
    assert "feels like their own" in preset["why"]


def test_without_service_reminders_the_preset_is_empty_and_says_so():
    preset = loaners.preset_from(None)
    assert preset["radio_presets"] == [] and preset["seat_position"] == {}
    assert "has not shared preferences" in preset["why"]


def test_preferences_are_not_used_without_the_grant(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    _, electric = _model(make, "Volta", "electric")
    _fleet(make, client, scene, electric)
    customers_service.update_preferences(session=session, customer_id=scene.customer.id,
                                         changes=dict(radio_presets=["Secret FM"]))
    session.commit()
    preset = loaners.offer_loaner(session=session, principal=_principal(session, scene), appointment_id=scene.appointment.id,
                                  preferences={"radio_presets": ["Secret FM"]})["preset"]
    assert preset["radio_presets"] == []  # passed in, but the owner does not share preferences with this dealer


def _principal(session, scene):
    from forecourt.parties import service as parties_service

    return parties_service.principal_for(parties_service.get_user(session=session, user_id=scene.advisor.user_id))


def test_fleet_takes_only_own_unsold_stock_and_can_be_paused(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    _, electric = _model(make, "Volta", "electric")
    headers = scene.advisor.headers
    sold = client.post("/api/advisor/loaners", json={"vin": scene.vehicle.vin}, headers=headers)
    assert sold.status_code == 422 and "unsold car of your own stock" in sold.text
    elsewhere = _stock(make, make.dealer(), electric)
    session.commit()
    assert client.post("/api/advisor/loaners", json={"vin": elsewhere.vin}, headers=headers).status_code == 422
    [loaner_id] = _fleet(make, client, scene, electric)
    vin = client.get("/api/advisor/loaners", headers=headers).json()[0]["vin"]
    assert client.post("/api/advisor/loaners", json={"vin": vin}, headers=headers).status_code == 409
    paused = client.patch(f"/api/advisor/loaners/{loaner_id}", json={"is_active": False}, headers=headers)
    assert paused.status_code == 200 and paused.json()["is_active"] is False
    assert _offer(client, scene).status_code == 409  # a paused car is not lent
    other = make.staff(make.dealer(), Role.DEALER_SERVICE)
    assert client.patch(f"/api/advisor/loaners/{loaner_id}", json={"is_active": True},
                        headers=other.headers).status_code == 404
    assert client.get("/api/advisor/loaners", headers=other.headers).json() == []


def test_offer_a_loaner_from_the_brief_page(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    _, electric = _model(make, "Volta", "electric")
    _fleet(make, client, scene, electric)
    browser = browser_for(make, scene.advisor)
    url = f"/workspace/service/appointments/{scene.appointment.id}"
    assert "Offer a loaner" in browser.get(url).text
    response = browser.post(f"{url}/loaner", data={"csrf_token": csrf_token_of(session, browser)})
    assert response.status_code == 200 and "Courtesy car:" in response.text
    assert "Same propulsion as the owner" in response.text and "Offer a loaner" not in response.text
    fleet_page = browser.get("/workspace/service/loaners")
    assert fleet_page.status_code == 200 and "Volta" in fleet_page.text


def test_the_brief_shows_the_courtesy_car_once_it_is_booked(make, session, client, frozen):  # noqa: F811
    scene = advisor_scene(make, session)
    _, electric = _model(make, "Volta", "electric")
    [loaner_id] = _fleet(make, client, scene, electric)
    offered = _offer(client, scene).json()
    response = client.get(f"/api/advisor/appointments/{scene.appointment.id}/brief", headers=scene.advisor.headers)
    assert response.status_code == 200, response.text
    loaner = response.json()["loaner"]
    assert (loaner["loaner_id"], loaner["vin"], loaner["id"]) == (loaner_id, offered["vin"], offered["id"])
    assert loaner["starts_at"] == offered["starts_at"] and loaner["preset"]["why"]
