"""The access-control suite, driven by the OpenAPI document.

Every operation the app publishes (``app.openapi()["paths"]``, JSON routes and HTML pages alike,
plus any route hidden from the schema) must appear in ``ROUTES`` below with a class that says who
may reach it. Each class has generic checks that build requests from the path template:

* ``customer_data``  a specific customer's data, read (or acted on) by staff and partners:
  404 and no access-log row without a grant; 2xx and one access-log row for the caller's
  organization with a grant whose purpose covers the route's data category; organizations and
  purposes are isolated from each other; withdrawal closes the next read.
* ``customer_list``  lists or exports customers: a customer is absent unless they granted the
  caller's organization the purpose read for.
* ``self``           the customer's own data (/api/me..., /me...): only that customer; another
  customer never reaches or changes it, staff get 404, anonymous callers must log in.
* ``admin``          carmaker administrators only; everybody else gets the same 404 (web/deps.py
  ``_only`` hides the route rather than answering 403) and nothing changes.
* ``dealer``         dealer staff acting on stock (no customer data): others get 404.
* ``public``         anyone, without logging in; never carries customer data.
* ``auth``           logging in and out and signing up.

A new route that is not in the table fails ``test_every_route_is_classified`` with its name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.parties.models import AuditEntry
from tests.api.acl_rules import (LENDER, STEWARD, ADMIN, AGENT, AUTH, CONSENT_PURPOSES, CUSTOMER_DATA, CUSTOMER_LIST, DEALER, KINDS,
                                  OTHER_BASIS_PURPOSES, PROVIDER, PUBLIC, SELF, SERVICE, Rule)
from tests.api.routes import more_routes
from tests.customers.linked import rows_linked_to
from tests.factories import PASSWORD, Factory, Login, admin_login, browser_for, csrf_token_of, form_token_of


# Who reads for what (``consent.catalogue.ROLE_PURPOSES``): the dealer's sales team, its workshop, partners.
SALES_PURPOSES = {"sales_contact", "marketing_offers"}
SERVICE_PURPOSES = {"service_reminders", "vehicle_health_sharing", "location_services"}
PARTNER_KIND_FOR = {"driving_behaviour_insurance": "insurance", "marketing_offers": "finance",
                    "location_services": "roadside"}


def _org_json(w: World) -> dict:
    return {"kind": "dealer", "code": f"ACL-{w.make.n()}", "name": "Access Control Motors", "city": "Kiel"}


def _user_json(w: World) -> dict:
    return {"email": f"acl{w.make.n()}@forecourt.example", "display_name": "New Advisor", "password": PASSWORD,
            "role": "dealer_service", "organization_id": w.dealer.id}


def _signup(w: World) -> dict:
    return {"email": f"signup{w.make.n()}@forecourt.example", "first_name": "Sig", "last_name": "Nup"}


def _signup_form(w: World) -> dict:
    return _signup(w) | {"form_token": form_token_of(w.client, "/signup")}


def _stock(w: World) -> dict:
    return {"vin": w.stock_vehicle.vin}


# (METHOD, path template) -> Rule. Keep every operation of the app here; the guard below insists.
ROUTES: dict[tuple[str, str], Rule] = {
    # --- auth ------------------------------------------------------------------------------------
    ("POST", "/api/auth/token"): Rule(AUTH, json=lambda w: {"email": w.rep.email, "password": PASSWORD},
                                      anonymous=(200,)),
    ("POST", "/api/auth/logout"): Rule(AUTH, anonymous=(401,)),
    ("POST", "/api/auth/signup"): Rule(AUTH, json=_signup, anonymous=(202,)),
    ("GET", "/login"): Rule(AUTH),
    ("POST", "/login"): Rule(AUTH, form=lambda w: {"email": w.rep.email, "password": PASSWORD,
                                                   "form_token": form_token_of(w.client, "/login")},
                             anonymous=(303,)),
    ("POST", "/logout"): Rule(AUTH, anonymous=(303,)),
    # The language switch: the caller's own setting (a visitor's cookie); touches nobody else's data.
    ("POST", "/language"): Rule(AUTH, form=lambda w: {"language": "de", "next": "/"}, anonymous=(303,)),
    ("GET", "/signup"): Rule(AUTH),
    ("POST", "/signup"): Rule(AUTH, form=_signup_form, anonymous=(200,)),
    # --- public ----------------------------------------------------------------------------------
    ("GET", "/"): Rule(PUBLIC),
    ("GET", "/api/catalogue/models"): Rule(PUBLIC),
    ("GET", "/api/dealers"): Rule(PUBLIC),
    ("GET", "/api/dealers/nearest"): Rule(PUBLIC, query=lambda w: {"lat": 52.5, "lon": 13.4}),
    ("GET", "/api/partners"): Rule(PUBLIC),
    ("GET", "/api/purposes"): Rule(PUBLIC),
    ("GET", "/api/notices/current"): Rule(PUBLIC),
    ("GET", "/api/health"): Rule(PUBLIC),
    # Devices: an embedded car proves itself with its device secret (phones: tests/api/routes/identity.py).
    ("POST", "/api/telemetry/{vin}"): Rule(AUTH, json=lambda w: {"timestamp": 1763625600, "Vehicle.Speed": 42.0},
                                          anonymous=(401,)),
    # FastAPI's own documentation (hidden from the schema, found through app.routes)
    ("GET", "/openapi.json"): Rule(PUBLIC),
    ("GET", "/docs"): Rule(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Rule(PUBLIC),
    ("GET", "/favicon.ico"): Rule(PUBLIC),
    ("GET", "/redoc"): Rule(PUBLIC),
    # --- the customer's own data -----------------------------------------------------------------
    ("GET", "/api/me"): Rule(SELF),
    ("PATCH", "/api/me"): Rule(SELF, json=lambda w: {"city": "Bremen"}),
    ("GET", "/api/me/preferences"): Rule(SELF),
    ("PATCH", "/api/me/preferences"): Rule(SELF, json=lambda w: {"radio_presets": ["NDR 2"]}),
    ("GET", "/api/me/vehicles"): Rule(SELF),
    ("PATCH", "/api/me/vehicles/{vin}"): Rule(SELF, json=lambda w: {"service_dealer_id": w.dealer_b.id}),
    ("GET", "/api/me/vehicles/{vin}/service-history"): Rule(SELF),
    ("GET", "/api/me/vehicles/{vin}/devices"): Rule(SELF),
    ("POST", "/api/me/vehicles/{vin}/phone"): Rule(SELF, json=lambda w: {"identifier": f"phone-app-{w.make.n()}"},
                                                   ok=(201,)),
    ("GET", "/api/me/consents"): Rule(SELF),
    ("PUT", "/api/me/consents/{organization_id}/{purpose}"): Rule(SELF),
    ("DELETE", "/api/me/consents/{organization_id}/{purpose}"): Rule(SELF, ok=(204,)),
    ("GET", "/api/me/consent-receipts"): Rule(SELF),
    ("GET", "/api/me/access-log"): Rule(SELF),
    ("GET", "/api/me/export"): Rule(SELF),
    ("GET", "/api/me/export/schema"): Rule(SELF),
    ("POST", "/api/me/erase"): Rule(SELF),
    # the portal pages (cookie session; forms carry the CSRF token)
    ("GET", "/me"): Rule(SELF),
    ("GET", "/me/profile"): Rule(SELF),
    ("POST", "/me/profile"): Rule(SELF, form=lambda w: {"first_name": "Changed", "last_name": "Bypage",
                                                        "city": "Bremen"}, ok=(303,)),
    ("POST", "/me/preferences"): Rule(SELF, form=lambda w: {"radio_preset": "NDR 2"}, ok=(303,)),
    ("GET", "/me/privacy"): Rule(SELF),
    ("POST", "/me/privacy/{organization_id}/{purpose}"): Rule(SELF, form=lambda w: {"allow": "yes"}, ok=(303,)),
    ("GET", "/me/access-log"): Rule(SELF),
    ("GET", "/me/data"): Rule(SELF),
    ("GET", "/me/data/export"): Rule(SELF),
    ("GET", "/me/data/erase"): Rule(SELF),
    ("POST", "/me/data/erase"): Rule(SELF, form=lambda w: {"confirm": "erase"}),
    ("GET", "/me/vehicles/{vin}"): Rule(SELF),
    ("GET", "/me/vehicles/{vin}/live"): Rule(SELF),
    ("GET", "/me/vehicles/{vin}/stream"): Rule(SELF, query=lambda w: {"seconds": 0.3}),
    # --- one customer's data, for staff and partners ---------------------------------------------
    ("GET", "/api/customers/{customer_id}"): Rule(CUSTOMER_DATA, purpose="sales_contact"),
    ("GET", "/api/customers/{customer_id}/profile"): Rule(CUSTOMER_DATA, purpose="sales_contact",
                                                          not_covering="location_services"),
    ("GET", "/api/customers/{customer_id}/vehicles"): Rule(CUSTOMER_DATA, purpose="sales_contact"),
    ("GET", "/api/customers/{customer_id}/service-history"): Rule(CUSTOMER_DATA, purpose="service_reminders",
                                                                  not_covering="sales_contact"),
    ("GET", "/api/customers/{customer_id}/preferences"): Rule(CUSTOMER_DATA, purpose="sales_contact",
                                                              not_covering="marketing_offers"),
    ("GET", "/api/customers/{customer_id}/consents"): Rule(CUSTOMER_DATA, purpose="marketing_offers"),
    ("GET", "/api/vehicles/{vin}/driving-score"): Rule(CUSTOMER_DATA, purpose="driving_behaviour_insurance",
                                                       not_covering="location_services", reads_purpose=False),
    ("GET", "/api/vehicles/{vin}"): Rule(CUSTOMER_DATA, purpose="location_services"),
    ("GET", "/api/vehicles/{vin}/service-history"): Rule(CUSTOMER_DATA, purpose="vehicle_health_sharing",
                                                         not_covering="marketing_offers"),
    ("GET", "/api/vehicles/{vin}/ownership"): Rule(CUSTOMER_DATA, purpose="sales_contact"),
    ("GET", "/workspace/customers/{customer_id}"): Rule(CUSTOMER_DATA, purpose="sales_contact"),
    ("GET", "/workspace/vehicles/{vin}"): Rule(CUSTOMER_DATA, purpose="location_services"),
    ("GET", "/workspace/vehicles/{vin}/live"): Rule(CUSTOMER_DATA, purpose="vehicle_health_sharing"),
    ("GET", "/workspace/vehicles/{vin}/stream"): Rule(CUSTOMER_DATA, purpose="vehicle_health_sharing",
                                                      query=lambda w: {"seconds": 0.3}),
    ("POST", "/api/vehicles/{vin}/sale"): Rule(CUSTOMER_DATA, purpose="sales_contact", reads_purpose=False,
                                               dealers_only=True, params=_stock,
                                               json=lambda w: {"customer_id": w.customer.id}, ok=(201,)),
    # --- lists of customers ----------------------------------------------------------------------
    ("GET", "/api/customers"): Rule(CUSTOMER_LIST, purpose="sales_contact"),
    ("GET", "/api/customers.csv"): Rule(CUSTOMER_LIST, purpose="marketing_offers"),
    ("GET", "/workspace/customers"): Rule(CUSTOMER_LIST, purpose="service_reminders"),
    # --- dealer stock ----------------------------------------------------------------------------
    ("POST", "/api/vehicles"): Rule(DEALER, json=lambda w: {"vin": w.make.vin(), "trim_id": w.make.trim().id,
                                                            "model_year": 2025}, ok=(201,)),
    # --- carmaker administration -----------------------------------------------------------------
    ("GET", "/api/admin/organizations"): Rule(ADMIN),
    ("POST", "/api/admin/organizations"): Rule(ADMIN, json=_org_json, ok=(201,)),
    ("PATCH", "/api/admin/organizations/{organization_id}"): Rule(ADMIN, json=lambda w: {"name": "Renamed Motors"}),
    ("GET", "/api/admin/users"): Rule(ADMIN),
    ("POST", "/api/admin/users"): Rule(ADMIN, json=_user_json, ok=(201,)),
    ("PATCH", "/api/admin/users/{user_id}"): Rule(ADMIN, json=lambda w: {"display_name": "Renamed Rep"}),
    ("GET", "/api/admin/audit"): Rule(ADMIN),
    ("POST", "/api/admin/vehicles/{vin}/devices"): Rule(
        ADMIN, json=lambda w: {"kind": "tracker", "identifier": f"35630704244{w.make.n() % 10000:04d}"}, ok=(201,)),
    ("GET", "/api/admin/telemetry/rejections"): Rule(ADMIN),
    # the administration pages
    ("GET", "/admin/organizations"): Rule(ADMIN),
    ("POST", "/admin/organizations"): Rule(ADMIN, form=_org_json, ok=(303,)),
    ("GET", "/admin/organizations/{organization_id}"): Rule(ADMIN),
    ("POST", "/admin/organizations/{organization_id}"): Rule(ADMIN, form=lambda w: {"name": "Renamed Motors"},
                                                             ok=(303,)),
    ("GET", "/admin/users"): Rule(ADMIN),
    ("POST", "/admin/users"): Rule(ADMIN, form=_user_json, ok=(303,)),
    ("POST", "/admin/users/{user_id}/active"): Rule(ADMIN, form=lambda w: {"active": "no"}, ok=(303,)),
    ("GET", "/admin/audit"): Rule(ADMIN),
    ("GET", "/admin/fleet"): Rule(ADMIN),
    ("GET", "/admin/fleet/stream"): Rule(ADMIN, query=lambda w: {"seconds": 0.3}),
} | more_routes()


# --- the guard: every operation of the app is classified -----------------------------------------

def operations(app: FastAPI) -> set[tuple[str, str]]:
    """Every (METHOD, path) the app serves: the OpenAPI document plus routes hidden from it."""
    found = {(method.upper(), path) for path, item in app.openapi()["paths"].items()
             for method in item if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}}
    for route in app.routes:
        if getattr(route, "include_in_schema", True) is False and hasattr(route, "methods"):
            found |= {(method, route.path) for method in route.methods if method != "HEAD"}
    return found


def unclassified(app: FastAPI, table: dict = ROUTES) -> list[str]:
    """``METHOD /path`` of every operation the table does not classify (empty when all are)."""
    return [f"{method} {path}" for method, path in sorted(operations(app)) if (method, path) not in table]


def classification_problem(app: FastAPI, table: dict = ROUTES) -> str | None:
    missing = unclassified(app, table)
    if not missing:
        return None
    return ("These routes are not classified in tests/api/test_access_control.py ROUTES:\n  "
            + "\n  ".join(missing)
            + f"\nClassify each as one of {sorted(KINDS)}, with the recipe to call it, so the "
              "access-control suite checks who can reach it.")


def test_every_route_is_classified(app):
    problem = classification_problem(app)
    assert problem is None, problem


def test_no_stale_entries_in_the_table(app):
    stale = sorted(set(ROUTES) - operations(app))
    assert not stale, f"ROUTES names operations the app no longer has (remove them): {stale}"


def test_table_uses_known_classes_and_purposes():
    for key, rule in ROUTES.items():
        assert rule.kind in KINDS, key
        if rule.kind in (CUSTOMER_DATA, CUSTOMER_LIST):
            assert rule.purpose in CONSENT_PURPOSES, key
        if rule.not_covering:
            assert rule.not_covering in CONSENT_PURPOSES, key


def test_guard_reports_a_new_route(settings):
    """The guard itself: a route added to a fresh app, in or out of the schema, is named."""
    from forecourt.web.app import create_app

    fresh = create_app(settings)
    baseline = unclassified(fresh)  # empty when test_every_route_is_classified passes

    @fresh.get("/api/customers/{customer_id}/secret-notes")
    def secret_notes(customer_id: int):  # pragma: no cover - never called
        return {}

    @fresh.post("/workspace/hidden", include_in_schema=False)
    def hidden():  # pragma: no cover - never called
        return {}

    fresh.openapi_schema = None
    assert sorted(set(unclassified(fresh)) - set(baseline)) == [
        "GET /api/customers/{customer_id}/secret-notes", "POST /workspace/hidden"]
    problem = classification_problem(fresh)
    assert "GET /api/customers/{customer_id}/secret-notes" in problem and "Classify each" in problem
    # and the test that uses the guard fails on it
    with pytest.raises(AssertionError, match="secret-notes"):
        test_every_route_is_classified(fresh)


# --- the world every check runs in ---------------------------------------------------------------

@dataclass
class World:
    """Two dealers, a partner, the carmaker, their staff; customer A with a car and history; customer B."""

    make: Factory
    session: object
    client: object
    _browsers: dict = field(default_factory=dict)
    _partners: dict = field(default_factory=dict)

    @cached_property
    def dealer(self):
        return self.make.dealer()

    @cached_property
    def dealer_b(self):
        return self.make.dealer()

    @cached_property
    def partner(self):
        return self.make.partner("insurance")

    @cached_property
    def rep(self) -> Login:
        return self.make.staff(self.dealer, Role.DEALER_SALES)

    @cached_property
    def rep_b(self) -> Login:
        return self.make.staff(self.dealer_b, Role.DEALER_SALES)

    @cached_property
    def advisor_b(self) -> Login:
        return self.make.staff(self.dealer_b, Role.DEALER_SERVICE)

    @cached_property
    def advisor(self) -> Login:
        return self.make.staff(self.dealer, Role.DEALER_SERVICE)

    def reader(self, purpose: str) -> tuple:
        """The organization and the one of its staff whose role reads for this purpose (each role states
        only the purposes of its work): the dealer's sales team or workshop, else a partner's analyst."""
        if purpose in SALES_PURPOSES:
            return self.dealer, self.rep
        if purpose in SERVICE_PURPOSES:
            return self.dealer, self.advisor
        return self.partner_reader(PARTNER_KIND_FOR[purpose])

    def partner_reader(self, kind: str) -> tuple:
        """A partner of this kind and its analyst (the insurer is ``partner``/``analyst``)."""
        if kind == "insurance":
            return self.partner, self.analyst
        if kind not in self._partners:
            partner = self.make.partner(kind)
            self._partners[kind] = (partner, self.make.staff(partner, Role.PARTNER_ANALYST))
        return self._partners[kind]

    @cached_property
    def analyst(self) -> Login:
        return self.make.staff(self.partner, Role.PARTNER_ANALYST)

    @cached_property
    def admin(self) -> Login:
        return admin_login(self.make)

    @cached_property
    def agent(self) -> Login:
        return self.make.staff(self.make.carmaker(), Role.CALL_CENTRE_AGENT)

    @cached_property
    def customer(self):
        marker = self.make.n()
        return self.make.customer(first_name="Aurelia", last_name=f"Zeppelinfeld{marker}",
                                  email=f"aurelia.{marker}@owner.example")

    @cached_property
    def vehicle(self):
        vehicle = self.make.vehicle(owner=self.customer, dealer=self.dealer, since=now() - timedelta(days=300))
        self.make.service_record(vehicle, self.dealer, on=date.today() - timedelta(days=40))
        self.make.on_call(vehicle)  # the owner's live page needs a current subscription
        self.session.commit()
        return vehicle

    @cached_property
    def stock_vehicle(self):
        return self.make.vehicle(selling_dealer_id=self.dealer.id)  # the dealer's own stock

    @cached_property
    def other(self):
        marker = self.make.n()
        customer = self.make.customer(first_name="Bruno", last_name=f"Quastenflosser{marker}",
                                      email=f"bruno.{marker}@other.example")
        self.make.vehicle(owner=customer, dealer=self.dealer_b)
        return customer

    @cached_property
    def me(self) -> Login:
        self.vehicle  # noqa: B018 - the customer owns a car before logging in
        return self.make.customer_login(self.customer)

    @cached_property
    def other_me(self) -> Login:
        return self.make.customer_login(self.other)

    def markers(self) -> list[str]:
        """Strings that appear only in customer A's data."""
        return [self.customer.email, self.customer.last_name, self.vehicle.vin]

    def browser(self, login: Login):
        if login.email not in self._browsers:
            self._browsers[login.email] = browser_for(self.make, login)
        return self._browsers[login.email]

    def values(self) -> dict:
        return {"customer_id": self.customer.id, "vin": self.vehicle.vin, "organization_id": self.dealer.id,
                "purpose": "sales_contact", "user_id": self.rep.user_id}

    def prepare(self, key: tuple[str, str]) -> dict:
        """Path values, query and body of one call, made once: recipes may create what they name (an order, a
        car), so calls that must name the same object (or leave the database as it was) share one preparation."""
        rule = ROUTES[key]
        return {"params": self.values() | (rule.params(self) if rule.params else {}),
                "query": rule.query(self) if rule.query else {},
                "json": rule.json(self) if rule.json else None,
                "form": rule.form(self) if rule.form else None,
                "files": rule.files(self) if rule.files else None}

    def call(self, key: tuple[str, str], caller: Login | None, *, purpose: str | None = None,
             prepared: dict | None = None):
        method, template = key
        rule = ROUTES[key]
        prepared = prepared or self.prepare(key)
        url = template.format(**prepared["params"])
        query = dict(prepared["query"])
        if purpose is not None:
            query = query | {"purpose": purpose}
        kwargs: dict = {"params": query, "follow_redirects": False}
        headers: dict = {}
        form = prepared["form"]
        if rule.json:
            kwargs["json"] = prepared["json"]
        page = not template.startswith("/api/")
        client = self.client
        if caller is not None and page:
            client = self.browser(caller)
            if method != "GET":
                token = csrf_token_of(self.session, client)
                if rule.json:
                    headers["X-CSRF-Token"] = token
                else:
                    form = (form or {}) | {"csrf_token": token}
        elif caller is not None:
            headers.update(caller.headers)
        if form is not None:
            kwargs["data"] = form
        if prepared.get("files"):
            kwargs["files"] = prepared["files"]
        return client.request(method, url, headers=headers, **kwargs)

    def grant(self, organization, purpose: str) -> None:
        self.make.grant(self.customer, organization, purpose)

    def log_rows(self, organization=None, purpose: str | None = None) -> int:
        query = select(func.count(AccessLogEntry.id)).where(AccessLogEntry.customer_id == self.customer.id)
        if organization is not None:
            query = query.where(AccessLogEntry.organization_id == organization.id)
        if purpose is not None:
            query = query.where(AccessLogEntry.purpose_code == purpose)
        return self.session.scalar(query)


