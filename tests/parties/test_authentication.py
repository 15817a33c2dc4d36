"""Passwords, logins, rate limiting, bearer tokens, inactive users and CSRF on cookie sessions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import Type
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from forecourt.core import auth
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at, now
from forecourt.core.errors import Invalid, TooManyAttempts
from forecourt.core.outbox import OutboxMessage
from forecourt.customers import email_links
from forecourt.parties import service as parties_service
from forecourt.parties.models import AuthToken, LoginAttempt, User
from tests.factories import PASSWORD, REAL_PASSWORD_HASHER, admin_login, browser_for, csrf_token_of, submit_login


def user_of(session, login) -> User:
    session.expire_all()
    return session.get(User, login.user_id)


def token_for(client, email, password=PASSWORD):
    return client.post("/api/auth/token", json={"email": email, "password": password})


# --- passwords -----------------------------------------------------------------------------------

def test_passwords_are_stored_as_argon2id(make, client, session):
    """A password chosen through the link a sign-up sends, and a staff member's."""
    email_links.request_account(session=session, email="hash.me@forecourt.example",
                                profile={"first_name": "Hash", "last_name": "Me"})
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "account_link")).one()
    email_links.claim(session=session, token=message.link.rsplit("/", 1)[1], password=PASSWORD)
    stored = session.scalars(select(User).where(User.email == "hash.me@forecourt.example")).one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    staff = make.staff(make.dealer())
    assert user_of(session, staff).password_hash.startswith("$argon2id$")


def test_the_production_hasher_meets_owasp_minimums():
    """OWASP: argon2id with at least m=19 MiB, t=2, p=1."""
    assert REAL_PASSWORD_HASHER.type is Type.ID
    assert REAL_PASSWORD_HASHER.memory_cost >= 19 * 1024 and REAL_PASSWORD_HASHER.time_cost >= 2
    assert REAL_PASSWORD_HASHER.parallelism >= 1


def test_a_weaker_hash_is_upgraded_at_the_next_login(make, session, monkeypatch, settings):
    staff = make.staff(make.dealer())  # hashed with the cheap test parameters
    weak = user_of(session, staff).password_hash
    monkeypatch.setattr(auth, "_hasher", REAL_PASSWORD_HASHER)
    user = parties_service.authenticate(session=session, email=staff.email, password=PASSWORD, address="198.51.100.1",
                                        max_failures=5, window_seconds=900)
    assert user.password_hash != weak and not auth.needs_rehash(user.password_hash)
    assert auth.verify_password(user.password_hash, PASSWORD)


def test_signup_takes_no_password_and_the_link_refuses_a_short_one(client, session):
    response = client.post("/api/auth/signup", json={"email": "short@forecourt.example", "password": PASSWORD,
                                                     "first_name": "S", "last_name": "P"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "password"]
    email_links.request_account(session=session, email="short@forecourt.example", profile={})
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "account_link")).one()
    with pytest.raises(Invalid) as short:
        email_links.claim(session=session, token=message.link.rsplit("/", 1)[1], password="123456789")
    assert short.value.field == "password"


# --- bearer tokens -------------------------------------------------------------------------------

def test_bearer_token_login_works_and_logout_revokes_it(make, client, session):
    customer = make.customer()
    login = make.customer_login(customer)
    response = token_for(client, login.email)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["role"] == "customer"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/me", headers=headers).json()["id"] == customer.id
    # only a digest is stored
    digests = session.scalars(select(AuthToken.digest).where(AuthToken.user_id == login.user_id)).all()
    assert auth.token_digest(body["access_token"]) in digests and body["access_token"] not in digests

    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    refused = client.get("/api/me", headers=headers)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/me", headers=login.headers).status_code == 200  # other tokens still work


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "bearer x.y.z"])
def test_unknown_tokens_are_refused(client, header):
    response = client.get("/api/me", headers={"Authorization": header})
    assert response.status_code == 401


def test_expired_tokens_and_session_tokens_are_refused_as_bearer(make, client, session):
    staff = make.staff(make.dealer())
    row = session.scalars(select(AuthToken).where(AuthToken.digest == auth.token_digest(staff.token))).one()
    row.expires_at = now() - timedelta(seconds=1)
    session.commit()
    assert client.get("/api/customers", headers=staff.headers).status_code == 401
    browser = browser_for(make, staff)
    cookie = browser.cookies.get("fc_session")
    assert client.get("/api/customers", headers={"Authorization": f"Bearer {cookie}"}).status_code == 401


