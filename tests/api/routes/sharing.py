"""Access-control classes of car sharing (see tests/api/test_access_control.py).

The map search is public. The driver's routes are their own data (SELF): a path naming a booking
("{number}") names one of customer A's, made before the suite's snapshot in the state the route acts
on; staff, anonymous callers and customer B get nothing. The hub desk (SERVICE) is for the service
staff of the hub's own dealer only (dealer A's): it shows booking numbers and cars, no driver's name.
The carmaker's figures are for its administrators (ADMIN). A photo of a shared car (SHARING_PHOTO) is
for the booking's driver, the hub's service staff and the carmaker's administrators.
"""

from __future__ import annotations

from datetime import date, timedelta

from forecourt.payments.providers import Gateway
from forecourt.sharing import access, hubs, photos, profiles, reservations, trips
from forecourt.sharing.models import DamageReport
from forecourt.telematics import devices
from forecourt.telematics.models import TwinSignal
from forecourt.telematics.readings import Source
from forecourt.core.clock import now
from forecourt.sharing.photos import PhotoStore, check
from tests.api.acl_rules import ADMIN, PUBLIC, SELF, SERVICE, SHARING_PHOTO, Rule
from tests.sharing import pictures

STATES = ("held", "booked", "unlocked", "active", "returned")


