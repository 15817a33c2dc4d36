"""Dispatch at night: who can help now, on each provider's own clock and capacity, and why the others cannot."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from forecourt.assist import availability
from forecourt.assist import dispatch as dispatch_service
from forecourt.assist.models import Dispatch
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Invalid
from tests.assist.test_dispatch import agent, new_case
from tests.factories import browser_for

SUNDAY_3_BERLIN = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # CET = UTC+1, 03:00 on a Sunday
MONDAY_7_BERLIN = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
DAYTIME = {d: [["07:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}
ALL_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
HERE = (51.30, 6.20)  # a corner of its own, away from the other tests' organizations


def _at(km_north: float) -> dict:
    return {"latitude": HERE[0] + km_north / 111.2, "longitude": HERE[1]}


@pytest.fixture
def night(make, session):
    """At 03:00 on a Sunday: a day-only tow nearest, one at capacity next, one around the clock furthest."""
    day_only = make.partner("roadside", name="Tagdienst Abschlepp", opening_hours=DAYTIME, **_at(2))
    full = make.partner("roadside", name="Voll Abschlepp", dispatch_capacity=1, **_at(4))
    always = make.partner("roadside", name="Rund um die Uhr Abschlepp", **_at(9))
    dealer_24h = make.dealer(name="Autohaus Nachtschicht", opening_hours=ALL_DAY, **_at(6))
    dealer_day = make.dealer(name="Autohaus Tagsüber", opening_hours=DAYTIME, **_at(1))
    elsewhere = new_case(make, position=(HERE[0] + 0.5, HERE[1]))
    session.add(Dispatch(case_id=elsewhere.id, provider_id=full.id, kind="tow", distance_km=5, eta_minutes=15,
                         dispatched_at=SUNDAY_3_BERLIN, status="on_the_way"))
    case = new_case(make, position=HERE)
    session.commit()
    return {"case": case, "day_only": day_only, "full": full, "always": always, "dealer_24h": dealer_24h,
            "dealer_day": dealer_day}


def _ids(offers) -> list[int]:
    return [o["provider_id"] for o in offers]


def test_at_night_the_round_the_clock_tow_is_offered_and_the_others_say_why(session, night):
    found = dispatch_service.providers_for(session=session, case_id=night["case"].id, now=SUNDAY_3_BERLIN)
    assert _ids(found["towing"])[0] == night["always"].id
    offered = found["towing"][0]["availability"]
    assert offered["state"] == "open" and offered["around_the_clock"] is True
    skipped = {o["provider_id"]: o["availability"] for o in found["unavailable"]["towing"]}
    assert list(skipped) == [night["day_only"].id, night["full"].id]  # nearest first
    closed = skipped[night["day_only"].id]
    assert closed["state"] == "closed" and closed["opens_at"] == MONDAY_7_BERLIN and closed["opens_local"] == time(7)
    assert skipped[night["full"].id] | {} == {"state": "at_capacity", "around_the_clock": True, "opens_at": None,
                                              "opens_local": None, "busy": 1, "capacity": 1}
    assert _ids(found["dealers"])[0] == night["dealer_24h"].id
    assert _ids(found["unavailable"]["dealers"]) == [night["dealer_day"].id]


def test_in_the_morning_the_day_tow_is_first_again(session, night):
    found = dispatch_service.providers_for(session=session, case_id=night["case"].id, now=MONDAY_7_BERLIN)
    assert _ids(found["towing"])[:2] == [night["day_only"].id, night["always"].id]
    assert _ids(found["unavailable"]["towing"]) == [night["full"].id]


def test_hours_are_read_on_the_providers_own_clock(make):
    seoul = make.partner("roadside", name="서울 견인", market="KR", country="KR", time_zone="Asia/Seoul",
                         opening_hours={d: [["07:00", "20:00"]] for d in availability.WEEKDAYS},
                         latitude=37.56, longitude=126.97)
    before = datetime(2026, 12, 6, 21, 30, tzinfo=UTC)  # 06:30 on Monday in Seoul
    found = availability.availability(seoul, before)
    assert found["state"] == "closed" and found["opens_at"] == datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
    assert found["opens_local"] == time(7)
    assert availability.availability(seoul, datetime(2026, 12, 6, 22, 0, tzinfo=UTC))["state"] == "open"


def test_a_dealer_without_hours_is_closed_and_never_opens(make):
    dealer = make.dealer(opening_hours={})
    found = availability.availability(dealer, SUNDAY_3_BERLIN)
    assert found["state"] == "closed" and found["opens_at"] is None and not found["around_the_clock"]


def test_dispatch_refuses_a_closed_or_full_provider_and_sends_the_one_available(make, session, night):
    principal = agent(make)
    case = night["case"]
    with pytest.raises(Invalid, match="closed now"):
        dispatch_service.dispatch(session=session, principal=principal, case_id=case.id,
                                  provider_id=night["day_only"].id, kind="tow", now=SUNDAY_3_BERLIN)
    with pytest.raises(Invalid, match="at capacity"):
        dispatch_service.dispatch(session=session, principal=principal, case_id=case.id,
                                  provider_id=night["full"].id, kind="tow", now=SUNDAY_3_BERLIN)
    row = dispatch_service.dispatch(session=session, principal=principal, case_id=case.id,
                                    provider_id=night["always"].id, kind="tow", now=SUNDAY_3_BERLIN)
    assert row.status == "on_the_way"


def test_the_capacity_frees_up_when_the_car_has_arrived(session, night):
    session.query(Dispatch).filter(Dispatch.provider_id == night["full"].id).update({"status": "arrived"})
    session.commit()
    found = dispatch_service.providers_for(session=session, case_id=night["case"].id, now=SUNDAY_3_BERLIN)
    assert night["full"].id in _ids(found["towing"])


@pytest.mark.parametrize("language, closed, full", [
    ("en", "closed until", "at capacity: 1 of 1 cases under way"),
    ("de", "geschlossen bis", "ausgelastet: 1 von 1 Einsätzen laufen"),
    ("ko", "까지 영업하지 않습니다", "수용 한도에 도달했습니다: 1/1건 진행 중"),
])
def test_the_console_shows_who_is_not_available_and_why(make, night, language, closed, full):
    login = make.staff(make.carmaker(), Role.CALL_CENTRE_AGENT)
    browser = browser_for(make, login)
    with frozen_at(SUNDAY_3_BERLIN):
        page = browser.get(f"/console/cases/{night['case'].number}", headers={"Accept-Language": language})
    assert page.status_code == 200
    html = page.text
    assert 'data-state="closed"' in html and 'data-state="at_capacity"' in html
    assert closed in html and full in html
    assert "Tagdienst Abschlepp" in html and "Rund um die Uhr Abschlepp" in html