@pytest.fixture
def w(make, session, client) -> World:
    world = World(make=make, session=session, client=client)
    world.vehicle  # noqa: B018 - customer A owns a car with a service record in every scenario
    world.other  # noqa: B018
    return world


def keys_of(kind: str, predicate: Callable[[Rule], bool] = lambda rule: True) -> list:
    return [pytest.param(key, id=f"{key[0]} {key[1]}") for key, rule in ROUTES.items()
            if rule.kind == kind and predicate(rule)]


@pytest.fixture(scope="module")
def published(settings) -> set[tuple[str, str]]:
    """The app's operations, computed once (building the OpenAPI document is slow)."""
    from forecourt.web.app import create_app

    return operations(create_app(settings))


def assert_present(published, key) -> None:
    assert key in published, f"{key} is in ROUTES but not in the app: remove or fix the entry"


def assert_no_leak(w: World, response) -> None:
    for marker in w.markers():
        assert marker not in response.text, f"customer A's {marker!r} leaked in {response.status_code} response"


def status(response) -> int:
    return response.status_code


# --- customer_data -------------------------------------------------------------------------------

@pytest.mark.parametrize("key", keys_of(CUSTOMER_DATA))
def test_customer_data_is_404_without_grant_and_logs_nothing(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    # Other organizations hold grants for everything, so the dealer and partner are refused for
    # want of their own grant, not because the customer has none at all.
    for purpose in CONSENT_PURPOSES:
        w.make.grant(w.customer, w.dealer_b, purpose)
    before = w.log_rows()
    for caller in (w.rep, w.analyst, w.agent, w.admin):
        for purpose in ({rule.purpose, None} if rule.reads_purpose else {None}):
            response = w.call(key, caller, purpose=purpose)
            assert status(response) == 404, (caller.email, purpose, response.text)
            assert_no_leak(w, response)
    for customer in (w.me, w.other_me):  # customers never use staff routes, not even about themselves
        response = w.call(key, customer, purpose=rule.purpose if rule.reads_purpose else None)
        assert status(response) == 404
    assert status(w.call(key, None)) in (401, 303)
    assert w.log_rows() == before, "a refused read wrote to the access log"


def _callers_with_grant() -> list:
    params = []
    for key, rule in ROUTES.items():
        if rule.kind != CUSTOMER_DATA:
            continue
        for who in ("dealer", "partner"):
            if who == "partner" and rule.dealers_only:
                continue  # checked in test_dealer_only_customer_data_stays_closed_to_partners
            if who == "dealer" and rule.purpose not in SALES_PURPOSES | SERVICE_PURPOSES:
                continue  # no dealer role reads for it (test_role_purposes.py)
            if who == "partner" and rule.purpose not in PARTNER_KIND_FOR:
                continue  # no partner's role reads for it
            params.append(pytest.param(key, who, id=f"{who}: {key[0]} {key[1]}"))
    return params


@pytest.mark.parametrize(("key", "who"), _callers_with_grant())
def test_customer_data_opens_with_a_covering_grant_and_is_logged(published, w, key, who):
    assert_present(published, key)
    rule = ROUTES[key]
    organization, caller = (w.reader(rule.purpose) if who == "dealer"
                            else w.partner_reader(PARTNER_KIND_FOR[rule.purpose]))
    w.grant(organization, rule.purpose)
    before = w.log_rows(organization, rule.purpose)
    response = w.call(key, caller, purpose=rule.purpose if rule.reads_purpose else None)
    assert status(response) in rule.ok, response.text
    assert w.log_rows(organization, rule.purpose) == before + 1
    entry = w.session.scalars(select(AccessLogEntry).where(AccessLogEntry.customer_id == w.customer.id)
                              .order_by(AccessLogEntry.id.desc())).first()
    assert (entry.organization_id, entry.user_id, entry.purpose_code, entry.legal_basis) == (
        organization.id, caller.user_id, rule.purpose, "consent")
    # the grant is the organization's, not the person's: nobody else was logged or let in
    assert w.log_rows(w.dealer_b) == 0


@pytest.mark.parametrize("key", keys_of(CUSTOMER_DATA, lambda rule: rule.dealers_only))
def test_dealer_only_customer_data_stays_closed_to_partners(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    w.grant(w.partner, rule.purpose)
    assert status(w.call(key, w.analyst)) == 404
    assert w.log_rows(w.partner) == 0


@pytest.mark.parametrize("key", keys_of(CUSTOMER_DATA))
def test_customer_data_organization_isolation(published, w, key):
    """Dealer A's grant does not open the customer to dealer B (or to a partner)."""
    assert_present(published, key)
    rule = ROUTES[key]
    holder, reader = w.reader(rule.purpose)
    w.grant(holder, rule.purpose)
    purpose = rule.purpose if rule.reads_purpose else None
    for caller in (w.rep_b, w.analyst, w.rep, w.advisor):
        if caller is reader or caller.organization_id == holder.id:
            continue
        response = w.call(key, caller, purpose=purpose)
        assert status(response) == 404
        assert_no_leak(w, response)
    assert w.log_rows(w.dealer_b) == 0 and (holder is w.partner or w.log_rows(w.partner) == 0)
    assert status(w.call(key, reader, purpose=purpose)) in rule.ok  # the grant itself works


@pytest.mark.parametrize("key", keys_of(CUSTOMER_DATA))
def test_customer_data_purpose_isolation(published, w, key):
    """A grant for one purpose does not open reads for another."""
    assert_present(published, key)
    rule = ROUTES[key]
    if rule.reads_purpose:
        w.grant(w.dealer, "service_reminders")
        for caller, purpose in ((w.rep, "marketing_offers"), (w.advisor, "vehicle_health_sharing")):
            response = w.call(key, caller, purpose=purpose)
            assert status(response) == 404
            assert_no_leak(w, response)
        assert w.log_rows(w.dealer) == 0
        assert status(w.call(key, w.advisor, purpose="service_reminders")) in rule.ok
    else:
        for purpose in CONSENT_PURPOSES:
            if purpose != rule.purpose:
                w.grant(w.dealer, purpose)
        assert status(w.call(key, w.rep)) == 404
        assert w.log_rows(w.dealer) == 0


@pytest.mark.parametrize("key", keys_of(CUSTOMER_DATA, lambda rule: rule.not_covering is not None))
def test_customer_data_needs_a_purpose_that_covers_its_category(published, w, key):
    """e.g. service history is not part of sales contact: a sales_contact grant does not show it."""
    assert_present(published, key)
    rule = ROUTES[key]
    organization, reader = w.reader(rule.not_covering)
    w.grant(organization, rule.not_covering)
    response = w.call(key, reader, purpose=rule.not_covering)
    assert status(response) == 404, response.text
    assert_no_leak(w, response)
    assert w.log_rows(organization) == 0


@pytest.mark.parametrize("key", keys_of(CUSTOMER_DATA, lambda rule: rule.reads_purpose))
def test_customer_data_is_never_opened_by_api_for_other_legal_bases_or_unknown_purposes(published, w, key):
    """Vital interest, legal obligation and contract need a case reference, which these routes never carry."""
    assert_present(published, key)
    for purpose in CONSENT_PURPOSES:
        w.grant(w.dealer, purpose)
    for caller in (w.rep, w.advisor):
        for purpose in [*OTHER_BASIS_PURPOSES, "no_such_purpose"]:
            response = w.call(key, caller, purpose=purpose)
            assert status(response) == 404, (purpose, response.text)
            assert_no_leak(w, response)
    assert w.log_rows(w.dealer) == 0


@pytest.mark.parametrize("key", keys_of(CUSTOMER_DATA))
def test_customer_data_withdrawal_closes_the_next_read(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    purpose = rule.purpose if rule.reads_purpose else None
    holder, reader = w.reader(rule.purpose)
    w.grant(holder, rule.purpose)
    if rule.reads_purpose:  # a second read works too: repeatable reads are not one-shot
        assert status(w.call(key, reader, purpose=purpose)) in rule.ok
    # the customer withdraws through their own API, then the very next read is refused
    assert w.client.delete(f"/api/me/consents/{holder.id}/{rule.purpose}", headers=w.me.headers).status_code == 204
    before = w.log_rows()
    response = w.call(key, reader, purpose=purpose)
    assert status(response) == 404
    assert w.log_rows() == before


# --- customer_list -------------------------------------------------------------------------------

@pytest.mark.parametrize("key", keys_of(CUSTOMER_LIST))
def test_customer_list_shows_only_customers_who_granted(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    granted = w.make.customer(email=f"listed.{w.make.n()}@granted.example")
    w.make.grant(granted, w.dealer, rule.purpose)
    reader = w.rep if rule.purpose in SALES_PURPOSES else w.advisor
    reader_b = w.rep_b if rule.purpose in SALES_PURPOSES else w.make.staff(w.dealer_b, Role.DEALER_SERVICE)
    # customer A granted the purpose to dealer B only, and another purpose to dealer A
    w.grant(w.dealer_b, rule.purpose)
    other_purpose = next(p for p in CONSENT_PURPOSES if p != rule.purpose and (
        p in SALES_PURPOSES) == (rule.purpose in SALES_PURPOSES))  # another purpose the same role reads for
    w.grant(w.dealer, other_purpose)

    response = w.call(key, reader, purpose=rule.purpose)
    assert status(response) == 200
    assert granted.email in response.text
    assert_no_leak(w, response)
    assert w.log_rows() == 0
    listed = w.session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.customer_id == granted.id, AccessLogEntry.organization_id == w.dealer.id))
    assert listed == 1, "listing a customer is an access the customer sees"

    # dealer B sees A under its own grant, and not the customer who granted dealer A
    response_b = w.call(key, reader_b, purpose=rule.purpose)
    assert status(response_b) == 200
    assert w.customer.email in response_b.text and granted.email not in response_b.text

    # purpose isolation: A's other_purpose grant does not list A for rule.purpose and vice versa
    response_other = w.call(key, reader_b, purpose=other_purpose)
    assert status(response_other) == 200 and w.customer.email not in response_other.text

    # the partner holds nothing; a purpose resting on another legal basis lists nobody
    assert granted.email not in w.call(key, w.analyst, purpose=rule.purpose).text
    for purpose in OTHER_BASIS_PURPOSES:
        response = w.call(key, reader, purpose=purpose)
        assert status(response) in (200, 400) and granted.email not in response.text
    # and the dealer's other team, whose role does not read for the purpose, lists nobody
    other_team = w.advisor if reader is w.rep else w.rep
    assert granted.email not in w.call(key, other_team, purpose=rule.purpose).text

    # customers have no such list; anonymous callers must log in
    assert status(w.call(key, w.me, purpose=rule.purpose)) == 404
    assert status(w.call(key, None, purpose=rule.purpose)) in (401, 303)

    # withdrawal: gone from the next list
    w.make.withdraw(granted, w.dealer, rule.purpose)
    assert granted.email not in w.call(key, reader, purpose=rule.purpose).text


# --- self ----------------------------------------------------------------------------------------

# Path parameters that name one of customer A's own things: customer B gets 404 on them.
OWN_OBJECTS = ("{vin}", "{number}", "{device_id}", "{transfer_id}", "{offer_id}", "{message_id}")


@pytest.mark.parametrize("key", keys_of(SELF))
def test_self_routes_reach_only_the_callers_own_data(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    # staff hold every grant customer A can give: their own routes still do not exist for them
    for purpose in CONSENT_PURPOSES:
        w.grant(w.dealer, purpose)
    w.me  # noqa: B018 - A has a login
    if rule.params:
        rule.params(w)  # what the path names (A's order, say) exists before the snapshot
    before = rows_linked_to(w.session, w.customer.id)

    for staff in (w.rep, w.analyst, w.agent, w.admin):
        response = w.call(key, staff)
        assert status(response) == 404, (staff.email, response.text)
        assert_no_leak(w, response)
    anonymous = w.call(key, None)
    assert status(anonymous) == (303 if not key[1].startswith("/api/") else 401)
    assert_no_leak(w, anonymous)

    # customer B, calling the same path (with A's VIN or order number where the path names one)
    response = w.call(key, w.other_me)
    if any(name in key[1] for name in OWN_OBJECTS):
        assert status(response) == 404
    else:
        assert status(response) in rule.ok + (303,), response.text
    assert_no_leak(w, response)
    w.session.expire_all()
    assert rows_linked_to(w.session, w.customer.id) == before, "someone else's call changed customer A's data"

    # and customer A reaches it (so the refusals above are about the caller, not a broken recipe)
    response = w.call(key, w.me)
    assert status(response) in rule.ok + (303,), response.text


# --- admin ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", keys_of(ADMIN))
def test_admin_routes_are_for_carmaker_admins_only(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    audit_before = w.session.scalar(select(func.count(AuditEntry.id)))
    refused = {}
    for caller in (w.rep, w.analyst, w.agent, w.me):
        refused[caller.email] = status(w.call(key, caller))
    assert set(refused.values()) == {404}, f"non-admins must all get the same 404: {refused}"
    assert status(w.call(key, None)) == (303 if not key[1].startswith("/api/") else 401)
    assert w.session.scalar(select(func.count(AuditEntry.id))) == audit_before, "a refused admin call was audited"
    response = w.call(key, w.admin)
    assert status(response) in rule.ok + (303,), response.text
    if key[0] != "GET":
        assert w.session.scalar(select(func.count(AuditEntry.id))) == audit_before + 1, "admin change not audited"


# --- a partner's own offers --------------------------------------------------------------------------

@pytest.mark.parametrize("key", keys_of(STEWARD))
def test_steward_routes_reach_only_the_callers_own_organizations_offers(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    names_one = "{offer_id}" in key[1]
    for caller in (w.analyst, w.agent, w.admin, w.rep_b) if names_one else ():
        response = w.call(key, caller)
        assert status(response) == 404, (caller.email, response.text)
    assert status(w.call(key, w.me)) == 404
    assert status(w.call(key, None)) in (401, 303)
    response = w.call(key, w.rep)
    assert status(response) in rule.ok, response.text


# --- a finance partner's own contracts -------------------------------------------------------------

@pytest.mark.parametrize("key", keys_of(LENDER))
def test_lender_routes_reach_only_the_finance_partners_own_contracts(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    prepared = w.prepare(key)  # customer A granted the lender its purpose; a contract of theirs exists
    rival = w.make.staff(w.make.partner("finance"), Role.PARTNER_ANALYST)
    for caller in (rival, w.analyst, w.rep, w.advisor, w.agent, w.admin, w.me):
        response = w.call(key, caller, prepared=prepared)
        if key[0] == "GET" and "{" not in key[1]:
            assert status(response) in (200, 404) and (status(response) == 404 or response.json() == []), (
                caller.email, response.text)
        else:
            assert status(response) == 404, (caller.email, response.text)
        if caller is not w.me:
            assert_no_leak(w, response)
    assert status(w.call(key, None, prepared=prepared)) in (401, 303)
    assert status(w.call(key, w.partner_reader("finance")[1], prepared=prepared)) in rule.ok


# --- dealer stock --------------------------------------------------------------------------------

@pytest.mark.parametrize("key", keys_of(DEALER))
def test_dealer_routes_are_for_dealer_staff_only(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    for caller in (w.analyst, w.agent, w.admin, w.me):
        assert status(w.call(key, caller)) == 404, caller.email
    assert status(w.call(key, None)) in (401, 303)
    assert status(w.call(key, w.rep)) in rule.ok


# --- a dealer's service staff (courtesy cars) ----------------------------------------------------

@pytest.mark.parametrize("key", keys_of(SERVICE))
def test_service_routes_are_for_the_dealers_own_service_staff_only(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    for caller in (w.rep, w.advisor_b, w.analyst, w.agent, w.admin, w.me):
        response = w.call(key, caller)
        assert status(response) == 404, (caller.email, response.text)
        if caller is not w.me:  # customer A's own 404 page names A in the top bar: that is no leak
            assert_no_leak(w, response)
    assert status(w.call(key, None)) in (401, 303)
    assert status(w.call(key, w.advisor)) in rule.ok


# --- call-centre agents (On Call) ----------------------------------------------------------------

@pytest.mark.parametrize("key", keys_of(AGENT))
def test_agent_routes_are_for_call_centre_agents_only(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    for caller in (w.rep, w.analyst, w.admin, w.me):
        response = w.call(key, caller)
        assert status(response) == 404, (caller.email, response.text)
        if caller is not w.me:  # customer A's own 404 page names A in the top bar: that is no leak
            assert_no_leak(w, response)
    assert status(w.call(key, None)) in (401, 303)
    assert status(w.call(key, w.agent)) in rule.ok + (303,)


# --- providers answering a dispatch ------------------------------------------------------------------

@pytest.mark.parametrize("key", keys_of(PROVIDER))
def test_provider_routes_are_for_the_dispatched_providers_staff_only(published, w, key):
    from tests.api.routes.oncall_dispatch import tow_partner

    assert_present(published, key)
    rule = ROUTES[key]
    for caller in (w.rep, w.analyst, w.agent, w.admin, w.me):
        response = w.call(key, caller)
        assert status(response) == 404, (caller.email, response.text)
        assert_no_leak(w, response)
    assert status(w.call(key, None)) == 401
    assert status(w.call(key, w.make.staff(tow_partner(w)))) in rule.ok


# --- public and auth -----------------------------------------------------------------------------

@pytest.mark.parametrize("key", keys_of(PUBLIC) + keys_of(AUTH))
def test_public_and_auth_routes_answer_anonymous_callers(published, w, key):
    assert_present(published, key)
    rule = ROUTES[key]
    response = w.call(key, None)
    assert status(response) in rule.anonymous, response.text
    assert_no_leak(w, response)


# --- what an open door shows ---------------------------------------------------------------------

def test_customer_360_shows_only_the_categories_the_purpose_covers(w):
    w.grant(w.dealer, "location_services")  # vehicles and location: no contact, history or preferences
    body = w.client.get(f"/api/customers/{w.customer.id}", params={"purpose": "location_services"},
                        headers=w.advisor.headers).json()
    assert body["categories"] == ["vehicles", "location"]
    assert [v["vehicle"]["vin"] for v in body["vehicles"]] == [w.vehicle.vin]
    assert body["service_history"] == [] and body["preferences"] is None
    for column in ("email", "phone", "street", "postcode", "city", "country", "birth_date"):
        assert body["customer"][column] is None, column
    page = w.browser(w.advisor).get(f"/workspace/customers/{w.customer.id}", params={"purpose": "location_services"})
    assert page.status_code == 200 and w.vehicle.vin in page.text and w.customer.email not in page.text

    w.grant(w.dealer, "service_reminders")  # contact, vehicles, service history, preferences
    body = w.client.get(f"/api/customers/{w.customer.id}", params={"purpose": "service_reminders"},
                        headers=w.advisor.headers).json()
    assert body["customer"]["email"] == w.customer.email and body["customer"]["phone"] == w.customer.phone
    assert len(body["service_history"]) == 1 and body["preferences"] is not None
    assert [c["purpose_code"] for c in body["consents"]] == ["location_services", "service_reminders"]


def test_default_purpose_follows_the_role(w):
    """Without ``?purpose=`` a service advisor reads for service reminders, a sales rep for sales contact."""
    advisor = w.make.staff(w.dealer, Role.DEALER_SERVICE)
    w.grant(w.dealer, "service_reminders")
    assert w.client.get(f"/api/customers/{w.customer.id}", headers=advisor.headers).json()["purpose"] == (
        "service_reminders")
    assert w.client.get(f"/api/customers/{w.customer.id}", headers=w.rep.headers).status_code == 404
    w.grant(w.partner, "driving_behaviour_insurance")
    body = w.client.get(f"/api/customers/{w.customer.id}", headers=w.analyst.headers).json()
    assert body["purpose"] == "driving_behaviour_insurance" and body["customer"]["email"] is None
