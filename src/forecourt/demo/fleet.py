"""The Aurora range and the cars built from it: VINs, plates, colours and workshop visits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from sqlalchemy.orm import Session

from forecourt.core.i18n import N_
from forecourt.vehicles import service as vehicles_service

# A fictional world manufacturer identifier; "W" is Germany's range under ISO 3780.
WMI = "WAM"
# ISO 3779 model-year codes (position 10); I, O, Q, U, Z and 0 are never used.
_YEAR_CODES = dict(zip(range(2010, 2040), "ABCDEFGHJKLMNPRSTVWXY123456789"))
_PROPULSION_CODES = {"petrol": "P", "diesel": "D", "hybrid": "H", "plug_in_hybrid": "X", "electric": "E"}
_PLANTS = "BLZ"

# code, name, body, VIN letter, year_from, year_to, trims (code, name, propulsion, from, to, price)
MODELS = (
    ("LUMO", "Lumo", "hatchback", "L", 2015, None, (
        ("LUMO-10-CORE", "1.0 Core", "petrol", 2015, 2022, 19_900),
        ("LUMO-15-STYLE", "1.5 Style", "petrol", 2018, None, 23_900),
        ("LUMO-16D-COMFORT", "1.6 Diesel Comfort", "diesel", 2015, 2020, 22_900),
        ("LUMO-HYBRID", "Hybrid Style", "hybrid", 2020, None, 26_900),
        ("LUMO-E54", "e-Lumo 54 kWh", "electric", 2021, None, 33_900))),
    ("VELA", "Vela", "saloon", "V", 2016, None, (
        ("VELA-20-BUSINESS", "2.0 Business", "petrol", 2016, 2023, 34_900),
        ("VELA-20D-BUSINESS", "2.0 Diesel Business", "diesel", 2016, 2022, 36_900),
        ("VELA-PHEV-GT", "Plug-in Hybrid GT", "plug_in_hybrid", 2019, None, 44_900),
        ("VELA-E82", "Vela e 82 kWh", "electric", 2022, None, 52_900))),
    ("VELA-TOURER", "Vela Tourer", "estate", "E", 2016, None, (
        ("TOURER-15-COMFORT", "1.5 Comfort", "petrol", 2016, None, 35_900),
        ("TOURER-20D-COMFORT", "2.0 Diesel Comfort", "diesel", 2016, None, 38_900),
        ("TOURER-PHEV", "Plug-in Hybrid", "plug_in_hybrid", 2020, None, 46_900))),
    ("TERRA", "Terra", "suv", "T", 2017, None, (
        ("TERRA-15", "1.5 Active", "petrol", 2017, 2023, 31_900),
        ("TERRA-20D-4X4", "2.0 Diesel 4x4", "diesel", 2017, 2023, 37_900),
        ("TERRA-HYBRID", "Hybrid Active", "hybrid", 2021, None, 39_900),
        ("TERRA-PHEV-4X4", "Plug-in Hybrid 4x4", "plug_in_hybrid", 2020, None, 47_900),
        ("TERRA-E77", "e-Terra 77 kWh", "electric", 2022, None, 49_900))),
    ("PORTA", "Porta", "van", "P", 2018, None, (
        ("PORTA-20D-CARGO", "2.0 Diesel Cargo", "diesel", 2018, None, 33_900),
        ("PORTA-E75", "e-Porta 75 kWh", "electric", 2023, None, 45_900))),
)
# How popular each body style is on German roads (roughly).
BODY_WEIGHTS = {"hatchback": 30, "saloon": 12, "estate": 20, "suv": 30, "van": 8}
# Stored as written and shown in the reader's language (``N_``).
COLOURS = (N_("Glacier white"), N_("Obsidian black"), N_("Lunar silver"), N_("Graphite grey"), N_("Fjord blue"),
           N_("Ruby red"), N_("Forest green"), N_("Sand beige"), N_("Copper orange"), N_("Midnight blue"))
COLOUR_WEIGHTS = (22, 20, 16, 18, 8, 6, 3, 3, 2, 2)


@dataclass(frozen=True)
class TrimRef:
    id: int
    model_code: str
    vin_letter: str
    body: str
    propulsion: str
    year_from: int
    year_to: int | None
    position: int  # within its model, for the VIN


def build_catalogue(*, session: Session) -> list[TrimRef]:
    """Small and hand-made, so written through the vehicles service."""
    trims: list[TrimRef] = []
    for code, name, body, letter, year_from, year_to, specs in MODELS:
        model = vehicles_service.create_model(session=session, code=code, name=name, body=body,
                                              year_from=year_from, year_to=year_to)
        for position, (trim_code, trim_name, propulsion, t_from, t_to, price) in enumerate(specs, start=1):
            trim = vehicles_service.create_trim(session=session, model_id=model.id, code=trim_code,
                                                name=trim_name, propulsion=propulsion, year_from=t_from,
                                                year_to=t_to, base_price=price)
            trims.append(TrimRef(id=trim.id, model_code=code, vin_letter=letter, body=body, propulsion=propulsion,
                                 year_from=t_from, year_to=t_to, position=position))
    return trims


def vin(trim: TrimRef, model_year: int, serial: int) -> str:
    """WMI, model/body/propulsion/trim (VDS), check digit, model year, plant, serial number."""
    body_code = {"hatchback": "H", "saloon": "S", "estate": "K", "suv": "G", "van": "V"}[trim.body]
    plant = _PLANTS[(serial // 1_000_000) % len(_PLANTS)]
    draft = (f"{WMI}{trim.vin_letter}{body_code}{_PROPULSION_CODES[trim.propulsion]}{trim.position}A0"
             f"{_YEAR_CODES[model_year]}{plant}{serial % 1_000_000:06d}")
    return vehicles_service.with_check_digit(draft)


def plate(prefix: str, rng: Random, taken: set[str], electric: bool = False) -> str:
    """A German registration such as "B-AB 1234", unique within the demo (some EVs carry the "E")."""
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    while True:
        middle = "".join(rng.choice(letters) for _ in range(rng.choice((1, 2, 2, 2))))
        registration = f"{prefix}-{middle} {rng.randint(1, 9999)}"
        if electric and rng.random() < 0.5:
            registration += "E"
        if registration not in taken and len(registration) <= 16:
            taken.add(registration)
            return registration


def pick_trim(trims: list[TrimRef], rng: Random, latest_year: int) -> tuple[TrimRef, int]:
    """A trim weighted by body popularity, and a model year it was built in."""
    weights = [BODY_WEIGHTS[t.body] for t in trims]
    trim = rng.choices(trims, weights)[0]
    first = max(trim.year_from, latest_year - 10)
    last = min(trim.year_to or latest_year, latest_year)
    first = min(first, last)
    # Newer years are more common: the fleet grows.
    years = list(range(first, last + 1))
    return trim, rng.choices(years, [1 + i for i in range(len(years))])[0]


_REPAIRS = (("Front brake pads and discs replaced", 420, 780), ("12 V battery replaced", 160, 290),
            ("Air-conditioning service", 120, 240), ("Windscreen chip repaired", 60, 140),
            ("Wiper blades and headlamp bulb", 45, 110), ("Rear shock absorbers replaced", 520, 980),
            ("Software update and diagnostics", 0, 95), ("Wheel bearing replaced (front left)", 310, 560))


def workshop_visit(kind: str, propulsion: str, rng: Random) -> tuple[str, list[str], float]:
    """Summary, operations and cost of one visit of the given kind."""
    if kind == "oil_service" and propulsion == "electric":
        kind = "inspection"
    if kind == "inspection":
        operations = ["Brake check", "Lights and wipers", "Diagnostics read-out"]
        if propulsion in ("electric", "plug_in_hybrid"):
            operations.append("High-voltage battery check")
        return "Annual inspection", operations, round(rng.uniform(150, 420), 2)
    if kind == "oil_service":
        return "Oil service", ["Engine oil and filter", "Air filter", "Service interval reset"], \
            round(rng.uniform(180, 380), 2)
    if kind == "tyres":
        if rng.random() < 0.7:
            return "Seasonal tyre change", ["Winter/summer tyre swap", "Wheel balancing", "Tyre storage"], \
                round(rng.uniform(70, 140), 2)
        return "New tyres", ["4 new tyres", "Wheel alignment"], round(rng.uniform(480, 960), 2)
    summary, low, high = rng.choice(_REPAIRS)
    return summary, [summary], round(rng.uniform(low, high), 2)


def visit_dates(start: date, end: date, count: int, rng: Random, avoid: set[date]) -> list[date]:
    """``count`` distinct, increasing dates strictly inside (start, end], skipping ``avoid``."""
    span = (end - start).days
    if span < 2 or count <= 0:
        return []
    offsets = sorted(rng.sample(range(1, span + 1), min(count, span)))
    days = []
    for offset in offsets:
        day = start + timedelta(days=offset)
        if day not in avoid and (not days or day > days[-1]):
            days.append(day)
    return days
