"""Opening hours, slots and the advisor's calendar are computed on each dealer's own clock, across
Berlin's change to summer time and beside Seoul, which has none."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from forecourt.core import zones
from forecourt.core.auth import Principal, Role
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Invalid
from forecourt.parties import service as parties_service
from forecourt.workshop import booking, calendar
from forecourt.workshop.jobs import CATALOGUE
from forecourt.workshop.slots import free_slots, opening_intervals

BERLIN, SEOUL = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Seoul")
EVERY_DAY = {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")} | {
    "sun": [["01:00", "05:00"]]}  # open through the night the clocks change, to see it
SPRING = date(2026, 3, 29)  # Berlin: 02:00 CET becomes 03:00 CEST


@pytest.fixture
def dealers(make):
    berlin = make.dealer(opening_hours=EVERY_DAY, service_bays=2)
    seoul = make.dealer(market="KR", opening_hours=EVERY_DAY, service_bays=2, city="서울특별시",
                        latitude=37.5226, longitude=127.0383)
    return berlin, seoul


def test_an_organization_takes_its_markets_clock_unless_it_names_its_own(dealers, make):
    berlin, seoul = dealers
    assert (berlin.market, berlin.time_zone) == ("DE", "Europe/Berlin")
    assert (seoul.market, seoul.time_zone) == ("KR", "Asia/Seoul")
    assert make.dealer(market="KR", time_zone="Asia/Tokyo").time_zone == "Asia/Tokyo"
    with pytest.raises(Invalid, match="not a time zone we know"):
        make.dealer(time_zone="Europe/Atlantis")
    with pytest.raises(Invalid, match="not a market of this network"):
        make.dealer(market="XX")


def test_opening_hours_are_read_on_each_dealers_clock_across_the_change(dealers):
    berlin, seoul = dealers
    # 08:00 opens at 07:00 UTC before the change and 06:00 UTC after it, in Berlin; always 23:00 UTC the day before in Seoul.
    assert opening_intervals(berlin, SPRING - timedelta(days=1))[0][0] == datetime(2026, 3, 28, 7, tzinfo=UTC)
    assert opening_intervals(berlin, SPRING + timedelta(days=1))[0][0] == datetime(2026, 3, 30, 6, tzinfo=UTC)
    assert opening_intervals(seoul, SPRING - timedelta(days=1))[0][0] == datetime(2026, 3, 27, 23, tzinfo=UTC)
    assert opening_intervals(seoul, SPRING + timedelta(days=1))[0][0] == datetime(2026, 3, 29, 23, tzinfo=UTC)
    # The night of the change, 01:00-05:00 on the wall is three hours long in Berlin and four in Seoul.
    (opens, closes), = opening_intervals(berlin, SPRING)
    assert (opens, closes - opens) == (datetime(2026, 3, 29, 0, tzinfo=UTC), timedelta(hours=3))
    (opens, closes), = opening_intervals(seoul, SPRING)
    assert closes - opens == timedelta(hours=4)


def test_free_slots_keep_to_the_local_grid_on_both_sides_of_the_change(session, dealers):
    berlin, seoul = dealers
    job = CATALOGUE["inspection"]
    with frozen_at(datetime(2026, 3, 27, 20, 0, tzinfo=UTC)):  # Friday evening in Berlin, Saturday 05:00 in Seoul
        found = {d.id: free_slots(session=session, dealer=d, job=job, after=datetime(2026, 3, 27, 20, tzinfo=UTC),
                                  days=4, limit=200) for d in dealers}
    local_starts = {d.id: {(s.starts_at.astimezone(zone).date(), s.starts_at.astimezone(zone).strftime("%H:%M"))
                           for s in found[d.id]} for d, zone in zip(dealers, (BERLIN, SEOUL), strict=True)}
    for dealer in dealers:
        days = {day for day, _ in local_starts[dealer.id]}
        assert SPRING + timedelta(days=1) in days
        # Every slot starts inside opening hours on the dealer's own wall clock, on the half hour.
        for day, clock in local_starts[dealer.id]:
            assert clock.endswith((":00", ":30"))
            assert ("08:00" <= clock <= "16:00") if day != SPRING else ("01:00" <= clock <= "03:00")
    # Monday 08:00 local is 06:00 UTC in Berlin (summer time) and 23:00 UTC on Sunday in Seoul.
    monday = {d.id: min(s.starts_at for s in found[d.id] if s.starts_at.astimezone(z).date() == SPRING + timedelta(1))
              for d, z in zip(dealers, (BERLIN, SEOUL), strict=True)}
    assert monday == {berlin.id: datetime(2026, 3, 30, 6, tzinfo=UTC), seoul.id: datetime(2026, 3, 29, 23, tzinfo=UTC)}
    # A slot reads on the dealer's clock when no viewer is known, and on the viewer's otherwise.
    seoul_slot = next(s for s in found[seoul.id] if s.starts_at == monday[seoul.id])
    assert seoul_slot.label.endswith("08:00–10:00") and "Mon 30 Mar" in seoul_slot.label
    with zones.use_zone(BERLIN):
        assert "Mon 30 Mar, 01:00" in seoul_slot.label


def test_booking_checks_the_time_against_the_dealers_own_hours(session, dealers, make):
    _, seoul = dealers
    car = make.vehicle()
    with frozen_at(datetime(2026, 3, 27, 20, tzinfo=UTC)):
        with pytest.raises(Invalid, match="open 08:00–18:00 on Monday;.*does not fit starting at 07:00"):
            booking.book(session=session, dealer_id=seoul.id, vehicle_id=car.id, customer_id=None, bay=1,
                         starts_at=datetime(2026, 3, 29, 22, tzinfo=UTC), job="inspection", source="advisor")
        booked = booking.book(session=session, dealer_id=seoul.id, vehicle_id=car.id, customer_id=None, bay=1,
                              starts_at=datetime(2026, 3, 29, 23, tzinfo=UTC), job="inspection", source="advisor")
    assert booked.starts_at == datetime(2026, 3, 29, 23, tzinfo=UTC)


def test_the_seoul_calendar_shows_the_day_in_kst(session, dealers, make):
    _, seoul = dealers
    car = make.vehicle()
    with frozen_at(datetime(2026, 3, 27, 20, tzinfo=UTC)):
        booking.book(session=session, dealer_id=seoul.id, vehicle_id=car.id, customer_id=None, bay=2,
                     starts_at=datetime(2026, 3, 29, 23, 30, tzinfo=UTC), job="inspection", source="advisor")
    advisor = Principal(user_id=1, role=Role.DEALER_SERVICE, display_name="서비스", organization_id=seoul.id)
    view = calendar.day_of(session=session, principal=advisor, day=date(2026, 3, 30))
    assert view["zone_label"] == "KST" and view["zone"].key == "Asia/Seoul"
    (item,) = view["appointments"]
    assert (item["start_local"].strftime("%H:%M"), item["bay"]) == ("08:30", 2)
    assert view["grid"]["08:30"][2]["id"] == item["id"]
    # The UTC day before holds nothing: the appointment belongs to Monday in Seoul.
    assert calendar.day_of(session=session, principal=advisor, day=date(2026, 3, 29))["appointments"] == []
    assert parties_service.get_organization(session=session, organization_id=seoul.id).time_zone == "Asia/Seoul"
