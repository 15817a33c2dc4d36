"""The COVESA VSS catalogue as the decoders need it: which signal paths exist and what a value may be.

Every decoder hands its values to ``check`` so that one set of rules decides what reaches the signal
store: a value the catalogue cannot place (an unknown path, a string where a number belongs, a
latitude of 120) is refused at the edge with a message that names the path, instead of surfacing later
as a puzzling chart or a detector that never fires. Unknown paths are rejected rather than kept as
extensions, so a typo in a car's firmware is noticed the first time it speaks.

The data is the unmodified v6.0 export (``vss_v6.0.csv``) plus the key signals that live only on VSS
master or in the OBD overlay (``vss_key_signals.tsv``); see ``NOTICE``. It is read on first use, not
at import, so importing a decoder costs nothing.
"""

from __future__ import annotations

import ast
import csv
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

from forecourt.telematics.readings import DecodeError
from forecourt.telematics.vss.limits import Limit, limit_for

_PACKAGE = "forecourt.telematics.vss"
_CORE_FILE = "vss_v6.0.csv"
_KEY_SIGNALS_FILE = "vss_key_signals.tsv"

_INTEGER_RANGES = {
    "int8": (-(2**7), 2**7 - 1), "uint8": (0, 2**8 - 1),
    "int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1),
}
# float is IEEE single precision in VSS: a larger magnitude would turn into infinity when stored.
_FLOAT_LIMITS = {"float": 3.4028234663852886e38, "double": 1.7976931348623157e308}
_SCALAR_TYPES = frozenset({*_INTEGER_RANGES, *_FLOAT_LIMITS, "boolean", "string"})
# Characters no store can keep faithfully: NUL (PostgreSQL text) and unpaired surrogates (not UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Signal:
    """One leaf of the tree, with the rules its values must follow."""

    path: str
    kind: str  # sensor, actuator or attribute
    datatype: str  # a VSS datatype, e.g. "float", "uint32", "string[]"
    unit: str | None
    min: int | float | None
    max: int | float | None
    allowed: tuple[str, ...] | None
    origin: str  # "v6.0", "master" (newer than v6.0) or "overlay" (the OBD overlay)
    limit: Limit | None = None  # what a car can physically report (``limits``), beyond min and max

    @property
    def is_array(self) -> bool:
        return self.datatype.endswith("[]")


@dataclass(frozen=True, slots=True)
class _Catalogue:
    signals: Mapping[str, Signal]
    branches: frozenset[str]
    by_lower_case: Mapping[str, str]


def catalogue() -> Mapping[str, Signal]:
    """Every known leaf signal by path (read-only)."""
    return _load().signals


def check(path: str, value: object) -> object:
    """``value`` coerced to the signal's VSS datatype, or ``DecodeError`` naming the path and the rule.

    Coercion is deliberately narrow: integers widen to float, whole-number floats narrow to integer
    types, and nothing else changes type. A string "52" for ``Vehicle.Speed`` is a sender bug worth
    hearing about, not something to guess at.
    """
    if type(value) is float and type(path) is str:
        bounds = _float_ranges().get(path)
        if bounds is not None and bounds[0] <= value <= bounds[1]:  # NaN fails both comparisons
            return value
    signal = _load().signals.get(path) if isinstance(path, str) else None
    if signal is None:
        raise DecodeError(_unknown_path_message(path))
    if not signal.is_array:
        return _coerce(signal, signal.datatype, value)
    if not isinstance(value, (list, tuple)):
        raise DecodeError(f"{signal.path}: expected an array ({signal.datatype}), got {_describe(value)}")
    element_type = signal.datatype[:-2]
    coerced = []
    for index, element in enumerate(value):
        try:
            coerced.append(_coerce(signal, element_type, element))
        except DecodeError as error:
            raise DecodeError(f"{error} (element {index})") from None
    return coerced


@cache
def _float_ranges() -> Mapping[str, tuple[float, float]]:
    """(lowest, highest) value of each scalar float signal without a list of allowed values.

    Most of what a fleet sends is floats of such signals, tens of thousands a second, and for a
    float inside its range the whole check is these two comparisons; anything else takes the
    full path below, which also words the refusal.
    """
    ranges = {}
    for path, signal in _load().signals.items():
        if signal.datatype in _FLOAT_LIMITS and signal.allowed is None:
            limit = _FLOAT_LIMITS[signal.datatype]
            low = -limit if signal.min is None else max(-limit, signal.min)
            high = limit if signal.max is None else min(limit, signal.max)
            if signal.limit is not None:
                low, high = max(low, signal.limit.low), min(high, signal.limit.high)
            ranges[path] = (low, high)
    return MappingProxyType(ranges)


def _coerce(signal: Signal, datatype: str, value: object) -> object:
    if datatype in _INTEGER_RANGES:
        coerced: object = _as_integer(signal, datatype, value)
    elif datatype in _FLOAT_LIMITS:
        coerced = _as_float(signal, datatype, value)
    elif datatype == "boolean":
        if not isinstance(value, bool):
            raise DecodeError(f"{signal.path}: expected a boolean, got {_describe(value)}")
        return value
    else:
        if not isinstance(value, str):
            raise DecodeError(f"{signal.path}: expected a string, got {_describe(value)}")
        if _UNSTORABLE.search(value):
            raise DecodeError(f"{signal.path}: the string contains a NUL character or an unpaired surrogate")
        coerced = value
    _check_bounds(signal, coerced)
    return coerced


