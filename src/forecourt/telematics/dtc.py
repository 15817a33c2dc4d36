"""Diagnostic trouble codes in the driver's words.

A code such as ``P0420`` means nothing to a driver and little to a call-centre agent. The codes are
the generic identifiers of SAE J2012 (letter for the system, then four characters); the
descriptions, severities and workshop advice below are Forecourt's own plain-language wording,
written for drivers, not copied from the standard or any code database. A code we have no entry
for still gets an honest description from its system letter, and is treated as needing a
workshop, because an unknown fault is not a harmless one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from forecourt.core.i18n import _, gettext

# Marks a text for the catalogues where it is defined; ``describe`` translates it when it is read.
N_ = str


class Severity(StrEnum):
    INFO = "info"  # worth knowing; the car is fine to drive
    SERVICE_SOON = "service_soon"  # book a workshop visit in the coming days
    STOP_SAFELY = "stop_safely"  # stop when it is safe and do not drive on

    @property
    def rank(self) -> int:
        return {"info": 1, "service_soon": 2, "stop_safely": 3}[self.value]


@dataclass(frozen=True)
class TroubleCode:
    code: str
    description: str
    severity: Severity
    needs_workshop: bool
    system: str  # powertrain | chassis | body | network
    known: bool  # False: described from its system letter only


_I, _S, _X = Severity.INFO, Severity.SERVICE_SOON, Severity.STOP_SAFELY

# code: (description, severity, needs a workshop)
CODES: dict[str, tuple[str, Severity, bool]] = {
    # engine air, fuel and timing
    "P0010": (N_("Intake camshaft adjuster circuit fault (bank 1)"), _S, True),
    "P0011": (N_("Intake camshaft timing further advanced than commanded (bank 1)"), _S, True),
    "P0087": (N_("Fuel pressure in the fuel rail is too low"), _S, True),
    "P0101": (N_("Air-flow sensor reading does not fit the engine's load"), _S, True),
    "P0106": (N_("Intake manifold pressure sensor reading out of range"), _S, True),
    "P0113": (N_("Intake air temperature sensor reads too high"), _I, True),
    "P0117": (N_("Coolant temperature sensor reads too low"), _S, True),
    "P0118": (N_("Coolant temperature sensor reads too high"), _S, True),
    "P0121": (N_("Throttle position sensor reading implausible"), _S, True),
    "P0128": (N_("Engine stays too cold: coolant thermostat probably stuck open"), _S, True),
    "P0130": (N_("Oxygen sensor circuit fault (bank 1, before the catalyst)"), _S, True),
    "P0135": (N_("Oxygen sensor heater fault (bank 1, before the catalyst)"), _S, True),
    "P0171": (N_("System too lean (bank 1): too much air or too little fuel"), _S, True),
    "P0172": (N_("System too rich (bank 1): too much fuel or too little air"), _S, True),
    "P0174": (N_("System too lean (bank 2): too much air or too little fuel"), _S, True),
    "P0175": (N_("System too rich (bank 2): too much fuel or too little air"), _S, True),
    "P0217": (N_("Engine overheating"), _X, True),
    "P0218": (N_("Transmission fluid overheating"), _X, True),
    "P0219": (N_("Engine speed went above its safe limit"), _S, True),
    "P0234": (N_("Turbocharger boost pressure too high"), _S, True),
    "P0299": (N_("Turbocharger boost pressure too low: less power than usual"), _S, True),
    # misfire and ignition
    "P0300": (N_("Random/multiple cylinder misfire detected"), _S, True),
    "P0301": (N_("Cylinder 1 misfire detected"), _S, True),
    "P0302": (N_("Cylinder 2 misfire detected"), _S, True),
    "P0303": (N_("Cylinder 3 misfire detected"), _S, True),
    "P0304": (N_("Cylinder 4 misfire detected"), _S, True),
    "P0325": (N_("Knock sensor circuit fault (bank 1)"), _S, True),
    "P0335": (N_("Crankshaft position sensor fault: the engine may stall or not start"), _S, True),
    "P0340": (N_("Camshaft position sensor fault"), _S, True),
    "P0380": (N_("Glow plug circuit fault: cold starts may be hard"), _S, True),
    # emissions
    "P0401": (N_("Exhaust gas recirculation flow too low"), _S, True),
    "P0402": (N_("Exhaust gas recirculation flow too high"), _S, True),
    "P0420": (N_("Catalytic converter efficiency below threshold (bank 1)"), _S, True),
    "P0430": (N_("Catalytic converter efficiency below threshold (bank 2)"), _S, True),
    "P0440": (N_("Fuel vapour (EVAP) system fault"), _I, True),
    "P0442": (N_("Small leak in the fuel vapour (EVAP) system"), _I, True),
    "P0446": (N_("Fuel vapour (EVAP) vent valve circuit fault"), _I, True),
    "P0455": (N_("Large leak in the fuel vapour (EVAP) system: check the fuel cap first"), _I, True),
    "P0456": (N_("Very small leak in the fuel vapour (EVAP) system"), _I, True),
    "P0457": (N_("Fuel vapour leak: fuel cap loose or missing"), _I, False),
    "P2002": (N_("Diesel particulate filter efficiency below threshold"), _S, True),
    "P2096": (N_("Mixture after the catalyst too lean (bank 1)"), _I, True),
    "P2187": (N_("System too lean at idle (bank 1)"), _S, True),
    "P20EE": (N_("NOx (SCR) catalyst efficiency below threshold"), _S, True),
    "P242F": (N_("Diesel particulate filter restricted by ash"), _S, True),
    "P2463": (N_("Diesel particulate filter full of soot: a long motorway drive may clear it"), _S, True),
    # speed, idle, oil and electrics
    "P0500": (N_("Vehicle speed sensor fault: speedometer and cruise control may not work"), _S, True),
    "P0505": (N_("Idle speed control fault"), _S, True),
    "P0506": (N_("Idle speed lower than expected"), _I, True),
    "P0507": (N_("Idle speed higher than expected"), _I, True),
    "P0520": (N_("Engine oil pressure sensor circuit fault"), _S, True),
    "P0524": (N_("Engine oil pressure too low"), _X, True),
    "P0562": (N_("System voltage low: the battery or alternator may be failing"), _S, True),
    "P0563": (N_("System voltage too high: the charging system may be faulty"), _S, True),
    "P0600": (N_("Communication fault between control units"), _S, True),
    "P0606": (N_("Engine control unit internal fault"), _S, True),
    # transmission and hybrid
    "P0700": (N_("Transmission control fault reported"), _S, True),
    "P0715": (N_("Transmission input speed sensor fault"), _S, True),
    "P0730": (N_("Transmission in the wrong gear ratio: shifting may be rough"), _S, True),
    "P0741": (N_("Torque converter lock-up clutch not engaging"), _S, True),
    "P0A80": (N_("Hybrid battery pack needs replacing"), _S, True),
    # chassis
    "C0035": (N_("Front-left wheel speed sensor fault: ABS and stability control may be off"), _S, True),
    "C0040": (N_("Front-right wheel speed sensor fault: ABS and stability control may be off"), _S, True),
    "C0045": (N_("Rear-left wheel speed sensor fault: ABS and stability control may be off"), _S, True),
    "C0050": (N_("Rear-right wheel speed sensor fault: ABS and stability control may be off"), _S, True),
    "C0110": (N_("ABS pump motor fault: the brakes work without ABS"), _S, True),
    "C0121": (N_("ABS valve relay fault: the brakes work without ABS"), _S, True),
    # body (restraints)
    "B0001": (N_("Driver front airbag deployment loop fault: the airbag may not deploy"), _S, True),
    "B0002": (N_("Driver front airbag second-stage loop fault: the airbag may not deploy fully"), _S, True),
    "B0010": (N_("Passenger front airbag deployment loop fault: the airbag may not deploy"), _S, True),
    "B0011": (N_("Passenger front airbag second-stage loop fault: the airbag may not deploy fully"), _S, True),
    # network
    "U0001": (N_("High-speed data bus fault: control units cannot talk reliably"), _S, True),
    "U0073": (N_("Control unit data bus switched off"), _S, True),
    "U0100": (N_("Lost communication with the engine control unit (ECM)"), _S, True),
    "U0101": (N_("Lost communication with the transmission control unit"), _S, True),
    "U0121": (N_("Lost communication with the ABS control unit"), _S, True),
    "U0140": (N_("Lost communication with the body control unit"), _S, True),
    "U0151": (N_("Lost communication with the airbag control unit"), _S, True),
    "U0155": (N_("Lost communication with the instrument cluster"), _S, True),
    "U0401": (N_("Invalid data received from the engine control unit"), _S, True),
}

SYSTEMS = {"P": "powertrain", "C": "chassis", "B": "body", "U": "network"}
_GENERIC = {
    "P": N_("Powertrain fault (engine, fuel, emissions or transmission)"),
    "C": N_("Chassis fault (brakes, steering or suspension)"),
    "B": N_("Body fault (airbags, seats, doors or comfort systems)"),
    "U": N_("Network fault (control units not communicating)"),
}
_PATTERN = re.compile(r"^([PCBU][0-3][0-9A-F]{3})")


def normalise(raw: object) -> str | None:
    """``'p0420'``, ``'P0420-1F'`` (with a failure-type byte) -> ``'P0420'``; None if it is no DTC."""
    text = str(raw or "").strip().upper().replace(" ", "")
    match = _PATTERN.match(text)
    return match.group(1) if match else None


def parse_list(value: object) -> list[str]:
    """A DTC list as decoders deliver it (a JSON list, or one comma- or space-separated string)."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else re.split(r"[,;\s]+", str(value))
    return sorted({code for code in map(normalise, items) if code})


def describe(code: str) -> TroubleCode:
    code = normalise(code) or code
    known = CODES.get(code)
    system = SYSTEMS.get(code[:1], "unknown")
    if known is not None:
        description, severity, workshop = known
        return TroubleCode(code, gettext(description), severity, workshop, system, True)
    description = gettext(_GENERIC[code[:1]]) if code[:1] in _GENERIC else _("Unrecognised fault code")
    maker_digits = ("1", "3") if code[:1] == "P" else ("1", "2")
    if code[1:2] in maker_digits:
        description = _("%(description)s; this code is specific to the manufacturer", description=description)
    return TroubleCode(code, description, Severity.SERVICE_SOON, True, system, False)


def advice(code: TroubleCode) -> str:
    """What the driver should do about a code, in one sentence: a description alone leaves them guessing."""
    if code.severity is Severity.STOP_SAFELY:
        return _("Stop when it is safe, switch off the engine and call roadside assistance; do not drive on.")
    if code.severity is Severity.SERVICE_SOON:
        return _("Safe to drive carefully; book a workshop visit in the coming days.")
    if code.needs_workshop:
        return _("Nothing urgent: have it checked at the next service.")
    return _("Nothing urgent, and no workshop needed; it usually clears by itself once the cause is fixed.")
