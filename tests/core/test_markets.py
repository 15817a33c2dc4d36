"""Markets in core: time zones across daylight saving, money that never mixes currencies and formats per
locale, phone numbers parsed and refused in words, Korean name order, addresses and postcodes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from forecourt.core import addresses, names, phones, zones
from forecourt.core.clock import frozen_at, today
from forecourt.core.errors import Invalid
from forecourt.core.i18n import use_locale
from forecourt.core.money import CurrencyMismatch, Money, format_money, total

BERLIN, SEOUL = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Seoul")


# --- time zones --------------------------------------------------------------------------------

def test_a_berlin_day_crossing_daylight_saving_is_23_or_25_hours_and_seoul_is_always_24():
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    hours = {zone.key: [(end - start).total_seconds() / 3600 for start, end in
                        (zones.day_bounds(day, zone) for day in (spring, autumn))] for zone in (BERLIN, SEOUL)}
    assert hours == {"Europe/Berlin": [23, 25], "Asia/Seoul": [24, 24]}


def test_wall_clock_times_around_the_change_map_to_the_right_utc():
    # 08:00 opening: 07:00 UTC before the spring change, 06:00 UTC after it; Seoul's is 23:00 UTC the day before.
    assert zones.wall_clock(date(2026, 3, 28), time(8), BERLIN) == datetime(2026, 3, 28, 7, tzinfo=UTC)
    assert zones.wall_clock(date(2026, 3, 30), time(8), BERLIN) == datetime(2026, 3, 30, 6, tzinfo=UTC)
    assert zones.wall_clock(date(2026, 3, 30), time(8), SEOUL) == datetime(2026, 3, 29, 23, tzinfo=UTC)
    # 02:30 does not exist in Berlin that night: it is read after the jump (03:30 CEST); in October it
    # happens twice and the first one counts.
    assert zones.wall_clock(date(2026, 3, 29), time(2, 30), BERLIN).astimezone(BERLIN).time() == time(3, 30)
    assert zones.wall_clock(date(2026, 10, 25), time(2, 30), BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_the_viewer_sees_a_moment_on_their_own_clock_and_today_is_theirs():
    moment = datetime(2026, 3, 29, 15, 30, tzinfo=UTC)  # after Berlin's change
    with zones.use_zone(BERLIN):
        assert zones.to_viewer(moment).strftime("%H:%M %Z") == "17:30 CEST"
    with zones.use_zone(SEOUL):
        assert zones.to_viewer(moment).strftime("%H:%M %Z") == "00:30 KST"
        assert zones.zone_label() == "KST"
    with frozen_at(moment):
        with zones.use_zone(BERLIN):
            assert today() == date(2026, 3, 29)
        with zones.use_zone(SEOUL):
            assert today() == date(2026, 3, 30)


def test_an_unknown_zone_is_refused_in_words_as_input_and_falls_back_when_stored(caplog):
    with pytest.raises(Invalid, match="is not a time zone we know.*Asia/Seoul") as refused:
        zones.check_zone("Mars/Olympus_Mons")
    assert refused.value.field == "time_zone"
    assert zones.check_zone(" Asia/Seoul ") == "Asia/Seoul"
    with caplog.at_level("WARNING"):
        assert zones.zone_or("Europe/Berln", SEOUL, whose="Dealer X's") is SEOUL
    assert "Dealer X's time zone 'Europe/Berln' is not an IANA zone" in caplog.text
    assert zones.zone_or(None, "Asia/Seoul") == SEOUL


# --- money -------------------------------------------------------------------------------------

def test_money_refuses_to_mix_currencies_in_any_arithmetic():
    won, euros = Money(1_000_000, "KRW"), Money("12.50", "EUR")
    for mix in (lambda: won + euros, lambda: euros - won, lambda: won < euros, lambda: total([euros, won], "EUR")):
        with pytest.raises(CurrencyMismatch, match="KRW and EUR|EUR and KRW"):
            mix()
    with pytest.raises(TypeError):
        euros * 1.1  # a float would lose exactness
    with pytest.raises(TypeError):
        Money(12.5, "EUR")
    assert sum([euros, euros]) == Money(25, "EUR")
    assert Money.of(0.1, "EUR") + Money.of(0.2, "EUR") == Money("0.3", "EUR")  # exact, not 0.30000000000000004
    with pytest.raises(Invalid, match="not a currency code"):
        Money(1, "WON")


def test_won_has_no_minor_unit_and_euros_have_cents():
    assert Money("45900000.4", "KRW").rounded() == Money(45_900_000, "KRW")
    assert Money(45_900_000, "KRW").share(Decimal("3.3")) == Money(1_514_700, "KRW")
    assert Money("100.005", "EUR").rounded().amount == Decimal("100.01")


@pytest.mark.parametrize("language, won, euros", [
    ("ko", "₩1,234,567", "€1,234.56"),
    ("de", "1.234.567\xa0₩", "1.234,56\xa0€"),
    ("en", "₩1,234,567", "€1,234.56"),
])
def test_money_is_written_as_each_language_writes_it(language, won, euros):
    with use_locale(language):
        assert format_money(Money(1_234_567, "KRW")) == won
        assert format_money(Money("1234.56", "EUR")) == euros
    assert format_money(Money(1290, "EUR"), locale="en", whole=True) == "€1,290"


# --- phones ------------------------------------------------------------------------------------

def test_korean_numbers_are_stored_as_e164_and_shown_as_koreans_write_them():
    stored = phones.normalise("010-1234-5678", region="KR")
    assert stored == "+821012345678"
    assert phones.display(stored, viewer_region="KR") == "010-1234-5678"
    assert phones.display(stored, viewer_region="DE") == "+82 10-1234-5678"
    assert phones.normalise("02-2345-6789", region="KR") == "+82223456789"
    assert phones.normalise("0151 20304050", region="DE") == "+4915120304050"
    assert phones.normalise("+82 10 1234 5678", region="DE") == "+821012345678"  # a + wins over the region
    assert phones.normalise("  ", region="KR") is None


@pytest.mark.parametrize("typed, region, words", [
    ("010-1234", "KR", "not a valid phone number in South Korea"),
    ("123", "DE", "not a valid phone number in Germany"),
    ("call me", "KR", "is not a phone number"),
    ("+999 1234 5678", "DE", "has no country code we know"),
    ("0" * 41, "DE", "too long"),
])
def test_a_number_not_valid_for_its_country_is_refused_in_words(typed, region, words):
    with pytest.raises(Invalid, match=words) as refused:
        phones.normalise(typed, region=region, field="phone")
    assert refused.value.field == "phone"


def test_numbers_written_before_checking_are_shown_as_written():
    assert phones.display("ask at the desk", viewer_region="DE") == "ask at the desk"
    assert phones.dial_link("+82 10-1234-5678") == "+821012345678"


# --- names and addresses -----------------------------------------------------------------------

def test_korean_names_put_the_family_name_first_without_a_space_in_hangul():
    assert names.display_name("민준", "김") == "김민준"
    assert names.display_name("서연", "이", language="en") == "이서연"  # the script decides
    assert names.display_name("Lena", "Hoffmann", language="de") == "Lena Hoffmann"
    assert names.display_name("Lena", "Hoffmann", language="ko") == "Hoffmann Lena"
    assert names.display_name(None, "김") == "김"


def test_forms_ask_for_family_and_given_names_in_the_readers_order():
    assert [f for f, _ in names.fields(language="ko")] == ["last_name", "first_name"]
    assert [f for f, _ in names.fields(language="de")] == ["first_name", "last_name"]
    assert [label for _, label in names.fields(language="ko")] == ["Family name", "Given name(s)"]


def test_a_korean_road_name_address_is_written_from_the_largest_place_with_the_postcode_first():
    korean = ["({postcode}) {city} {street}"]
    assert addresses.format_lines(korean, street="강남구 테헤란로 152", postcode="06236", city="서울특별시") == [
        "(06236) 서울특별시 강남구 테헤란로 152"]
    assert addresses.format_lines(korean, street="강남구 테헤란로 152", postcode=None, city="서울특별시") == [
        "서울특별시 강남구 테헤란로 152"]
    assert addresses.order_of(korean) == ["postcode", "city", "street"]
    german = ["{street}", "{postcode} {city}"]
    assert addresses.format_lines(german, street="Kastanienallee 12", postcode="10435", city="Berlin") == [
        "Kastanienallee 12", "10435 Berlin"]


def test_postcodes_are_checked_against_the_market_in_words():
    check = dict(pattern=r"\d{5}", example="06236", country="South Korea")
    assert addresses.check_postcode(" 06236 ", **check) == "06236"
    with pytest.raises(Invalid, match="old six-digit postcode; since 2015"):
        addresses.check_postcode("135-080", **check)
    with pytest.raises(Invalid, match="is not a postcode in South Korea"):
        addresses.check_postcode("SW1A 1AA", **check)
