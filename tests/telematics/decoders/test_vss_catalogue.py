"""The VSS catalogue: complete, shipped unmodified with its licence, loaded lazily, strict about values."""

from __future__ import annotations

import math
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from forecourt.telematics.readings import DecodeError
from forecourt.telematics.vss import catalogue, check

REPO = Path(__file__).resolve().parents[3]
PACKAGE_DIR = REPO / "src" / "forecourt" / "telematics" / "vss"
SHARED_VSS = (REPO / "../shared/data/vss").resolve()


def test_it_knows_every_v6_leaf_and_the_key_signals_beyond_it():
    signals = catalogue()
    assert sum(signal.origin == "v6.0" for signal in signals.values()) == 1267
    assert signals["Vehicle.Speed"].unit == "km/h" and signals["Vehicle.Speed"].datatype == "float"
    assert signals["Vehicle.TraveledDistance"].unit == "m" and signals["Vehicle.TraveledDistance"].datatype == "uint32"
    assert signals["Vehicle.CurrentLocation.Latitude"].min == -90
    assert signals["Vehicle.CurrentLocation.Heading"].max == 360
    assert signals["Vehicle.Safety.Rollover"].origin == "master"
    assert signals["Vehicle.Safety.Rollover"].allowed == ("UNKNOWN", "NONE", "RISK", "DETECTED")
    assert signals["Vehicle.OBD.DTCList"].origin == "overlay"
    assert signals["Vehicle.OBD.DTCList"].datatype == "string[]"
    assert {path for path, signal in signals.items() if signal.origin != "v6.0"} >= {
        "Vehicle.Safety.IsFire", "Vehicle.Safety.IsSubmersed", "Vehicle.OBD.Status.IsMILOn"}


def test_the_data_ships_unmodified_with_its_licence_and_as_package_data():
    for name in ("vss_v6.0.csv", "vss_key_signals.tsv"):
        assert (PACKAGE_DIR / name).read_bytes() == (SHARED_VSS / name).read_bytes(), name
    assert "Mozilla Public License Version 2.0" in (PACKAGE_DIR / "LICENSE-MPL-2.0").read_text()
    assert "MPL" in (PACKAGE_DIR / "NOTICE").read_text()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "telematics/vss/*" in pyproject["tool"]["setuptools"]["package-data"]["forecourt"]


def test_nothing_is_loaded_at_import():
    probe = ("import forecourt.telematics.decoders.vss_json, forecourt.telematics.decoders.osmand, "
             "forecourt.telematics.decoders.teltonika\n"
             "from forecourt.telematics.vss.catalogue import _load\n"
             "assert _load.cache_info().currsize == 0, 'catalogue loaded at import'\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path, value, expected", [
    ("Vehicle.Speed", 52, 52.0),
    ("Vehicle.Speed", -3.5, -3.5),
    ("Vehicle.TraveledDistance", 1200.0, 1200),
    ("Vehicle.IsMoving", True, True),
    ("Vehicle.LowVoltageSystemState", "ON", "ON"),
    ("Vehicle.Diagnostics.DTCList", ["P0301", "U0100"], ["P0301", "U0100"]),
    ("Vehicle.Diagnostics.DTCList", [], []),
    ("Vehicle.Cabin.SeatPosCount", [2, 3.0], [2, 3]),
    ("Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", 100, 100.0),
    ("Vehicle.Safety.IsFire", False, False),
])
def test_check_coerces_to_the_datatype(path, value, expected):
    coerced = check(path, value)
    assert coerced == expected and type(coerced) is type(expected)


@pytest.mark.parametrize("path, value, complaint", [
    ("Vehicle.Sped", 1, "unknown signal 'Vehicle.Sped'"),
    ("vehicle.speed", 1, "did you mean 'Vehicle.Speed'"),
    ("Vehicle.CurrentLocation", 1, "is a VSS branch"),
    ("Vehicle.Speed", "52", "expected a number"),
    ("Vehicle.Speed", True, "expected a number"),
    ("Vehicle.Speed", math.nan, "not a finite number"),
    ("Vehicle.Speed", math.inf, "not a finite number"),
    ("Vehicle.Speed", 1e39, "outside the range of a float"),
    ("Vehicle.TraveledDistance", 1.5, "whole number"),
    ("Vehicle.TraveledDistance", -1, "outside the uint32 range"),
    ("Vehicle.TraveledDistance", 2**32, "outside the uint32 range"),
    ("Vehicle.IsMoving", 1, "expected a boolean"),
    ("Vehicle.CurrentLocation.Latitude", -90.5, "below the minimum -90"),
    ("Vehicle.CurrentLocation.Longitude", 180.01, "above the maximum 180"),
    ("Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", 100.5, "above the maximum 100.0"),
    ("Vehicle.LowVoltageSystemState", "on", "not one of the allowed values"),
    ("Vehicle.Diagnostics.DTCList", "P0301", "expected an array"),
    ("Vehicle.Diagnostics.DTCList", ["P0301", 7], r"expected a string, got int 7 \(element 1\)"),
    ("Vehicle.VehicleIdentification.Model", "a\x00b", "NUL"),
])
def test_check_names_the_path_and_the_rule(path, value, complaint):
    with pytest.raises(DecodeError, match=complaint) as raised:
        check(path, value)
    assert path.split(".")[-1].lower() in str(raised.value).lower() or "branch" in str(raised.value)
