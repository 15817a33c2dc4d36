"""Builders for test data: organizations, staff with tokens, customers, cars, grants."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from forecourt.assist import subscriptions
from forecourt.consent import service as consent_service
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


@dataclass
class Login:
    user_id: int
    email: str
    token: str
    organization_id: int | None = None
    customer_id: int | None = None

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Factory:
    session: Session
    client: object
    _trim_id: int | None = field(default=None)

    def n(self) -> int:
        return next(_counter)

    # organizations
    def organization(self, kind: str = "dealer", partner_kind: str | None = None, **values):
        i = self.n()
        defaults = dict(kind=kind, partner_kind=partner_kind, code=f"{kind[:3].upper()}-{i}",
                        name=f"Test {kind} {i}", city="Berlin", latitude=52.52, longitude=13.40,
                        # a partner without hours works around the clock (assist.availability)
                        opening_hours={} if kind == "partner" else {"mon": [["08:00", "18:00"]]},
                        service_bays=4 if kind == "dealer" else 0)
        return parties_service.create_organization(session=self.session, values=defaults | values)

    def dealer(self, **values):
        return self.organization("dealer", **values)

    def partner(self, partner_kind: str = "insurance", **values):
        return self.organization("partner", partner_kind=partner_kind, **values)

    def carmaker(self):
        try:
            return parties_service.carmaker(session=self.session)
        except Exception:
            return self.organization("carmaker")

    # people
    def _token(self, user) -> str:
        token, _ = parties_service.issue_token(session=self.session, user=user, kind="api",
                                               lifetime=timedelta(hours=1))
        self.session.commit()
        return token

    def staff(self, organization=None, role: Role | None = None) -> Login:
        organization = organization or self.dealer()
        role = role or {"dealer": Role.DEALER_SALES, "partner": Role.PARTNER_ANALYST,
                        "carmaker": Role.CARMAKER_ADMIN}[organization.kind]
        email = f"staff{self.n()}@example.test"
        user = parties_service.create_user(session=self.session, email=email, password=PASSWORD,
                                           display_name=f"Staff {email}", role=role,
                                           organization_id=organization.id)
        return Login(user_id=user.id, email=email, token=self._token(user), organization_id=organization.id)

    def principal(self, login: Login):
        """The principal the services take for a login made here."""
        return parties_service.principal_for(parties_service.get_user(session=self.session, user_id=login.user_id))

    def customer(self, **profile):
        i = self.n()
        email = profile.pop("email", f"driver{i}@example.test")
        defaults = dict(first_name="Dana", last_name=f"Driver{i}", city="Hamburg", phone="+49 40 123456")
        return customers_service.sign_up(session=self.session, email=email, password=PASSWORD,
                                         profile=defaults | profile)

    def customer_login(self, customer) -> Login:
        user = parties_service.customer_account(session=self.session, customer_id=customer.id)
        return Login(user_id=user.id, email=user.email, token=self._token(user), customer_id=customer.id)

    # vehicles
    def trim(self):
        if self._trim_id is None:
            i = self.n()
            model = vehicles_service.create_model(session=self.session, code=f"M{i}", name=f"Aurora {i}",
                                                  body="hatchback", year_from=2015)
            self._trim_id = vehicles_service.create_trim(session=self.session, model_id=model.id, code=f"T{i}",
                                                         name="Comfort", propulsion="electric", year_from=2015,
                                                         base_price=35000).id
        return vehicles_service.get_trim(session=self.session, trim_id=self._trim_id)

    def vin(self) -> str:
        return vehicles_service.with_check_digit(f"WFC1A2B30RA{self.n():06d}")

    def vehicle(self, owner=None, dealer=None, since: datetime | None = None, **values):
        vehicle = vehicles_service.register(session=self.session, vin=values.pop("vin", self.vin()),
                                            trim_id=self.trim().id, model_year=values.pop("model_year", 2024),
                                            colour=values.pop("colour", "Glacier white"), **values)
        if owner is not None:
            vehicles_service.transfer(session=self.session, vehicle_id=vehicle.id, customer_id=owner.id,
                                      at=since or now() - timedelta(days=400),
                                      dealer_id=dealer.id if dealer else None)
        return vehicle

    def on_call(self, vehicle, sold_on: date | None = None):
        """The On Call a new car comes with (three years unless terms say otherwise): the owner's live
        map and remote status need it. ``sold_on`` defaults to the day the current owner bought it."""
        ownership = vehicles_service.current_ownership(session=self.session, vehicle_id=vehicle.id)
        sold_on = sold_on or (ownership.started_at.date() if ownership else now().date())
        return subscriptions.included_on_sale(session=self.session, vehicle_id=vehicle.id,
                                              customer_id=ownership.customer_id if ownership else None,
                                              sold_on=sold_on)

    def service_record(self, vehicle, dealer=None, on: date | None = None, odometer_km: int = 15000):
        return vehicles_service.add_service_record(
            session=self.session, vehicle_id=vehicle.id, dealer_id=dealer.id if dealer else None,
            performed_on=on or date.today() - timedelta(days=30), odometer_km=odometer_km,
            kind="inspection", summary="Annual inspection", operations=["Brake check"], total_cost=189.0)

    # consent
    def grant(self, customer, organization, purpose: str = "sales_contact"):
        grant = consent_service.give(session=self.session, customer_id=customer.id,
                                     organization_id=organization.id, purpose_code=purpose, method="test")
        self.session.commit()
        return grant

    def withdraw(self, customer, organization, purpose: str = "sales_contact"):
        consent_service.withdraw(session=self.session, customer_id=customer.id,
                                 organization_id=organization.id, purpose_code=purpose, method="test")
        self.session.commit()


# --- additions for the access-control and security suites (additive: existing builders unchanged) ---

def form_token_of(browser, page: str = "/login") -> str:
    """The signed token a visitor's login or signup form carries (and sets the nonce cookie)."""
    import re

    html = browser.get(page).text
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match, f"{page} has no form token"
    return match.group(1)


