"""The configurator in Chromium: colour, wheels and interior are chosen independently and kept.

Each kind a car has exactly one of is its own radio group; choosing the wheels must not un-choose the
colour, and the saved configuration (opened again by its code) holds exactly what was ticked.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from forecourt.core.db import transaction
from forecourt.demo.options import build_options
from forecourt.vehicles import service as vehicles_service

pytestmark = pytest.mark.browser


def _trim(seed_sessions) -> str:
    tag = uuid.uuid4().hex[:6].upper()
    with transaction(seed_sessions) as session:
        model = vehicles_service.create_model(session=session, code=f"CFG{tag}", name=f"Testa {tag}",
                                              body="hatchback", year_from=2020)
        trim = vehicles_service.create_trim(session=session, model_id=model.id, code=f"CFG{tag}-P",
                                            name="1.5 Style", propulsion="petrol", year_from=2020,
                                            base_price=24_000)
        session.expire_all()
        build_options(session=session)
        return trim.code


def test_colour_wheels_and_interior_are_each_kept(new_context, seed_sessions):
    trim_code = _trim(seed_sessions)
    page = new_context().new_page()
    page.goto(f"/configure/{trim_code}")
    defaults = page.get_by_role("radio", checked=True)
    expect(defaults).to_have_count(3)  # the standard colour, wheels and interior, one of each

    page.get_by_label("Fjord blue metallic").check()
    page.get_by_label('17" alloy wheels').check()
    page.get_by_label("Part-leather upholstery").check()
    for chosen in ("Fjord blue metallic", '17" alloy wheels', "Part-leather upholstery"):
        expect(page.get_by_label(chosen)).to_be_checked()
    expect(page.get_by_label("Glacier white")).not_to_be_checked()
    summary = page.locator("#summary")
    expect(summary).to_contain_text("Fjord blue metallic")
    expect(summary).not_to_contain_text("Glacier white")
    expect(summary).not_to_contain_text("Cloth upholstery")
    expect(page.locator("#total")).to_contain_text("26,670")  # 24,000 + 790 + 590 + 1,290

    page.get_by_role("button", name="Save and get my code").click()
    page.wait_for_url(re.compile(r"/c/[^/]+$"))
    code = page.locator(".code-large").inner_text().strip()

    again = new_context().new_page()
    again.goto("/c")
    again.get_by_label(re.compile("code", re.I)).first.fill(code)
    again.keyboard.press("Enter")
    again.wait_for_url(re.compile(r"/c/[^/]+$"))
    lines = again.locator(".price-lines")
    for chosen in ("Fjord blue metallic", '17" alloy wheels', "Part-leather upholstery"):
        expect(lines).to_contain_text(chosen)
    expect(lines).not_to_contain_text("Glacier white")
    expect(lines).to_contain_text("26,670")

    again.get_by_role("link", name="Change it").click()  # starting again from the code keeps all three
    for chosen in ("Fjord blue metallic", '17" alloy wheels', "Part-leather upholstery"):
        expect(again.get_by_label(chosen)).to_be_checked()
    expect(again.locator("#total")).to_contain_text("26,670")
