"""The agent sees who can help now and why the others cannot, in Chromium, and sends the one available.

Times are real (the live server's clock): the day-only tow firm gets hours only on a day two days from
now, so it is closed whatever the hour the suite runs; the busy one already has a case under way.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from forecourt.assist.availability import WEEKDAYS
from forecourt.assist.models import Case, Dispatch
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import PASSWORD, log_in
from tests.browser.test_live_trip import _carmaker

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
SPOT = (47.90, 12.10)  # a corner of Bavaria no other browser test uses


@pytest.fixture
def scene(world, seed_sessions) -> dict:
    tag = uuid.uuid4().hex[:6].upper()
    later = WEEKDAYS[(now().weekday() + 2) % 7]
    with transaction(seed_sessions) as session:
        carmaker = _carmaker(session)
        agents = {}
        for language in ("en", "ko"):
            user = parties_service.create_user(session=session, email=f"agent-{language}-{tag.lower()}@maker.example",
                                               password=PASSWORD, display_name="Nora Night",
                                               role=Role.CALL_CENTRE_AGENT, organization_id=carmaker.id)
            user.language = language
            agents[language] = user.email

        def tow(name, km, **values):
            return parties_service.create_organization(session=session, values=dict(
                kind="partner", partner_kind="roadside", code=f"TOW-{name[:3].upper()}-{tag}",
                name=f"{name} {tag}", city="Rosenheim", latitude=SPOT[0] + km / 111.2, longitude=SPOT[1],
                service_bays=0, **values))

        day_only = tow("Tagdienst", 1, opening_hours={later: [["09:00", "17:00"]]})
        busy = tow("Ausgelastet", 2, opening_hours={}, dispatch_capacity=1)
        always = tow("Nachtdienst", 5, opening_hours={})
        vehicle = vehicles_service.get_by_vin(session=session, vin=world.vin)
        other = Case(number=f"OC-B{tag}", vehicle_id=vehicle.id, kind="breakdown", priority=2, source="http",
                     latitude=SPOT[0] + 0.4, longitude=SPOT[1], status="dispatched")
        case = Case(number=f"OC-N{tag}", vehicle_id=vehicle.id, kind="breakdown", priority=2, source="http",
                    latitude=SPOT[0], longitude=SPOT[1], status="acknowledged")
        session.add_all([other, case])
        session.flush()
        session.add(Dispatch(case_id=other.id, provider_id=busy.id, kind="tow", distance_km=40, eta_minutes=50,
                             dispatched_at=now() - timedelta(minutes=10), status="on_the_way"))
        return {"agents": agents, "case": case.number, "day_only": day_only.name, "busy": busy.name,
                "always": always.name, "always_id": always.id, "day_only_id": day_only.id, "busy_id": busy.id}


def test_the_agent_sees_who_is_available_and_sends_them(new_context, scene):
    page = new_context().new_page()
    log_in(page, scene["agents"]["en"])
    page.goto(f"/console/cases/{scene['case']}")
    try:
        towing = page.locator('table[data-kind="towing"]')
        offered = towing.locator(f'tr[data-provider="{scene["always_id"]}"]')
        expect(offered).to_contain_text("Available now · around the clock")
        expect(towing).not_to_contain_text(scene["day_only"])
        skipped = page.locator('details.unavailable[data-kind="towing"]')
        closed = skipped.locator(f'li[data-state="closed"][data-provider="{scene["day_only_id"]}"]')
        full = skipped.locator(f'li[data-state="at_capacity"][data-provider="{scene["busy_id"]}"]')
        expect(skipped).to_be_visible()
        expect(closed).to_contain_text(scene["day_only"])
        expect(closed).to_contain_text("closed until")
        expect(closed).to_contain_text("09:00 local time")
        expect(full).to_contain_text(
            f"{scene['busy']}")
        expect(full).to_contain_text("at capacity: 1 of 1 cases under way")
        offered.get_by_role("button").click()
        expect(page.locator("#dispatched")).to_contain_text(scene["always"])
    except Exception:
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "dispatch-at-night.png"), full_page=True)
        raise


def test_a_korean_agent_reads_why_in_korean(new_context, scene):
    page = new_context().new_page()
    log_in(page, scene["agents"]["ko"])
    page.goto(f"/console/cases/{scene['case']}")
    try:
        skipped = page.locator('details.unavailable[data-kind="towing"]')
        closed = skipped.locator(f'li[data-state="closed"][data-provider="{scene["day_only_id"]}"]')
        full = skipped.locator(f'li[data-state="at_capacity"][data-provider="{scene["busy_id"]}"]')
        expect(closed).to_contain_text("영업하지 않습니다")
        expect(full).to_contain_text("수용 한도에 도달했습니다: 1/1건 진행 중")
        expect(page.locator(f'table[data-kind="towing"] tr[data-provider="{scene["always_id"]}"]')).to_contain_text(
            "지금 출동 가능 · 24시간 운영")
    except Exception:
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "dispatch-at-night-ko.png"), full_page=True)
        raise


@pytest.fixture
def admin_email(seed_sessions) -> str:
    with transaction(seed_sessions) as session:
        return parties_service.create_user(session=session, email=f"admin-{uuid.uuid4().hex[:6]}@maker.example",
                                           password=PASSWORD, display_name="Ada Admin", role=Role.CARMAKER_ADMIN,
                                           organization_id=_carmaker(session).id).email


def test_the_admin_raises_a_providers_capacity_on_a_phone_and_the_agent_may_send_it(new_context, scene, admin_email):
    admin = new_context(viewport={"width": 390, "height": 844}).new_page()
    log_in(admin, admin_email)
    admin.goto(f"/admin/organizations/{scene['busy_id']}")
    try:
        field = admin.get_by_label("Cases at once (dispatch capacity)")
        expect(field).to_have_value("1")
        field.fill("2")
        admin.get_by_role("button", name="Save changes").click()
        expect(admin.get_by_label("Cases at once (dispatch capacity)")).to_have_value("2")
        assert admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        admin.goto("/admin/audit")
        row = admin.locator('tr[data-action="organization.update"]').first
        expect(row).to_contain_text(scene["busy"])
        expect(row).to_contain_text("Cases at once: 1 → 2")
    except Exception:
        SHOTS.mkdir(exist_ok=True)
        admin.screenshot(path=str(SHOTS / "dispatch-capacity-admin.png"), full_page=True)
        raise
    agent = new_context().new_page()
    log_in(agent, scene["agents"]["en"])
    agent.goto(f"/console/cases/{scene['case']}")
    try:
        expect(agent.locator(f'table[data-kind="towing"] tr[data-provider="{scene["busy_id"]}"]')).to_be_visible()
    except Exception:
        SHOTS.mkdir(exist_ok=True)
        agent.screenshot(path=str(SHOTS / "dispatch-capacity-agent.png"), full_page=True)
        raise
