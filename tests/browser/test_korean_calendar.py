"""A Korean dealer's service advisor, in a Korean browser and with Korean as her own setting, logs in on
the Korean login page and opens the service calendar in Chromium: the page is in Korean (no English
left), the day is written as Koreans write it and read on Seoul's clock (KST). An appointment at 08:30
in Seoul, which is 23:30 UTC the evening before, stands on the Korean day at 08:30, and the UTC day
before is empty."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from playwright.sync_api import expect

from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import booking
from tests.browser.conftest import PASSWORD
from tests.web.test_languages import english_words

pytestmark = pytest.mark.browser

SEOUL = ZoneInfo("Asia/Seoul")
HOURS = {day: [["08:30", "17:30"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": []}


def _next_working_day() -> datetime.date:
    day = now().astimezone(SEOUL).date() + timedelta(days=2)
    while day.weekday() == 6:
        day += timedelta(days=1)
    return day


def test_a_seoul_advisor_sees_the_day_in_kst(seed_sessions, new_context):
    tag = uuid.uuid4().hex[:6].upper()
    day = _next_working_day()
    starts_at = datetime.combine(day, time(8, 30), tzinfo=SEOUL).astimezone(UTC)
    assert starts_at.date() == day - timedelta(days=1)  # 23:30 UTC the evening before
    with transaction(seed_sessions) as session:
        dealer = parties_service.create_organization(session=session, values=dict(
            kind="dealer", code=f"DLR-KR-{tag}", name=f"한빛모터스 {tag}", market="KR", street="강남구 도산대로 318",
            postcode="06054", city="서울특별시", latitude=37.5226, longitude=127.0383, phone="02-3445-2688",
            opening_hours=HOURS, service_bays=3))
        advisor = f"service-{tag.lower()}@hanbit.example"
        user = parties_service.create_user(session=session, email=advisor, password=PASSWORD, display_name="이서연",
                                           role=Role.DEALER_SERVICE, organization_id=dealer.id)
        parties_service.set_language(session=session, user_id=user.id, language="ko")
        model = vehicles_service.create_model(session=session, code=f"KR{tag}", name="Terra", body="suv",
                                              year_from=2022)
        trim = vehicles_service.create_trim(session=session, model_id=model.id, code=f"KR{tag}-E", name="e-Terra",
                                            propulsion="electric", year_from=2022, base_price=49_900)
        car = vehicles_service.register(session=session, vin=vehicles_service.with_check_digit(
            f"WAMTGE1A0R{int(tag, 16) % 10_000_000:07d}"), trim_id=trim.id, model_year=2024, colour="Lunar silver",
            registration="123가 4567", selling_dealer_id=dealer.id)
        appointment = booking.book(session=session, dealer_id=dealer.id, vehicle_id=car.id, customer_id=None, bay=2,
                                   starts_at=starts_at, job="inspection", source="advisor")
        appointment_id = appointment.id
        assert dealer.phone == "+82234452688" and dealer.time_zone == "Asia/Seoul"

    page = new_context(locale="ko-KR", timezone_id="Asia/Seoul").new_page()
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    page.get_by_label("이메일").fill(advisor)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"/workspace/service/calendar?day={day.isoformat()}")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_contain_text(f"정비 캘린더 · 한빛모터스 {tag}")
    expect(page.locator("#calendar-zone")).to_have_text("KST")
    expect(page.locator("#calendar-day")).to_have_attribute("datetime", day.isoformat())
    expect(page.locator("#calendar-day")).to_have_text(format_date(day, "full", locale="ko"))  # 2026년 12월 8일 화요일
    left = english_words(page.content(), {"Terra", "e-Terra", "Lunar", "silver", tag})
    assert not left, f"English left on the Korean calendar: {sorted(set(left))}"
    cell = page.locator(f'td[data-appointment="{appointment_id}"]')
    expect(cell).to_contain_text("08:30–")
    # The cell starts on the 08:30 row of Seoul's clock, in bay 2.
    row = page.locator("#calendar tbody tr", has=cell)
    expect(row.locator("td.time")).to_have_text("08:30")
    # The UTC date of the appointment is the day before in Seoul, and holds nothing.
    page.goto(f"/workspace/service/calendar?day={(day - timedelta(days=1)).isoformat()}")
    expect(page.locator(f'td[data-appointment="{appointment_id}"]')).to_have_count(0)
    # "Today" is Seoul's today.
    page.goto("/workspace/service/calendar")
    expect(page.locator("#calendar-day")).to_have_attribute("datetime", now().astimezone(SEOUL).date().isoformat())
