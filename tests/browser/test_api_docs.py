"""The API reference at /docs in Chromium: Swagger UI comes from this server and runs under the CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_docs_render_the_operations_without_any_other_host(new_context, live_server):
    context = new_context()
    elsewhere: list[str] = []
    context.route("**/*", lambda route: (route.continue_() if route.request.url.startswith(live_server.url)
                                         else (elsewhere.append(route.request.url), route.abort())))
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    response = page.goto("/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]  # the policy stays strict
    # the first request builds the whole OpenAPI document, which takes a while on a slow machine
    expect(page.locator(".opblock").first).to_be_visible(timeout=60_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/configurations/check").first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    assert not elsewhere, elsewhere
    assert not refused, refused
