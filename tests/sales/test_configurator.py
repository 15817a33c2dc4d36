"""The configurator's rules, prices, saving and codes (service level, real database)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from random import Random
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecourt.core.money import Money
from forecourt.core.errors import Invalid, NotFound
from forecourt.demo.options import build_options
from forecourt.sales import codes, configurator
from forecourt.sales.configurator import InvalidConfiguration
from forecourt.sales.models import Configuration, Option, OptionRule
from forecourt.vehicles import service as vehicles_service

SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Range:
    """One model with a petrol, an electric and a discontinued trim, and the demo's options."""

    model_code: str
    petrol: object
    electric: object
    old: object
    other_model_trim: object

    def code(self, suffix: str) -> str:
        return f"{self.model_code}-{suffix}"


def make_range(session, make) -> Range:
    n = make.n()
    model = vehicles_service.create_model(session=session, code=f"TM{n}", name=f"Testa {n}", body="hatchback",
                                          year_from=2020)
    trims = [vehicles_service.create_trim(session=session, model_id=model.id, code=f"TM{n}-{suffix}",
                                          name=name, propulsion=propulsion, year_from=2020, year_to=year_to,
                                          base_price=price)
             for suffix, name, propulsion, year_to, price in (
                 ("P", "1.5 Style", "petrol", None, 24_000), ("E", "e-Testa 60 kWh", "electric", None, 34_000),
                 ("OLD", "1.0 Core", "petrol", 2021, 19_000))]
    other = vehicles_service.create_model(session=session, code=f"OM{n}", name=f"Othera {n}", body="suv",
                                          year_from=2020)
    other_trim = vehicles_service.create_trim(session=session, model_id=other.id, code=f"OM{n}-P", name="Active",
                                              propulsion="petrol", year_from=2020, base_price=30_000)
    session.expire_all()  # the models' trims relationship
    build_options(session=session)
    return Range(model.code, *trims, other_trim)


@pytest.fixture
def cars(session, make) -> Range:
    return make_range(session, make)


def price_of(session, code: str) -> Decimal:
    return Decimal(session.query(Option).filter_by(code=code).one().price)


# --- what a trim offers --------------------------------------------------------------------------

def test_options_are_grouped_by_kind_and_trim_specific_ones_stay_on_their_trims(session, cars):
    petrol = configurator.options_of(session=session, trim_id=cars.petrol.id)
    electric = configurator.options_of(session=session, trim_id=cars.electric.id)
    assert list(petrol) == ["colour", "wheels", "interior", "package", "feature"]
    assert cars.code("HEATPUMP") in [o.code for o in electric["feature"]]
    assert cars.code("HEATPUMP") not in [o.code for o in petrol["feature"]]
    assert sum(o.is_default for o in petrol["colour"]) == 1 and sum(o.is_default for o in petrol["wheels"]) == 1
    assert any(o.price > 0 for o in petrol["colour"]), "metallic paint costs extra"
    notes = configurator.rules_in_words(session=session, trim_id=cars.petrol.id)
    assert "includes Heated front seats" in notes[cars.code("COMFORT")]
    assert "needs Heated front seats" in notes[cars.code("WINTER")]
    assert "not with Roof rails" in notes[cars.code("PANO")]
    assert "not with Panoramic roof" in notes[cars.code("ROOFRAILS")]


def test_catalogue_lists_current_trims_cheapest_first(session, cars):
    entry = next(e for e in configurator.catalogue(session=session) if e["model"].code == cars.model_code)
    assert [t.code for t in entry["trims"]] == [cars.petrol.code, cars.electric.code]
    assert entry["from_price"] == Money(24_000, "EUR")
    assert configurator.trim_by_code(session=session, trim_code=cars.petrol.code.lower()).id == cars.petrol.id
    with pytest.raises(NotFound):
        configurator.trim_by_code(session=session, trim_code="NOPE-1")


def test_demo_options_are_idempotent(session, cars):
    before = session.query(Option).count()
    assert build_options(session=session) == 0
    assert session.query(Option).count() == before


# --- rules ---------------------------------------------------------------------------------------

def test_defaults_apply_when_nothing_is_chosen(session, cars):
    result = configurator.check(session=session, trim_id=cars.petrol.id, option_codes=[])
    assert result.valid, result.problems
    assert result.option_codes == [cars.code("WHITE"), cars.code("W16"), cars.code("CLOTH")]
    assert result.total_price == Decimal(24_000)


