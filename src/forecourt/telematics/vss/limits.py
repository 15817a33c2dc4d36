"""What a car can physically report, beyond what the VSS catalogue says a value's type allows.

VSS gives most signals no bounds at all: ``Vehicle.Speed`` is any float in km/h, so a unit whose
sensor glitched could store 8,000 km/h and a driving score would believe it. These limits are
generous on purpose (a rally car, a crash pulse, the Dead Sea, an Alpine pass all fit) and refuse
only what no road vehicle produces, each with the reason a person reading the rejection log needs.

A path's own limit wins over its unit's; a signal with neither keeps the catalogue's rules alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    low: float
    high: float
    reason: str  # completes "… is outside {low}..{high} {unit}: {reason}"


BY_PATH: dict[str, Limit] = {
    "Vehicle.CurrentLocation.Altitude": Limit(-1_000, 10_000, "no road lies below the Dead Sea shore "
                                                            "or above the highest passes"),
    "Vehicle.CurrentLocation.HorizontalAccuracy": Limit(0, 100_000, "an accuracy worse than 100 km is no position"),
    "Vehicle.CurrentLocation.VerticalAccuracy": Limit(0, 100_000, "an accuracy worse than 100 km is no position"),
    "Vehicle.LowVoltageBattery.CurrentVoltage": Limit(0, 60, "a car's low-voltage system is 12, 24 or 48 V"),
    "Vehicle.Exterior.AirTemperature": Limit(-90, 70, "colder or hotter than any air measured on Earth"),
    "Vehicle.Cabin.HVAC.AmbientAirTemperature": Limit(-90, 100, "no cabin gets colder or hotter"),
}

BY_UNIT: dict[str, Limit] = {
    "km/h": Limit(-100, 600, "faster than any road vehicle"),
    "m/s^2": Limit(-2_000, 2_000, "about 200 g, beyond what a car's crash sensors measure"),
    "degrees/s": Limit(-3_600, 3_600, "ten turns a second, beyond any rolling car"),
    "rpm": Limit(-30_000, 30_000, "faster than any car engine or electric motor turns"),
    "Celsius": Limit(-90, 1_500, "outside any temperature a car's sensors survive"),
}


def limit_for(path: str, unit: str | None) -> Limit | None:
    return BY_PATH.get(path) or (BY_UNIT.get(unit) if unit else None)
