"""What a visitor notices first: a favicon, buttons whose words can be read, no stray bullets, and maps
that draw on the configured tile server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _contrast(page, selector: str) -> float:
    """WCAG contrast of an element's text against its own background (both opaque here)."""
    return page.eval_on_selector(selector, """element => {
        const rgb = value => value.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
        const lum = ([r, g, b]) => {
            const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
            return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
        };
        const style = getComputedStyle(element);
        const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))].sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);
    }""")


def test_every_page_has_a_favicon(new_context, live_server):
    page = new_context().new_page()
    page.goto("/login")
    icon = page.locator('link[rel="icon"]')
    expect(icon).to_have_attribute("href", "/static/favicon.svg")
    answer = page.request.get(live_server.url + "/static/favicon.svg")
    assert answer.ok and answer.headers["content-type"].startswith("image/svg+xml")
    # what browsers and bookmark tools ask for whatever the page links
    legacy = page.request.get(live_server.url + "/favicon.ico")
    assert legacy.ok and legacy.headers["content-type"].startswith("image/svg+xml") and legacy.body() == answer.body()


def test_a_danger_button_beside_others_is_readable_and_card_lists_have_no_bullets(new_context):
    page = new_context().new_page()
    page.goto("/login")
    page.evaluate("""() => {
        const main = document.querySelector("main") || document.body;
        main.insertAdjacentHTML("beforeend",
          '<button id="cancel" class="danger secondary">Cancel order</button>' +
          '<ul id="rows" class="plain"><li>one</li></ul><ul id="trims" class="trims"><li>two</li></ul>');
    }""")
    assert _contrast(page, "#cancel") >= 4.5
    for selector in ("#rows", "#trims"):
        assert page.eval_on_selector(selector, "e => getComputedStyle(e).listStyleType") == "none"


def test_maps_draw_on_the_configured_tile_server(new_context, live_server, world, seed_sessions):
    """The setting reaches the page and the Content-Security-Policy; the public OpenStreetMap servers are
    only the default."""
    from forecourt.assist import subscriptions
    from forecourt.consent import service as consent_service
    from tests.browser.test_live_trip import _carmaker
    from forecourt.core.clock import now
    from forecourt.core.db import transaction
    from forecourt.vehicles import service as vehicles_service
    from tests.browser.conftest import log_in

    with transaction(seed_sessions) as session:  # the car's On Call: its owner's live map needs it
        vehicle = vehicles_service.get_by_vin(session=session, vin=world.vin)
        subscriptions.included_on_sale(session=session, vehicle_id=vehicle.id, customer_id=world.customer_id,
                                       sold_on=now().date())
        consent_service.give(session=session, customer_id=world.customer_id, organization_id=_carmaker(session).id,
                             purpose_code="location_services", method="test")

    page = new_context().new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, world.customer_email)
    response = page.goto(f"/me/vehicles/{world.vin}")
    tiles = page.locator('meta[name="forecourt-map-tiles"]')
    expect(tiles).to_have_attribute("content", live_server.app.state.settings.map_tile_url)
    assert "https://*.tile.openstreetmap.org" in response.headers["content-security-policy"]
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url) if request.resource_type == "image" else None)
    page.route(re.compile(r"https://.*\\.png$"), lambda route: route.abort())  # no network here
    page.reload()
    assert page.locator("#vehicle-map").count() == 1, page.locator("main").inner_text()[:1500]
    page.wait_for_timeout(500)
    assert page.locator("#vehicle-map .leaflet-tile").count() > 0, (errors, page.locator("#vehicle-map").inner_html()[:500])
    page.wait_for_timeout(300)
    assert any("tile.openstreetmap.org" in url for url in requested)
