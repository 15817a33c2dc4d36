"""Each of the six demo personas uses Forecourt on a phone (390 × 844) in Chromium: the navigation folds
behind a "Menu" button, every page it leads to opens, and no page is wider than the screen (wide
tables scroll inside themselves). Runs on the demo network ``make run`` builds, smaller."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect
from rich.console import Console

from bench.workday import PASSWORD, PERSONAS
from forecourt.core.config import get_settings
from forecourt.demo.network import build_demo_network
from forecourt.web.app import create_app
from tests.browser.conftest import _free_port

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp/shots/phone-tour")


@pytest.fixture(scope="module")
def demo_server(fresh_database_url):
    url = fresh_database_url("phonetour")
    settings = get_settings(database_url=url)
    build_demo_network(settings=settings, customers=120, dealers=6, console=Console(file=io.StringIO()))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=_free_port(),
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the demo server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(10)


# What sticks out, to say in the failure which element is too wide.
WIDEST = """[...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > 391)
    .slice(0, 5).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def _wider_than_the_screen(page) -> int:
    # against the phone's width, not innerWidth: a mobile browser zooms out to fit a page too wide
    return page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)") - PHONE["width"]


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_every_persona_finds_every_page_on_a_phone(browser, demo_server, persona):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(base_url=demo_server, viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_label("E-mail").fill(PERSONAS[persona])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login" not in url)

        menu = page.get_by_role("button", name="Menu")
        expect(menu).to_be_visible()
        expect(page.locator("#site-menu nav")).to_be_hidden()  # folded until asked for
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        page.screenshot(path=str(SHOTS / f"{persona}-menu.png"))
        links = page.locator("#site-menu nav a")
        expect(links.first).to_be_visible()
        hrefs = links.evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
        assert hrefs, "the menu offers nothing"

        for href in hrefs:
            answer = page.goto(href)
            assert answer is not None and answer.status < 400, (href, answer and answer.status)
            expect(page.locator("h1").first).to_be_visible()
            assert _wider_than_the_screen(page) <= 1, (f"{href} is wider than a phone's screen", page.evaluate(WIDEST))
            assert page.locator("text=Please try again").count() == 0
    except BaseException:
        page.screenshot(path=str(SHOTS / f"{persona}.png"), full_page=True)
        raise
    finally:
        context.close()