def test_no_credentials_means_401_for_the_api_and_the_login_page_for_pages(client):
    response = client.get("/api/me")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    page = client.get("/me", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=/me")


# --- inactive users ------------------------------------------------------------------------------

def test_an_inactive_user_cannot_log_in_and_loses_their_tokens(make, client, session):
    admin = admin_login(make)
    staff = make.staff(make.dealer())
    response = client.patch(f"/api/admin/users/{staff.user_id}", headers=admin.headers, json={"is_active": False})
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert client.get("/api/customers", headers=staff.headers).status_code == 401
    refused = token_for(client, staff.email)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["msg"] == "Wrong e-mail or password."  # same words as a wrong password
    assert submit_login(client, staff.email, PASSWORD, follow_redirects=False).status_code == 400
    client.patch(f"/api/admin/users/{staff.user_id}", headers=admin.headers, json={"is_active": True})
    assert token_for(client, staff.email).status_code == 200


def test_an_inactive_users_session_that_survived_is_still_refused(make, client, session):
    staff = make.staff(make.dealer())
    user = user_of(session, staff)
    user.is_active = False  # changed behind the service's back: tokens not revoked
    session.commit()
    assert client.get("/api/customers", headers=staff.headers).status_code == 401


# --- rate limiting -------------------------------------------------------------------------------

def test_strangers_failing_on_an_email_never_lock_its_owner_out(make, client, settings):
    """Attack: five wrong passwords from anywhere used to lock the account for everyone, owner included."""
    staff = make.staff(make.dealer())
    for i in range(3):
        stranger = TestClient(client.app, base_url="http://testserver", client=(f"203.0.113.{i + 1}", 4000))
        for _ in range(settings.login_max_failures):
            assert token_for(stranger, staff.email, "wrong-password!").status_code == 422
        slowed = token_for(stranger, staff.email)  # the stranger waits, even with the right password
        assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) > 0
        page = submit_login(stranger, staff.email, PASSWORD, follow_redirects=False)
        assert page.status_code == 429 and "try again" in page.text.lower()
    # the owner, from their own address, gets in at once, by API and by the form
    assert token_for(client, staff.email).status_code == 200
    assert submit_login(browser_for(make), staff.email, PASSWORD, follow_redirects=False).status_code == 303


def test_failures_per_address_lock_that_address_for_every_email(make, client, settings):
    victim = make.staff(make.dealer())
    guesser = TestClient(client.app, base_url="http://testserver", client=("198.51.100.23", 5000))
    for i in range(settings.login_max_failures):
        assert token_for(guesser, f"nobody{i}@forecourt.example", "guess-guess-guess").status_code == 422
    assert token_for(guesser, victim.email).status_code == 429
    # the victim, from their own address, is not affected
    assert token_for(client, victim.email).status_code == 200


def test_a_failing_address_backs_off_doubling_up_to_the_window(make, session):
    staff = make.staff(make.dealer())
    t0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)

    def attempt(password, at, address="192.0.2.1"):
        with frozen_at(at):
            return parties_service.authenticate(session=session, email=staff.email, password=password,
                                                address=address, max_failures=3, window_seconds=600,
                                                backoff_seconds=30)

    for _ in range(3):
        with pytest.raises(Invalid):
            attempt("wrong-password!", t0)
    waits = []
    moment = t0
    for _ in range(5):  # each further failure doubles the wait
        with pytest.raises(TooManyAttempts) as slowed:
            attempt(PASSWORD, moment)  # while it waits, even the right password is not tried
        waits.append(slowed.value.retry_after)
        moment += timedelta(seconds=slowed.value.retry_after)
        with pytest.raises(Invalid):
            attempt("wrong-password!", moment)
    assert waits == [30, 60, 120, 240, 480]
    assert attempt(PASSWORD, moment, address="198.51.100.4").id == staff.user_id  # other clients never waited
    # the early failures have left the window: the address is judged on the recent ones only
    assert attempt(PASSWORD, moment).id == staff.user_id


