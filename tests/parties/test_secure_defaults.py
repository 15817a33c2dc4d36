"""Secure by default: session cookies are Secure unless the site is served on this machine over plain
HTTP, and HTTPS answers carry HSTS — without anyone having to remember a setting."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from forecourt.core.config import get_settings
from tests.factories import PASSWORD


@pytest.fixture
def default_app(database_url, session_factory):
    """The app with the settings a deployment gets when it sets nothing (the suite's own turn Secure off)."""
    from forecourt.web.app import create_app

    application = create_app(get_settings(database_url=database_url))
    application.state.sessionmaker = session_factory
    return application


def login_cookie(app, base_url: str, email: str) -> str:
    browser = TestClient(app, base_url=base_url)
    form = browser.get("/login")
    token = re.search(r'name="form_token" value="([^"]+)"', form.text).group(1)
    nonce = re.search(r"fc_form=([^;]+)", form.headers["set-cookie"]).group(1)
    # sent by hand: over plain HTTP the client (like a browser) keeps a Secure cookie to itself
    response = browser.post("/login", data={"email": email, "password": PASSWORD, "form_token": token},
                            headers={"Cookie": f"fc_form={nonce}"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return next(value for name, value in response.headers.multi_items()
                if name == "set-cookie" and value.startswith("fc_session="))


@pytest.mark.parametrize(("base_url", "secure"), [
    ("https://forecourt.example", True),
    ("http://forecourt.example", True),  # a deployment without TLS still keeps the cookie off plain HTTP
    ("http://192.168.1.20:8000", True),
    ("https://localhost:8000", True),
    ("http://localhost:8000", False),  # make run
    ("http://127.0.0.1:8000", False),
    ("http://[::1]:8000", False),
])
def test_the_session_cookie_is_secure_unless_served_locally_over_http(default_app, make, session, base_url, secure):
    staff = make.staff(make.dealer())
    session.commit()
    cookie = login_cookie(default_app, base_url, staff.email)
    assert ("; secure" in cookie.lower()) is secure, cookie
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_the_setting_still_decides_when_it_is_given(app, make, session):
    staff = make.staff(make.dealer())
    session.commit()
    assert "secure" not in login_cookie(app, "https://forecourt.example", staff.email).lower()  # cookie_secure=False


def test_the_visitor_form_cookie_follows_the_same_rule(default_app):
    remote = TestClient(default_app, base_url="https://forecourt.example").get("/login")
    local = TestClient(default_app, base_url="http://127.0.0.1:8000").get("/login")
    assert "; secure" in remote.headers["set-cookie"].lower()
    assert "; secure" not in local.headers["set-cookie"].lower()


def test_https_answers_carry_hsts_and_plain_http_ones_do_not(default_app):
    secure = TestClient(default_app, base_url="https://forecourt.example")
    for path in ("/login", "/api/purposes", "/no-such-page"):
        assert secure.get(path).headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert "strict-transport-security" not in TestClient(default_app, base_url="http://127.0.0.1:8000").get(
        "/login").headers