def test_without_a_standard_colour_the_buyer_must_choose(session, cars):
    for option in session.query(Option).filter(Option.code.like(f"{cars.model_code}-%"), Option.kind == "colour"):
        option.is_default = False
    session.flush()
    result = configurator.check(session=session, trim_id=cars.petrol.id, option_codes=[])
    assert result.problems == ["Choose a colour."]
    assert configurator.check(session=session, trim_id=cars.petrol.id, option_codes=[cars.code("RED")]).valid


def test_prices_add_up(session, cars):
    chosen = [cars.code("RED"), cars.code("W17"), cars.code("TOWBAR")]
    result = configurator.check(session=session, trim_id=cars.petrol.id, option_codes=chosen)
    assert result.valid, result.problems
    expected = Decimal(24_000) + sum(price_of(session, c) for c in chosen)
    assert result.total_price == expected == Decimal(24_000 + 990 + 590 + 890)
    assert {line["code"]: line["price"] for line in result.lines}[cars.code("RED")] == 990.0


def test_two_colours_are_refused_in_words(session, cars):
    result = configurator.check(session=session, trim_id=cars.petrol.id,
                                option_codes=[cars.code("RED"), cars.code("BLUE")])
    assert result.problems == ["Choose one colour; Ruby red pearl effect and Fjord blue metallic were chosen."]


def test_requires(session, cars):
    result = configurator.check(session=session, trim_id=cars.petrol.id, option_codes=[cars.code("WINTER")])
    assert result.problems == ["The Winter package needs Heated front seats; add it or remove the package."]
    fixed = configurator.check(session=session, trim_id=cars.petrol.id,
                               option_codes=[cars.code("WINTER"), cars.code("HEATSEAT")])
    assert fixed.valid
    # a package that includes the required option satisfies the rule too
    via_package = configurator.check(session=session, trim_id=cars.petrol.id,
                                     option_codes=[cars.code("WINTER"), cars.code("COMFORT")])
    assert via_package.valid, via_package.problems


def test_excludes(session, cars):
    result = configurator.check(session=session, trim_id=cars.petrol.id,
                                option_codes=[cars.code("PANO"), cars.code("ROOFRAILS")])
    assert result.problems == ["The Panoramic roof cannot be combined with Roof rails."]
    result = configurator.check(session=session, trim_id=cars.petrol.id,
                                option_codes=[cars.code("SPORT"), cars.code("TOW")])
    assert result.problems == ["The Tow package cannot be combined with Sport styling."]


def test_includes_makes_the_option_free_and_says_where_it_comes_from(session, cars):
    result = configurator.check(session=session, trim_id=cars.petrol.id,
                                option_codes=[cars.code("COMFORT"), cars.code("HEATSEAT")])
    assert result.valid
    lines = {line["code"]: line for line in result.lines}
    seats = lines[cars.code("HEATSEAT")]
    assert seats["price"] == 0 and seats["included_in"] == "Comfort package"
    assert lines[cars.code("KEYLESS")]["included_in"] == "Comfort package"  # included without being chosen
    assert result.total_price == Decimal(24_000 + 1290)
    assert cars.code("KEYLESS") not in result.option_codes


def test_a_clash_inside_packages_names_the_package(session, cars):
    def option(suffix):
        return session.query(Option).filter_by(code=cars.code(suffix)).one()

    session.add_all([OptionRule(option_id=option("PANO").id, kind="excludes", other_id=option("KEYLESS").id),
                     OptionRule(option_id=option("TOWBAR").id, kind="excludes", other_id=option("HEATSEAT").id)])
    session.flush()
    one = configurator.check(session=session, trim_id=cars.petrol.id,
                             option_codes=[cars.code("COMFORT"), cars.code("PANO")])
    assert one.problems == ["The Panoramic roof cannot be combined with Keyless entry "
                            "(Keyless entry comes with the Comfort package)."]
    both = configurator.check(session=session, trim_id=cars.petrol.id,
                              option_codes=[cars.code("COMFORT"), cars.code("TOW")])
    assert both.problems == ["The Tow bar cannot be combined with Heated front seats (Tow bar comes with the "
                             "Tow package; Heated front seats comes with the Comfort package)."]


