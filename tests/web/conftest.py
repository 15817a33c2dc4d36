"""Page tests log in through the login form, as a person would, and post forms with the CSRF token."""

from __future__ import annotations

import re
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, submit_login

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Visitor:
    """One browser: its own cookie jar, logged in as one person."""

    def __init__(self, client: TestClient):
        self.client = client
        self.csrf_token = ""

    def get(self, url: str, **kwargs):
        response = self.client.get(url, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.csrf_token = found.group(1)
        return response

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf_token)
        return self.client.post(url, data=data, follow_redirects=kwargs.pop("follow_redirects", False), **kwargs)


@pytest.fixture
def visit(app, session):
    """``visit(email)`` gives a fresh browser logged in as that person (``None``: logged out)."""
    with ExitStack() as stack:
        def open_as(email: str | None = None, password: str = PASSWORD) -> Visitor:
            session.commit()  # release the factories' savepoint so the app's session sees their rows
            visitor = Visitor(stack.enter_context(TestClient(app, base_url="http://testserver",
                                                                    headers={"Accept-Language": "en"})))
            if email is not None:
                response = submit_login(visitor.client, email, password, follow_redirects=False)
                assert response.status_code == 303, response.text
                visitor.get(response.headers["location"])
            return visitor

        yield open_as
