"""Access-control classes of the phone, remote lock and e-mail link routes (see tests/api/test_access_control.py).

A phone proves itself with the token at the end of its server URL, like an embedded car with its
secret (AUTH): anyone else gets the same 401. The owner pairs and removes phones of their own car
(SELF; "{device_id}" names a phone paired with customer A's car, once per test). The links e-mailed
to customers are their own credential (AUTH): a wrong one is the same 404 for everybody.
"""

from __future__ import annotations

from forecourt.core import auth
from forecourt.telematics import devices
from tests.api.acl_rules import AUTH, SELF, Rule
from tests.factories import form_token_of


def phone_of_a(w) -> dict:
    """A phone paired with customer A's car (the same one for every call of a test)."""
    if not hasattr(w, "_phone_of_a"):
        w._phone_of_a, _ = devices.pair_phone(session=w.session, vehicle_id=w.vehicle.id,
                                              identifier=f"phone-of-a-{w.make.n()}", label=None)
        w.session.commit()
    return {"device_id": w._phone_of_a.id}


def _connected_car_of_a(w) -> None:
    """Customer A's car gets its own connected unit (once per test), so it can take commands."""
    if not getattr(w, "_car_of_a_connected", False):
        from forecourt.telematics.readings import Source

        devices.register(session=w.session, kind=Source.EMBEDDED, identifier=w.vehicle.vin, vehicle_id=w.vehicle.id)
        w.session.commit()
        w._car_of_a_connected = True


def _connected(w) -> dict:
    _connected_car_of_a(w)
    return {}


def command_of_a(w) -> dict:
    """A lock command to customer A's connected car (the same one for every call of a test)."""
    if not hasattr(w, "_command_of_a"):
        from datetime import timedelta

        from forecourt.core.clock import now
        from forecourt.telematics import commands

        _connected_car_of_a(w)
        w._command_of_a = commands.request(session=w.session, vin=w.vehicle.vin, action="lock", reason="owner:app",
                                           deadline=timedelta(seconds=30), now=now())
        w.session.commit()
    return {"command_id": w._command_of_a.id}


def _wrong_token(w) -> dict:
    return {"token": auth.new_token()}


def _position(w) -> dict:
    return {"id": "123456", "timestamp": "1763625600", "lat": "52.5", "lon": "13.4", "alarm": "accident"}


def _visitor_form(w, **values) -> dict:
    return values | {"form_token": form_token_of(w.client, "/signup")}


ROUTES: dict = {
    # the phone app (Traccar Client) and its token
    ("GET", "/osmand"): Rule(AUTH, query=_position, anonymous=(401,)),
    ("POST", "/osmand"): Rule(AUTH, query=_position, anonymous=(401,)),
    ("GET", "/osmand/{token}"): Rule(AUTH, params=_wrong_token, query=_position, anonymous=(401,)),
    ("POST", "/osmand/{token}"): Rule(AUTH, params=_wrong_token, query=_position, anonymous=(401,)),
    # the owner pairs and removes the phones of their own car
    ("GET", "/me/vehicles/{vin}/phone"): Rule(SELF),
    ("POST", "/me/vehicles/{vin}/phone"): Rule(SELF, form=lambda w: {"identifier": f"phone-{w.make.n()}"}),
    ("POST", "/me/vehicles/{vin}/phones/{device_id}/unpair"): Rule(SELF, params=phone_of_a, ok=(303,)),
    ("DELETE", "/api/me/vehicles/{vin}/devices/{device_id}"): Rule(SELF, params=phone_of_a, ok=(204,)),
    # the owner locks and unlocks their own connected car and follows the command
    ("POST", "/api/me/vehicles/{vin}/lock"): Rule(SELF, params=_connected, ok=(202,)),
    ("POST", "/api/me/vehicles/{vin}/unlock"): Rule(SELF, params=_connected, ok=(202,)),
    ("GET", "/api/me/vehicles/{vin}/commands/{command_id}"): Rule(SELF, params=command_of_a),
    # ... and from the car's page: a form, then the page follows the car's answer
    ("POST", "/me/vehicles/{vin}/lock"): Rule(SELF, params=_connected, ok=(303,)),
    ("POST", "/me/vehicles/{vin}/unlock"): Rule(SELF, params=_connected, ok=(303,)),
    ("GET", "/me/vehicles/{vin}/commands/{command_id}"): Rule(SELF, params=command_of_a),
    # links e-mailed to customers: set a password, allow a dealer to make contact
    ("GET", "/account/claim/{token}"): Rule(AUTH, params=_wrong_token, anonymous=(404,)),
    ("POST", "/account/claim/{token}"): Rule(AUTH, params=_wrong_token, anonymous=(404,),
                                             form=lambda w: _visitor_form(w, password="long-enough-1",
                                                                          password_again="long-enough-1")),
    # forgot password: the same answer for every address, known or not
    ("GET", "/account/forgot"): Rule(AUTH),
    ("POST", "/account/forgot"): Rule(AUTH, anonymous=(200,), form=lambda w: {
        "email": "nobody@example.test", "form_token": form_token_of(w.client, "/account/forgot")}),
    ("GET", "/contact/confirm/{token}"): Rule(AUTH, params=_wrong_token, anonymous=(404,)),
    ("POST", "/contact/confirm/{token}"): Rule(AUTH, params=_wrong_token, anonymous=(404,), form=_visitor_form),
}