def submit_login(browser, email: str, password: str, **kwargs):
    """POST /login the way a browser does: after loading the form."""
    data = {"email": email, "password": password, "form_token": form_token_of(browser)} | kwargs.pop("data", {})
    return browser.post("/login", data=data, **kwargs)


def browser_for(factory: Factory, login: Login | None = None, *, password: str = PASSWORD):
    """A separate TestClient with its own cookie jar, logged in through the HTML form (POST /login)."""
    from fastapi.testclient import TestClient

    # Each browser has its own address, so login rate limiting (per address) never mixes two tests' attempts.
    i = factory.n()
    browser = TestClient(factory.client.app, base_url="http://testserver", headers={"Accept-Language": "en"},
                         client=(f"10.{i // 65000 % 250}.{i // 250 % 250}.{i % 250 + 1}", 50000))
    if login is not None:
        response = submit_login(browser, login.email, password, follow_redirects=False)
        assert response.status_code == 303, f"cookie login failed for {login.email}: {response.status_code}"
        assert browser.cookies.get("fc_session"), "POST /login set no session cookie"
    return browser


def csrf_token_of(session: Session, browser) -> str:
    """The CSRF token the server issued with this browser's session (what every page's forms carry)."""
    from sqlalchemy import select

    from forecourt.core import auth
    from forecourt.parties.models import AuthToken

    cookie = browser.cookies.get("fc_session")
    row = session.scalars(select(AuthToken).where(AuthToken.digest == auth.token_digest(cookie))).one()
    return row.csrf_token


def admin_login(factory: Factory) -> Login:
    """A carmaker administrator (the carmaker organization is made on first use)."""
    return factory.staff(factory.carmaker(), Role.CARMAKER_ADMIN)


# Real argon2id parameters cost ~0.5 s a hash on a test machine; the access-control and security
# suites make hundreds of logins. Their conftests opt into this fixture: still argon2id, cheaper cost.
# ``REAL_PASSWORD_HASHER`` is what production uses (tests assert its parameters meet OWASP's minimum).
from forecourt.core import auth as _auth  # noqa: E402

REAL_PASSWORD_HASHER = _auth._hasher


def _fast_password_hashing_fixture():
    import pytest
    from argon2 import PasswordHasher, Type

    @pytest.fixture(autouse=True)
    def fast_password_hashing(monkeypatch):
        monkeypatch.setattr(_auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1,
                                                             type=Type.ID))
        yield

    return fast_password_hashing


fast_password_hashing = _fast_password_hashing_fixture()