def test_success_forgives_that_clients_typos_on_that_account_only(make, session):
    staff, other = make.staff(make.dealer()), make.staff(make.dealer())
    t0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)

    def attempt(email, password, at):
        with frozen_at(at):
            return parties_service.authenticate(session=session, email=email, password=password,
                                                address="192.0.2.1", max_failures=3, window_seconds=600)

    for email in (staff.email, other.email):
        with pytest.raises(Invalid):
            attempt(email, "wrong-password!", t0)
    assert attempt(staff.email, PASSWORD, t0 + timedelta(seconds=1)).id == staff.user_id
    left = session.scalars(select(LoginAttempt.email).where(LoginAttempt.address == "192.0.2.1")).all()
    assert left == [other.email]  # guessing at other accounts is not forgiven by logging in to one's own
    for _ in range(2):
        with pytest.raises(Invalid):
            attempt(other.email, "wrong-password!", t0 + timedelta(seconds=2))
    with pytest.raises(TooManyAttempts):
        attempt(staff.email, PASSWORD, t0 + timedelta(seconds=3))
    assert attempt(staff.email, PASSWORD, t0 + timedelta(seconds=601)).id == staff.user_id  # the window passed


def test_a_failed_attempt_is_kept_although_the_request_fails(make, client, session):
    staff = make.staff(make.dealer())
    token_for(client, staff.email, "wrong-password!")
    session.expire_all()
    rows = session.scalars(select(LoginAttempt).where(LoginAttempt.email == staff.email)).all()
    assert len(rows) == 1 and rows[0].address == "testclient"


# --- cookie sessions and CSRF --------------------------------------------------------------------

def test_the_session_cookie_is_httponly_and_samesite(make):
    staff = make.staff(make.dealer())
    browser = browser_for(make)
    response = submit_login(browser, staff.email, PASSWORD, follow_redirects=False)
    cookie = response.headers["set-cookie"]
    assert "fc_session=" in cookie and "HttpOnly" in cookie and re.search("samesite=lax", cookie, re.I)


def test_logout_form_without_the_csrf_token_is_refused(make, session):
    customer = make.customer()
    browser = browser_for(make, make.customer_login(customer))
    refused = browser.post("/logout", follow_redirects=False)
    assert refused.status_code == 403
    assert browser.get("/me", follow_redirects=False).status_code == 200  # still logged in
    wrong = browser.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert wrong.status_code == 403

    token = csrf_token_of(session, browser)
    cookie = browser.cookies.get("fc_session")
    done = browser.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/login")
    assert session.scalar(select(func.count(AuthToken.id)).where(
        AuthToken.digest == auth.token_digest(cookie))) == 0
    replay = browser_for(make)
    replay.cookies.set("fc_session", cookie)
    assert replay.get("/me", follow_redirects=False).status_code == 303  # the old cookie opens nothing


def test_api_writes_with_cookie_auth_need_the_csrf_header(make, session):
    customer = make.customer()
    browser = browser_for(make, make.customer_login(customer))
    assert browser.get("/api/me").status_code == 200  # reads need no token
    assert browser.patch("/api/me", json={"city": "Lübeck"}).status_code == 403
    assert browser.patch("/api/me", json={"city": "Lübeck"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert browser.get("/api/me").json()["city"] == customer.city
    ok = browser.patch("/api/me", json={"city": "Lübeck"}, headers={"X-CSRF-Token": csrf_token_of(session, browser)})
    assert ok.status_code == 200 and ok.json()["city"] == "Lübeck"


def test_one_sessions_csrf_token_does_not_work_for_another(make, session):
    first = browser_for(make, make.customer_login(make.customer()))
    second_customer = make.customer()
    second = browser_for(make, make.customer_login(second_customer))
    stolen = csrf_token_of(session, first)
    assert second.patch("/api/me", json={"city": "Kiel"}, headers={"X-CSRF-Token": stolen}).status_code == 403


def test_bearer_requests_need_no_csrf_token(make, client):
    login = make.customer_login(make.customer())
    assert client.patch("/api/me", json={"city": "Rostock"}, headers=login.headers).status_code == 200


def test_roles_come_from_the_account_not_the_request(make, client):
    """A customer presenting staff-looking input is still a customer."""
    login = make.customer_login(make.customer())
    assert client.get("/api/customers", headers=login.headers | {"X-Role": Role.CARMAKER_ADMIN.value}).status_code == 404
