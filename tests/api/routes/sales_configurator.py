"""Access-control classes of the configurator routes (see tests/api/test_access_control.py).

All public: anyone may configure a car, and whoever holds a configuration's code may open it (the code
is the key). What they return names a car and its price, never the person who configured it.
"""

from __future__ import annotations

from forecourt.sales import configurator
from tests.api.acl_rules import PUBLIC, Rule
from tests.factories import form_token_of


def _trim(w) -> dict:
    return {"trim_code": w.make.trim().code}


def _saved(w) -> dict:
    saved = configurator.save(session=w.session, trim_id=w.make.trim().id, option_codes=[],
                              customer_id=w.customer.id)  # a customer's own: still nothing of theirs shows
    w.session.commit()
    return {"code": configurator.display_code(saved.code)}


def _form(w) -> dict:
    return {"form_token": form_token_of(w.client, f"/configure/{w.make.trim().code}")}


ROUTES: dict = {
    ("GET", "/api/catalogue/trims/{trim_code}/options"): Rule(PUBLIC, params=_trim),
    ("POST", "/api/configurations/check"): Rule(PUBLIC, json=_trim),
    ("POST", "/api/configurations"): Rule(PUBLIC, json=_trim, anonymous=(201,)),
    ("GET", "/api/configurations/{code}"): Rule(PUBLIC, params=_saved),
    ("GET", "/api/configurations/{code}/qr.svg"): Rule(PUBLIC, params=_saved),
    ("GET", "/configure"): Rule(PUBLIC),
    ("GET", "/configure/{trim_code}"): Rule(PUBLIC, params=_trim),
    ("POST", "/configure/{trim_code}/check"): Rule(PUBLIC, params=_trim, form=_form),
    ("POST", "/configure/{trim_code}"): Rule(PUBLIC, params=_trim, form=_form, anonymous=(303,)),
    ("GET", "/c"): Rule(PUBLIC),
    ("GET", "/c/{code}"): Rule(PUBLIC, params=_saved),
}