def fleet(w):
    """A hub at dealer A with a car per booking state and one free car; customer A may drive."""
    if not hasattr(w, "_sharing_fleet"):
        hub = hubs.create_hub(session=w.session, dealer_id=w.dealer.id)
        cars = []
        for _ in range(len(STATES) + 1):
            vehicle = w.make.vehicle(selling_dealer_id=w.dealer.id)
            devices.register(session=w.session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
            for path, value in (("Vehicle.CurrentLocation.Latitude", hub.latitude),
                                ("Vehicle.CurrentLocation.Longitude", hub.longitude),
                                ("Vehicle.TraveledDistance", 1000.0),
                                ("Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", 80)):
                w.session.merge(TwinSignal(vehicle_id=vehicle.id, path=path, value=value, measured_at=now()))
            cars.append(hubs.add_car(session=w.session, hub_id=hub.id, vehicle_id=vehicle.id))
        profiles.accept_terms(session=w.session, customer_id=w.customer.id)
        profiles.check_licence(session=w.session, customer_id=w.customer.id, checked_by_user_id=w.advisor.user_id,
                               number="B072RRE2I55", expires_on=date.today() + timedelta(days=900))
        w.session.commit()
        w._sharing_fleet = (hub, cars)
    return w._sharing_fleet


def booking(w, state: str):
    """Customer A's booking in ``state``, on a car of its own."""
    hub, cars = fleet(w)
    cache = w.__dict__.setdefault("_sharing_bookings", {})
    if state not in cache:
        car = cars[STATES.index(state)]
        found = reservations.reserve(session=w.session, gateway=Gateway(), customer_id=w.customer.id, car_id=car.id,
                                     starts_at=None, hours=2)
        if state != "held":
            reservations.confirm(session=w.session, reservation=found)
        if state in ("unlocked", "active", "returned"):
            code = access.issue_code(session=w.session, reservation=found)
            vin = w.make.session.get(type(w.vehicle), car.vehicle_id).vin
            access.unlock_with_code(session=w.session, reservation=found, vin=vin, code=code)
        if state in ("active", "returned"):
            trips.check_out(session=w.session, reservation=found, damage="Scuff on the wheel")
        if state == "returned":
            trips.return_car(session=w.session, reservation=found)
        w.session.commit()
        cache[state] = found
    return cache[state]


def number(state: str):
    return lambda w: {"number": booking(w, state).number}


def _code_for_unlock(w) -> dict:
    found = booking(w, "booked")
    if not hasattr(w, "_sharing_code"):
        w._sharing_code = access.issue_code(session=w.session, reservation=found)
        w.session.commit()
    vin = w.make.session.get(type(w.vehicle), hubs.get_car(session=w.session, car_id=found.car_id).vehicle_id).vin
    return {"vin": vin, "code": w._sharing_code}


def _free_car(w) -> dict:
    return {"car_id": fleet(w)[1][-1].id, "hours": 1, "quoted_deposit": "100.00"}


def _car(w) -> dict:
    return {"car_id": fleet(w)[1][-1].id}


def _damage(w) -> dict:
    if not hasattr(w, "_sharing_damage"):
        report = DamageReport(car_id=fleet(w)[1][-1].id, description="Cracked mirror")
        w.session.add(report)
        w.session.commit()
        w._sharing_damage = report
    return {"damage_id": w._sharing_damage.id}


def _photo(w) -> dict:
    """A photo taken at the return of customer A's booking."""
    if not hasattr(w, "_sharing_photo"):
        found = booking(w, "returned")
        store = PhotoStore(w.client.app.state.settings.photos_dir)
        [photo] = photos.attach(session=w.session, store=store, reservation=found, pictures=[check(pictures.png())])
        w.session.commit()
        w._sharing_photo = photo
    return {"photo_id": w._sharing_photo.id}


def _png(w) -> list:
    return [("photos", ("car.png", pictures.png(), "image/png"))]


def _hub(w) -> dict:
    fleet(w)
    return {}


def _licence(w) -> dict:
    return {"licence_number": "B072RRE2I55", "expires_on": (date.today() + timedelta(days=700)).isoformat()}


ROUTES: dict = {
    ("GET", "/api/sharing/hubs"): Rule(PUBLIC, query=lambda w: {"lat": 52.52, "lon": 13.40}),
    ("GET", "/sharing"): Rule(PUBLIC),
    # the driver's own
    ("GET", "/api/me/sharing"): Rule(SELF),
    ("POST", "/api/me/sharing/terms"): Rule(SELF),
    # customer B has not shown a licence: refused in words (422); customer A books
    ("POST", "/api/me/sharing/reservations"): Rule(SELF, params=_hub, json=_free_car, ok=(201, 422)),
    ("GET", "/api/me/sharing/reservations/{number}"): Rule(SELF, params=number("booked")),
    ("POST", "/api/me/sharing/reservations/{number}/confirm"): Rule(SELF, params=number("held")),
    ("POST", "/api/me/sharing/reservations/{number}/cancel"): Rule(SELF, params=number("booked")),
    ("POST", "/api/me/sharing/reservations/{number}/extend"): Rule(SELF, params=number("booked"),
                                                                   json=lambda w: {"minutes": 15}),
    ("POST", "/api/me/sharing/reservations/{number}/code"): Rule(SELF, params=number("booked")),
    ("POST", "/api/me/sharing/reservations/{number}/unlock"): Rule(SELF, params=number("booked"),
                                                                   json=_code_for_unlock),
    ("POST", "/api/me/sharing/reservations/{number}/lock"): Rule(SELF, params=number("unlocked")),
    ("POST", "/api/me/sharing/reservations/{number}/check-out"): Rule(SELF, params=number("unlocked"),
                                                                      json=lambda w: {"damage": ""}),
    ("POST", "/api/me/sharing/reservations/{number}/return"): Rule(SELF, params=number("active"),
                                                                   json=lambda w: {"damage": ""}),
    ("GET", "/me/sharing"): Rule(SELF),
    ("POST", "/me/sharing/terms"): Rule(SELF, form=lambda w: {}, ok=(303,)),
    ("POST", "/me/sharing/position"): Rule(SELF, form=lambda w: {"allow": "yes"}, ok=(303,)),
    ("POST", "/me/sharing/reserve"): Rule(SELF, params=_hub, form=_free_car, ok=(303,)),
    ("GET", "/me/sharing/{number}"): Rule(SELF, params=number("booked")),
    ("POST", "/me/sharing/{number}/confirm"): Rule(SELF, params=number("held"), form=lambda w: {}, ok=(303,)),
    ("POST", "/me/sharing/{number}/cancel"): Rule(SELF, params=number("booked"), form=lambda w: {}, ok=(303,)),
    ("POST", "/me/sharing/{number}/extend"): Rule(SELF, params=number("booked"), form=lambda w: {"minutes": "15"},
                                                  ok=(303,)),
    ("POST", "/me/sharing/{number}/code"): Rule(SELF, params=number("booked"), form=lambda w: {}, ok=(303,)),
    ("POST", "/me/sharing/{number}/unlock"): Rule(SELF, params=number("booked"), form=_code_for_unlock, ok=(303,)),
    ("POST", "/me/sharing/{number}/lock"): Rule(SELF, params=number("unlocked"), form=lambda w: {}, ok=(303,)),
    ("POST", "/me/sharing/{number}/check-out"): Rule(SELF, params=number("unlocked"), form=lambda w: {"damage": ""},
                                                     ok=(303,)),
    ("POST", "/me/sharing/{number}/return"): Rule(SELF, params=number("active"), form=lambda w: {}, ok=(303,)),
    ("POST", "/me/sharing/{number}/photos"): Rule(SELF, params=number("returned"), form=lambda w: {}, files=_png,
                                                  ok=(303,)),
    ("POST", "/me/sharing/{number}/position"): Rule(SELF, params=number("booked"), form=lambda w: {"allow": "yes"},
                                                    ok=(303,)),
    ("POST", "/me/sharing/{number}/stolen"): Rule(SELF, params=number("active"), form=lambda w: {}, ok=(303,)),
    ("GET", "/api/me/sharing/reservations/{number}/photos"): Rule(SELF, params=number("returned")),
    ("POST", "/api/me/sharing/reservations/{number}/photos"): Rule(SELF, params=number("returned"), files=_png,
                                                                   ok=(201,)),
    ("POST", "/api/me/sharing/reservations/{number}/stolen"): Rule(SELF, params=number("active")),
    ("PUT", "/api/me/sharing/reservations/{number}/position"): Rule(SELF, params=number("booked"), ok=(204,)),
    ("DELETE", "/api/me/sharing/reservations/{number}/position"): Rule(SELF, params=number("booked"), ok=(204,)),
    # the hub desk: dealer A's service staff
    ("GET", "/api/hub/board"): Rule(SERVICE, params=_hub),
    ("POST", "/api/hub/reservations/{number}/licence"): Rule(
        SERVICE, params=number("booked"), ok=(204,),
        json=lambda w: {"number": "B072RRE2I55", "expires_on": (date.today() + timedelta(days=700)).isoformat()}),
    ("POST", "/api/hub/reservations/{number}/close"): Rule(SERVICE, params=number("returned")),
    ("POST", "/api/hub/cars/{car_id}/service"): Rule(SERVICE, params=_car, ok=(204,),
                                                     json=lambda w: {"out_of_service": True, "note": "Windscreen"}),
    ("GET", "/workspace/hub"): Rule(SERVICE, params=_hub),
    ("GET", "/workspace/hub/stream"): Rule(SERVICE, params=_hub, query=lambda w: {"seconds": 0.3}),
    ("POST", "/workspace/hub/reservations/{number}/licence"): Rule(SERVICE, params=number("booked"), form=_licence,
                                                                    ok=(303,)),
    ("POST", "/workspace/hub/reservations/{number}/close"): Rule(SERVICE, params=number("returned"),
                                                                  form=lambda w: {}, ok=(303,)),
    ("POST", "/workspace/hub/cars/{car_id}/service"): Rule(SERVICE, params=_car, ok=(303,),
                                                           form=lambda w: {"out_of_service": "yes", "note": "Tyre"}),
    ("POST", "/workspace/hub/cars/{car_id}/ready"): Rule(SERVICE, params=_car, form=lambda w: {}, ok=(303,)),
    ("POST", "/workspace/hub/damage/{damage_id}/status"): Rule(SERVICE, params=_damage, ok=(303,),
                                                               form=lambda w: {"status": "repairing"}),
    ("POST", "/workspace/hub/stolen"): Rule(SERVICE, ok=(303,),
                                            form=lambda w: {"number": booking(w, "active").number, "stolen": "yes"}),
    ("POST", "/api/hub/damage/{damage_id}/status"): Rule(SERVICE, params=_damage, ok=(204,),
                                                         json=lambda w: {"status": "fixed"}),
    ("POST", "/api/hub/reservations/{number}/stolen"): Rule(SERVICE, params=number("active"), ok=(204,),
                                                            json=lambda w: {"stolen": True}),
    # photos: the booking's driver, the hub's service staff, the carmaker
    ("GET", "/sharing/photos/{photo_id}"): Rule(SHARING_PHOTO, params=_photo),
    ("GET", "/api/sharing/photos/{photo_id}"): Rule(SHARING_PHOTO, params=_photo),
    # the carmaker
    ("GET", "/admin/sharing"): Rule(ADMIN),
}