def test_not_offered_on_this_trim_and_unknown_codes(session, cars):
    result = configurator.check(session=session, trim_id=cars.petrol.id,
                                option_codes=[cars.code("HEATPUMP"), "NO-SUCH-OPTION",
                                              f"{cars.other_model_trim.code[:-2]}-PANO"])
    assert result.problems == [
        f"The Heat pump is not offered on the Testa {cars.model_code[2:]} 1.5 Style.",
        "There is no option 'NO-SUCH-OPTION' in the catalogue.",
        f"The Panoramic roof is not offered on the Testa {cars.model_code[2:]} 1.5 Style."]
    assert configurator.check(session=session, trim_id=cars.electric.id,
                              option_codes=[cars.code("HEATPUMP")]).valid


def test_discontinued_trim_cannot_be_configured(session, cars):
    result = configurator.check(session=session, trim_id=cars.old.id, option_codes=[])
    assert result.problems == [f"The Testa {cars.model_code[2:]} 1.0 Core is no longer built; choose a current trim."]


def test_unknown_trim_is_invalid(session, cars):
    with pytest.raises(Invalid):
        configurator.check(session=session, trim_id=987_654_321, option_codes=[])


# --- saving --------------------------------------------------------------------------------------

def test_save_stores_prices_lines_and_a_fresh_code(session, cars, make):
    dealer = make.dealer()
    saved = configurator.save(session=session, trim_id=cars.petrol.id,
                              option_codes=[cars.code("COMFORT"), cars.code("BLUE")], dealer_id=dealer.id)
    assert codes.is_well_formed(saved.code)
    assert saved.dealer_id == dealer.id and saved.customer_id is None
    assert Decimal(saved.base_price) == 24_000 and Decimal(saved.total_price) == 24_000 + 1290 + 790
    assert [line["code"] for line in saved.price_lines][0] == cars.code("BLUE")
    found = configurator.get_by_code(session=session, code=codes.display_code(saved.code).lower())
    assert found.id == saved.id
    view = configurator.describe(session=session, configuration=found)
    assert view["title"] == f"Testa {cars.model_code[2:]} 1.5 Style" and view["propulsion"] == "petrol"
    assert view["total_price"] == 24_000 + 1290 + 790 and view["display_code"] == codes.display_code(saved.code)
    assert "customer_id" not in view and "dealer_id" not in view


def test_save_refuses_a_combination_that_cannot_be_built(session, cars):
    before = session.query(Configuration).count()
    with pytest.raises(InvalidConfiguration) as refused:
        configurator.save(session=session, trim_id=cars.petrol.id,
                          option_codes=[cars.code("WINTER"), cars.code("PANO"), cars.code("ROOFRAILS")])
    assert refused.value.problems == [
        "The Winter package needs Heated front seats; add it or remove the package.",
        "The Panoramic roof cannot be combined with Roof rails."]
    assert "Winter package needs Heated front seats" in refused.value.message
    assert session.query(Configuration).count() == before


def test_save_draws_again_when_a_code_is_taken(session, cars):
    first = configurator.save(session=session, trim_id=cars.petrol.id, option_codes=[], random=Random(42))
    second = configurator.save(session=session, trim_id=cars.petrol.id, option_codes=[], random=Random(42))
    assert second.code != first.code  # the same random stream: its first draw was taken, so it drew again
    assert second.code == next(c for c in _stream(Random(42), 3) if c != first.code)


def _stream(random: Random, count: int) -> list[str]:
    return [codes.new_code(random) for _ in range(count)]


def test_unknown_and_malformed_codes(session, cars):
    with pytest.raises(NotFound):
        configurator.get_by_code(session=session, code=codes.new_code(Random(7)))
    with pytest.raises(Invalid, match="typo"):
        good = codes.new_code(Random(8))
        configurator.get_by_code(session=session, code=good[:-1] + ("0" if good[-1] != "0" else "1"))


# --- codes ---------------------------------------------------------------------------------------

def test_code_format():
    code = codes.new_code()
    assert len(code) == 8 and set(code) <= set(codes.ALPHABET)
    assert not set("ILOU") & set(codes.ALPHABET) and len(codes.ALPHABET) == 32
    assert codes.display_code("7KQ2M97X") == "7KQ2-M97X" and codes.is_well_formed("7KQ2M97X")


