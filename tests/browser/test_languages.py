"""Languages in Chromium: the switch on every page, and a Korean driver's tour of their portal.

The switch keeps a visitor's choice in a cookie and a logged-in person's in their own setting. The
driver's tour is what a customer in Seoul does in Korean: their car, who may see their data (a
consent switched off and on), who looked, and a service booking at their dealer in Seoul.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from forecourt.consent import service as consent_service
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import PASSWORD, log_in
from tests.web.test_languages import english_words

pytestmark = pytest.mark.browser

HOURS = {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": []}


def test_the_language_switch_on_every_page(world, new_context, seed_sessions):
    page = new_context().new_page()
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="한국어").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("heading", name="로그인")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_role("button", name="Deutsch").click()
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    page.get_by_role("button", name="English").click()

    log_in(page, world.customer_email)  # saved language: English
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="한국어").click()  # saved to the driver's own setting
    expect(page.get_by_role("heading", name="내 차량")).to_be_visible()
    page.get_by_role("link", name="내 데이터를 볼 수 있는 곳").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")

    elsewhere = new_context().new_page()  # another browser, English: the setting follows the person
    log_in(elsewhere, world.customer_email)
    expect(elsewhere.locator("html")).to_have_attribute("lang", "ko")
    expect(elsewhere.get_by_role("heading", name="내 차량")).to_be_visible()
    with transaction(seed_sessions) as session:
        assert customers_service.get(session=session, customer_id=world.customer_id).language == "ko"


def _korean_driver(seed_sessions) -> dict:
    tag = uuid.uuid4().hex[:6].upper()
    with transaction(seed_sessions) as session:
        dealer = parties_service.create_organization(session=session, values=dict(
            kind="dealer", code=f"DLR-KR-{tag}", name=f"한빛모터스 강남 {tag}", market="KR", street="강남구 도산대로 318",
            postcode="06054", city="서울특별시", latitude=37.5226, longitude=127.0383, phone="02-3445-2688",
            opening_hours=HOURS, service_bays=3))
        customer = customers_service.sign_up(session=session, email=f"minjun-{tag.lower()}@driver.example",
                                             password=PASSWORD, profile=dict(
                                                 first_name="민준", last_name="김", city="서울특별시", market="KR",
                                                 language="ko", phone="010-1234-5678"))
        model = vehicles_service.create_model(session=session, code=f"KR{tag}", name="Terra", body="suv",
                                              year_from=2022)
        trim = vehicles_service.create_trim(session=session, model_id=model.id, code=f"KR{tag}-E", name="e-Terra",
                                            propulsion="electric", year_from=2022, base_price=49_900)
        car = vehicles_service.register(session=session, vin=vehicles_service.with_check_digit(
            f"WAMTGE1A0R{int(tag, 16) % 10_000_000:07d}"), trim_id=trim.id, model_year=2024,
            registration="123가 4567", selling_dealer_id=dealer.id)
        vehicles_service.transfer(session=session, vehicle_id=car.id, customer_id=customer.id,
                                  at=now() - timedelta(days=120), dealer_id=dealer.id)
        for purpose in ("service_reminders", "sales_contact"):
            consent_service.give(session=session, customer_id=customer.id, organization_id=dealer.id,
                                 purpose_code=purpose, method="test")
        advisor = parties_service.create_user(session=session, email=f"advisor-{tag.lower()}@hanbit.example",
                                              password=PASSWORD, display_name="이서연", role=Role.DEALER_SERVICE,
                                              organization_id=dealer.id)
        return dict(dealer_id=dealer.id, dealer=dealer.name, email=customer.email, vin=car.vin,
                    advisor=advisor.email, customer_id=customer.id)


def test_a_korean_drivers_tour(seed_sessions, new_context):
    seeded = _korean_driver(seed_sessions)
    with transaction(seed_sessions) as session:  # other scenarios' dealers are listed too, named as they are
        names = {"Terra", "e-Terra"} | {word for o in parties_service.list_organizations(session=session)
                                          for word in re.findall(r"[A-Za-z]+", f"{o.name} {o.city or ''}")}
    page = new_context().new_page()
    page.goto("/login")
    page.get_by_role("button", name="한국어").click()
    page.get_by_label("이메일").fill(seeded["email"])
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()

    # my cars, in Korean, and the car's own page
    expect(page.get_by_role("heading", name="내 차량")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    assert not english_words(page.content(), names)
    page.get_by_role("link", name="주행, 차량 상태, 운전 점수").click()
    expect(page).to_have_url(re.compile(rf"/me/vehicles/{seeded['vin']}$"))
    expect(page.get_by_role("heading", name="운전 점수(최근 30일)")).to_be_visible()
    assert not english_words(page.content(), names)

    # consent: switch the dealer's sales contact off and on again, told in Korean
    page.get_by_role("navigation").get_by_role("link", name="내 데이터를 볼 수 있는 곳").click()
    expect(page.get_by_role("heading", name="내 데이터를 볼 수 있는 곳")).to_be_visible()
    switch = page.locator(f"#consent-{seeded['dealer_id']}-sales_contact").get_by_role("switch")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(page.locator(f"#consent-{seeded['dealer_id']}-sales_contact").get_by_role("switch")) \
        .to_have_attribute("aria-checked", "false")
    assert not english_words(page.content(), names)
    page.locator(f"#consent-{seeded['dealer_id']}-sales_contact").get_by_role("switch").click()
    expect(page.locator(f"#consent-{seeded['dealer_id']}-sales_contact").get_by_role("switch")) \
        .to_have_attribute("aria-checked", "true")
    with transaction(seed_sessions) as session:  # given again on the Korean notice: the receipt says so
        receipts = consent_service.ledger_of(session=session, customer_id=seeded["customer_id"])
        assert (receipts[-1].state, receipts[-1].purpose_code, receipts[-1].language) == (
            "granted", "sales_contact", "ko")

    # the dealer's service advisor reads the car's service book, under service reminders
    advisor = new_context().new_page()
    log_in(advisor, seeded["advisor"])
    assert advisor.goto(f"/workspace/vehicles/{seeded['vin']}/service-book?purpose=service_reminders").ok

    # who looked: the advisor's read, in Korean
    page.get_by_role("navigation").get_by_role("link", name="열람 기록").click()
    expect(page.get_by_role("heading", name="내 데이터 열람 기록")).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile("정비 알림")).first).to_be_visible()

    # a service booking at the dealer in Seoul
    page.get_by_role("navigation").get_by_role("link", name="정비", exact=True).click()
    page.get_by_role("link", name="직접 정비 예약하기").click()
    expect(page.get_by_role("heading", name="정비 예약")).to_be_visible()
    expect(page.locator("select[name=job]")).to_have_value("inspection")  # 점검, the first job
    page.get_by_role("button", name="빈 시간 보기").click()
    expect(page.get_by_role("heading", name=f"{seeded['dealer']}의 빈 시간")).to_be_visible()
    first = page.get_by_role("button", name=re.compile(r"예약$")).first
    first.click()
    expect(page.get_by_role("status")).to_contain_text("예약 완료")
    expect(page.get_by_role("status")).to_contain_text(seeded["dealer"])
    assert not english_words(page.content(), names | {"TAG"})