def _as_integer(signal: Signal, datatype: str, value: object) -> int:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DecodeError(f"{signal.path}: {value} is not a finite number")
        if not value.is_integer():
            raise DecodeError(f"{signal.path}: expected a whole number ({datatype}), got {value!r}")
        value = int(value)
    elif isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"{signal.path}: expected a whole number ({datatype}), got {_describe(value)}")
    low, high = _INTEGER_RANGES[datatype]
    if not low <= value <= high:
        raise DecodeError(f"{signal.path}: {_show(value)} is outside the {datatype} range {low}..{high}")
    return value


def _as_float(signal: Signal, datatype: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DecodeError(f"{signal.path}: expected a number ({datatype}), got {_describe(value)}")
    limit = _FLOAT_LIMITS[datatype]
    if isinstance(value, int) and abs(value) > limit:  # float() of a huge int would overflow
        raise DecodeError(f"{signal.path}: {_show(value)} is outside the range of a {datatype}")
    number = float(value)
    if not math.isfinite(number):
        raise DecodeError(f"{signal.path}: {number} is not a finite number")
    if abs(number) > limit:
        raise DecodeError(f"{signal.path}: {number!r} is outside the range of a {datatype}")
    return number


def _check_bounds(signal: Signal, value: object) -> None:
    if signal.min is not None and value < signal.min:  # type: ignore[operator]
        raise DecodeError(f"{signal.path}: {_show(value)} is below the minimum {signal.min}")
    if signal.max is not None and value > signal.max:  # type: ignore[operator]
        raise DecodeError(f"{signal.path}: {_show(value)} is above the maximum {signal.max}")
    physical = signal.limit
    if physical is not None and isinstance(value, (int, float)) and not physical.low <= value <= physical.high:
        unit = f" {signal.unit}" if signal.unit else ""
        raise DecodeError(f"{signal.path}: {_show(value)}{unit} is outside {physical.low:g}..{physical.high:g}"
                          f"{unit}: {physical.reason}")
    if signal.allowed is not None and value not in signal.allowed:
        raise DecodeError(f"{signal.path}: {_show(value)} is not one of the allowed values "
                          f"({', '.join(signal.allowed)})")


def _unknown_path_message(path: object) -> str:
    if not isinstance(path, str):
        return f"a signal path must be a string, got {_describe(path)}"
    loaded = _load()
    shown = _show_text(repr(path), 120)  # repr: the path may hold line breaks or worse
    if path in loaded.branches:
        return f"{shown} is a VSS branch, not a signal; send its leaf signals"
    hint = loaded.by_lower_case.get(path.lower())
    suggestion = f" (did you mean '{hint}'?)" if hint else ""
    return (f"unknown signal {shown}{suggestion}: not in VSS v6.0 nor among the key signals "
            "from VSS master and the OBD overlay")


def _describe(value: object) -> str:
    return f"{type(value).__name__} {_show(value)}"


def _show(value: object) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int too long to print (sys.get_int_max_str_digits)
        text = f"<a {value.bit_length()}-bit integer>" if isinstance(value, int) else "<unprintable>"
    return _show_text(text, 60)


def _show_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- loading ----------------------------------------------------------------------------------------

@cache
def _load() -> _Catalogue:
    signals: dict[str, Signal] = {}
    branches: set[str] = set()
    for row in csv.DictReader(io.StringIO(_read(_CORE_FILE))):
        if row["Type"] == "branch":
            branches.add(row["Signal"])
            continue
        signals[row["Signal"]] = _signal(row["Signal"], row["Type"], row["DataType"], row["Unit"],
                                         row["Min"], row["Max"], row["Allowed"], "v6.0")
    lines = [line for line in _read(_KEY_SIGNALS_FILE).splitlines() if line and not line.startswith("#")]
    for row in csv.DictReader(lines, delimiter="\t"):
        if row["signal"] in signals:
            continue
        origin = "master" if row["in_master"] == "True" else "overlay"
        signals[row["signal"]] = _signal(row["signal"], row["type"], row["datatype"], row["unit"],
                                         row["min"], row["max"], row["allowed"], origin)
        branches.update(_parents(row["signal"]))
    return _Catalogue(
        signals=MappingProxyType(signals),
        branches=frozenset(branches),
        by_lower_case=MappingProxyType({path.lower(): path for path in signals}),
    )


def _read(name: str) -> str:
    return (resources.files(_PACKAGE) / name).read_text(encoding="utf-8")


def _signal(path: str, kind: str, datatype: str, unit: str, low: str, high: str, allowed: str,
            origin: str) -> Signal:
    base = datatype[:-2] if datatype.endswith("[]") else datatype
    if base not in _SCALAR_TYPES:
        raise RuntimeError(f"VSS catalogue: {path} has an unknown datatype {datatype!r}")
    return Signal(
        path=path, kind=kind, datatype=datatype, unit=unit or None,
        min=_bound(low, base), max=_bound(high, base),
        allowed=tuple(ast.literal_eval(allowed)) if allowed else None,
        origin=origin,
        limit=limit_for(path, unit or None) if base in (*_FLOAT_LIMITS, *_INTEGER_RANGES) else None,
    )


def _bound(text: str, datatype: str) -> int | float | None:
    if not text:
        return None
    number = float(text)
    return int(number) if datatype in _INTEGER_RANGES or number.is_integer() and "." not in text else number


def _parents(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]