def test_normalise_accepts_what_people_type():
    assert codes.normalise_code(" 7kq2 m97x ") == "7KQ2M97X"
    assert codes.normalise_code("7KQ2-M97X") == "7KQ2M97X"
    assert codes.normalise_code("https://forecourt.example/c/7KQ2-M97X") == "7KQ2M97X"
    assert codes.normalise_code("7kq2-m9oh") == "7KQ2M90H"  # O read as zero


@pytest.mark.parametrize(("typed", "says"), [
    ("", "Enter a configuration code"), ("7KQ2-M97", "has 8 characters"), ("7KQ2-M97X1", "has 8 characters"),
    ("7KQ2-M97U", "without I, L, O and U; this one has 'U'"), ("7KQ2-M97K", "typo"), ("7KQ2*M97X", "'*'")])
def test_malformed_codes_are_explained(typed, says):
    with pytest.raises(Invalid, match=None) as refused:
        codes.normalise_code(typed)
    assert says in refused.value.message and refused.value.field == "code"


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), position=st.integers(min_value=0, max_value=7),
       symbol=st.sampled_from(codes.ALPHABET))
def test_check_symbol_catches_every_single_typo(seed, position, symbol):
    code = codes.new_code(Random(seed))
    assert codes.normalise_code(code) == code
    typo = code[:position] + symbol + code[position + 1:]
    assert codes.is_well_formed(typo) == (typo == code)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), first=st.integers(min_value=0, max_value=7),
       second=st.integers(min_value=0, max_value=7))
def test_check_symbol_catches_swapped_symbols(seed, first, second):
    code = list(codes.new_code(Random(seed)))
    code[first], code[second] = code[second], code[first]
    swapped = "".join(code)
    original = codes.new_code(Random(seed))
    assert codes.is_well_formed(swapped) == (swapped == original)


def test_codes_come_from_a_secure_source_and_do_not_repeat():
    drawn = {codes.new_code() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(codes.is_well_formed(c) for c in drawn)


# --- QR ------------------------------------------------------------------------------------------

def _dark_modules(d: str, border: int) -> set[tuple[int, int]]:
    """Reads segno's path back: "M x y" to start, "h n" draws n dark modules, "m dx dy" moves."""
    tokens = re.findall(r"[Mmh]|-?\d+(?:\.\d+)?", d)
    dark, x, y, i = set(), 0.0, 0.0, 0
    while i < len(tokens):
        op = tokens[i]
        if op in "Mm":
            dx, dy = float(tokens[i + 1]), float(tokens[i + 2])
            x, y = (dx, dy) if op == "M" else (x + dx, y + dy)
            i += 3
        else:
            for step in range(int(float(tokens[i + 1]))):
                dark.add((int(y - 0.5) - border, int(x) + step - border))
            x += float(tokens[i + 1])
            i += 2
    return dark


def test_qr_is_a_valid_svg_of_the_page_url():
    import segno

    url = "https://forecourt.example/c/7KQ2-M97X"
    svg = configurator.qr_svg(url=url)
    root = ElementTree.fromstring(svg.encode())
    assert root.tag == f"{SVG}svg"
    line = next(path for path in root.iter(f"{SVG}path") if path.get("class") == "qrline")
    expected = {(r, c) for r, row in enumerate(segno.make(url, error="m", micro=False).matrix)
                for c, value in enumerate(row) if value}
    assert _dark_modules(line.get("d"), border=2) == expected


def test_the_demo_range_can_be_configured(session):
    """Every current trim of the demo catalogue: the standard car and each package can be built."""
    from forecourt.demo.fleet import MODELS, build_catalogue

    build_catalogue(session=session)
    assert build_options(session=session) > 0
    for model_code, *_ in MODELS:
        model = next(m for m in vehicles_service.list_models(session=session) if m.code == model_code)
        for trim in (t for t in model.trims if t.year_to is None):
            offer = configurator.options_of(session=session, trim_id=trim.id)
            assert 2 <= len(offer["wheels"]) <= 3 and sum(o.is_default for o in offer["wheels"]) == 1
            assert sum(o.is_default for o in offer["colour"]) == 1
            has_pump = any(o.code == f"{model_code}-HEATPUMP" for o in offer["feature"])
            assert has_pump == (trim.propulsion == "electric"), trim.code
            assert configurator.check(session=session, trim_id=trim.id, option_codes=[]).valid
            for package in offer["package"]:
                result = configurator.check(session=session, trim_id=trim.id, option_codes=[package.code])
                assert result.valid == (package.code != f"{model_code}-WINTER"), (package.code, result.problems)
