"""Vehicle health from the live twin: fault codes, the 12 V battery, tyres and the next service.

``health_of`` judges a car from the latest value of each signal, so a page always shows the
present state. ``refresh_health`` compares that judgement with the last one stored for the car
and announces each change exactly once (a fault that is reported again on every message must
not open a service proposal every time). The announcement travels in the same transaction as the
stored state, so a rolled-back batch announces nothing and the next one announces it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from types import SimpleNamespace

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from forecourt.core import changes, dates, events
from forecourt.core.clock import now
from forecourt.core.db import bulk_rows, one_of
from forecourt.core.i18n import _, gettext
from forecourt.telematics import dtc
from forecourt.telematics.models import Device, HealthState, TwinSignal
from forecourt.vehicles import recalls
from forecourt.vehicles import service as vehicles_service

DTC_PATHS = ("Vehicle.Diagnostics.DTCList", "Vehicle.OBD.DTCList")
VOLTAGE, SYSTEM_STATE = "Vehicle.LowVoltageBattery.CurrentVoltage", "Vehicle.LowVoltageSystemState"
ODOMETER = "Vehicle.TraveledDistance"  # metres
SERVICE_DUE, DISTANCE_TO_SERVICE, TIME_TO_SERVICE = (
    "Vehicle.Service.IsServiceDue", "Vehicle.Service.DistanceToService", "Vehicle.Service.TimeToService")
_TYRE = re.compile(r"^Vehicle\.Chassis\.Axle\.Row(\d+)\.Wheel\.(Left|Right)\.Tire\.(Pressure|IsPressureLow)$")

# A resting lead-acid battery below ~11.8 V is largely discharged and below ~11 V may not start the car.
BATTERY_LOW_V, BATTERY_CRITICAL_V = 11.8, 11.0
# With the engine (or an EV's DC-DC converter) running the battery should be charging at ~13.5-14.5 V.
BATTERY_NOT_CHARGING_V = 12.6
TYRE_LOW_KPA = 200.0
SERVICE_SOON_KM, SERVICE_SOON_DAYS = 1500, 30


@dataclass(frozen=True)
class ServiceInterval:
    km: int
    days: int


# For cars that do not report their own service need. Keyed by propulsion; a model with its own
# schedule is added here. Every model today follows the default.
DEFAULT_INTERVAL = ServiceInterval(km=30_000, days=730)
SERVICE_INTERVALS: dict[str, ServiceInterval] = {}

STATUSES = ("ok", "info", "service_soon", "stop_safely")
_RANK = {"ok": 0, "unknown": 0, "due": 1, "low": 1, "overdue": 2, "critical": 2}


# --- events --------------------------------------------------------------------------------------

@events.durable("telematics.dtc_appeared")
@dataclass(frozen=True)
class DtcAppeared:
    vehicle_id: int
    code: str
    description: str
    severity: str
    needs_workshop: bool


@dataclass(frozen=True)
class DtcCleared:
    vehicle_id: int
    code: str
    description: str


@dataclass(frozen=True)
class BatteryLow:
    vehicle_id: int
    voltage: float
    level: str  # low | critical


@dataclass(frozen=True)
class TyrePressureLow:
    vehicle_id: int
    wheels: tuple[str, ...]  # the wheels that newly became low, e.g. ("front left",)
    lowest_kpa: float | None  # of those wheels, when the car reports pressures


@events.durable("telematics.service_due")
@dataclass(frozen=True)
class ServiceDue:
    vehicle_id: int
    level: str  # due | overdue
    reason: str


# --- the judgement -------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatteryHealth:
    level: str  # ok | low | critical | unknown
    voltage: float | None
    engine_running: bool | None
    text: str


@dataclass(frozen=True)
class TyreHealth:
    level: str  # ok | low | unknown
    low_wheels: tuple[str, ...]
    pressures_kpa: dict[str, float]
    text: str


@dataclass(frozen=True)
class ServiceHealth:
    level: str  # ok | due | overdue | unknown
    basis: str  # car (it reports its own need) | rule (interval since the last service) | none
    km_left: float | None
    days_left: int | None
    text: str


@dataclass(frozen=True)
class VehicleHealth:
    vehicle_id: int
    status: str  # ok | info | service_soon | stop_safely
    dtcs: tuple[dtc.TroubleCode, ...]
    battery: BatteryHealth
    tyres: TyreHealth
    service: ServiceHealth
    summary: str
    reported_at: datetime | None  # the newest twin value this judgement rests on


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def battery_of(twin: dict[str, object]) -> BatteryHealth:
    voltage = _number(twin.get(VOLTAGE))
    state = str(twin.get(SYSTEM_STATE) or "").upper()
    running = True if state == "ON" else False if state in ("OFF", "LOCK", "ACC") else None
    if voltage is None:
        return BatteryHealth("unknown", None, running, _("The car has not reported its 12 V battery."))
    if state == "START":  # cranking pulls the voltage down for a moment; it says nothing about the battery
        return BatteryHealth("unknown", voltage, None, _("%(volts)s V while starting the engine.", volts=_volts(voltage)))
    if voltage < BATTERY_CRITICAL_V:
        return BatteryHealth("critical", voltage, running,
                             _("12 V battery critically low (%(volts)s V): the car may not start.",
                               volts=_volts(voltage)))
    if voltage < BATTERY_LOW_V:
        return BatteryHealth("low", voltage, running,
                             _("12 V battery low (%(volts)s V): drive for 30 minutes or charge it.",
                               volts=_volts(voltage)))
    if running and voltage < BATTERY_NOT_CHARGING_V:
        return BatteryHealth("low", voltage, running, _("12 V battery not charging while the engine runs "
                                                         "(%(volts)s V): the alternator or battery may be failing.",
                                                         volts=_volts(voltage)))
    return BatteryHealth("ok", voltage, running, _("12 V battery fine (%(volts)s V).", volts=_volts(voltage)))


def _volts(voltage: float) -> str:
    return dates.format_number(voltage, 1)


def _wheel_name(row: str, side: str) -> str:
    axle = {"1": "front", "2": "rear"}.get(row, f"axle {row}")
    return f"{axle} {side.lower()}"


def tyres_of(twin: dict[str, object]) -> TyreHealth:
    pressures: dict[str, float] = {}
    flagged: set[str] = set()
    seen = False
    for path, value in twin.items():
        match = _TYRE.match(path)
        if not match:
            continue
        seen = True
        wheel = _wheel_name(match.group(1), match.group(2))
        if match.group(3) == "Pressure" and _number(value) is not None:
            pressures[wheel] = float(value)
        elif match.group(3) == "IsPressureLow" and value is True:
            flagged.add(wheel)
    if not seen:
        return TyreHealth("unknown", (), {}, _("The car has not reported its tyre pressures."))
    low = tuple(sorted(flagged | {w for w, kpa in pressures.items() if kpa < TYRE_LOW_KPA}))
    if not low:
        return TyreHealth("ok", (), pressures, _("Tyre pressures fine."))
    details = ", ".join(f"{gettext(w)} ({pressures[w]:.0f} kPa)" if w in pressures else gettext(w) for w in low)
    return TyreHealth("low", low, pressures, _("Low tyre pressure: %(details)s. Check and inflate the tyres.",
                                               details=details))


def _service_from_car(twin: dict[str, object]) -> ServiceHealth | None:
    flag = twin.get(SERVICE_DUE)
    km_left, seconds_left = _number(twin.get(DISTANCE_TO_SERVICE)), _number(twin.get(TIME_TO_SERVICE))
    if flag is None and km_left is None and seconds_left is None:
        return None
    days_left = int(seconds_left // 86400) if seconds_left is not None else None
    return _service_level("car", km_left, days_left, flag is True, _("as the car reports"))


def _service_level(basis: str, km_left: float | None, days_left: int | None, flagged: bool,
                   why: str) -> ServiceHealth:
    late, left = [], []
    if km_left is not None:
        (late if km_left < 0 else left).append(_("%(km)s km", km=dates.format_number(abs(km_left), 0)))
    if days_left is not None:
        (late if days_left < 0 else left).append(_("%(days)s days", days=abs(days_left)))
    if late:
        return ServiceHealth("overdue", basis, km_left, days_left, _("Service overdue by %(late)s (%(why)s).",
                                                                     late=_(" and ").join(late), why=why))
    left = _(" or ").join(left)
    if flagged or (km_left is not None and km_left <= SERVICE_SOON_KM) or (
            days_left is not None and days_left <= SERVICE_SOON_DAYS):
        text = _("Service due (%(left)s left, %(why)s).", left=left, why=why) if left else \
            _("Service due (%(why)s).", why=why)
        return ServiceHealth("due", basis, km_left, days_left, text)
    text = _("Next service in %(left)s (%(why)s).", left=left, why=why) if left else _("No service needed yet.")
    return ServiceHealth("ok", basis, km_left, days_left, text)


def interval_for(propulsion: str) -> ServiceInterval:
    return SERVICE_INTERVALS.get(propulsion, DEFAULT_INTERVAL)


def _service_by_rule(vehicle, twin: dict[str, object], history: list,
                     first_owned: dict[int, datetime]) -> ServiceHealth:
    """``vehicle``: the car, or a row of its ``id``, ``propulsion``, ``production_date`` and
    ``created_at``; ``first_owned``: ``vehicles_service.first_owned`` for it."""
    interval = interval_for(vehicle.propulsion)
    odometer_m = _number(twin.get(ODOMETER))
    if history:
        last = history[0]  # newest first
        since_day, since_km = last.performed_on, float(last.odometer_km)
        why = _("every %(km)s km or %(years)s years; last service %(day)s at %(odometer)s km",
                km=dates.format_number(interval.km), years=interval.days // 365, day=dates.format_date(since_day),
                odometer=dates.format_number(last.odometer_km))
    else:
        if vehicle.production_date is not None:
            since_day = vehicle.production_date
        else:
            started = first_owned.get(vehicle.id)
            since_day = started.date() if started is not None else vehicle.created_at.date()
        since_km = 0.0
        why = _("every %(km)s km or %(years)s years; no service recorded since %(day)s",
                km=dates.format_number(interval.km), years=interval.days // 365, day=dates.format_date(since_day))
    today: date = now().date()
    days_left = interval.days - (today - since_day).days
    km_left = interval.km - (odometer_m / 1000 - since_km) if odometer_m is not None else None
    return _service_level("rule", km_left, days_left, False, why)


def _status(dtcs, battery: BatteryHealth, tyres: TyreHealth, service: ServiceHealth) -> str:
    if any(c.severity is dtc.Severity.STOP_SAFELY for c in dtcs):
        return "stop_safely"
    if (any(c.severity is dtc.Severity.SERVICE_SOON for c in dtcs) or battery.level in ("low", "critical")
            or tyres.level == "low" or service.level in ("due", "overdue")):
        return "service_soon"
    return "info" if dtcs else "ok"


def _summary(status: str, dtcs, battery: BatteryHealth, tyres: TyreHealth, service: ServiceHealth) -> str:
    ordered = sorted(dtcs, key=lambda c: -c.severity.rank)
    lines = [f"{c.description} ({c.code})." for c in ordered]
    lines += [h.text for h in (battery, tyres) if h.level in ("low", "critical")]
    if service.level in ("due", "overdue"):
        lines.append(service.text)
    lead = {"ok": _("All good: nothing needs your attention."),
            "info": _("Nothing urgent:"),
            "service_soon": _("Book a workshop visit soon:"),
            "stop_safely": _("Stop when it is safe and do not drive on:")}[status]
    return " ".join([lead, *lines]) if lines else lead


def _twins(session: Session, vehicle_ids: list[int]) -> dict[int, dict[str, tuple[object, datetime]]]:
    twins: dict[int, dict[str, tuple[object, datetime]]] = {v: {} for v in vehicle_ids}
    for vehicle_id, path, value, at in bulk_rows(
            session, select(TwinSignal.vehicle_id, TwinSignal.path, TwinSignal.value, TwinSignal.measured_at)
            .where(one_of(session, TwinSignal.vehicle_id, vehicle_ids))):
        twins[vehicle_id][path] = (value, at)
    return twins


def _judge(vehicle, twin: dict[str, tuple[object, datetime]], history: list,
           first_owned: dict[int, datetime]) -> VehicleHealth:
    values = {path: value for path, (value, _) in twin.items()}
    codes = sorted({code for path in DTC_PATHS for code in dtc.parse_list(values.get(path))})
    dtcs = tuple(dtc.describe(code) for code in codes)
    battery, tyres = battery_of(values), tyres_of(values)
    service = _service_from_car(values) or _service_by_rule(vehicle, values, history, first_owned)
    status = _status(dtcs, battery, tyres, service)
    reported = max((at for _, at in twin.values()), default=None)
    return VehicleHealth(vehicle.id, status, dtcs, battery, tyres, service,
                         _summary(status, dtcs, battery, tyres, service), reported)


def health_of(*, session: Session, vehicle_id: int, open_recalls: list | None = None) -> VehicleHealth:
    """The car's health now, from the twin and its open recalls (nothing is stored or announced).
    ``open_recalls``: the car's open campaigns, when the caller has read them already."""
    vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
    history = vehicles_service.service_history(session=session, vehicle_id=vehicle_id)
    first_owned = vehicles_service.first_owned(session=session, vehicle_ids=[vehicle_id])
    judged = _judge(vehicle, _twins(session, [vehicle_id])[vehicle_id], history, first_owned)
    if open_recalls is None:
        open_recalls = recalls.open_recalls_for(session=session, vehicle_id=vehicle_id)
    return with_recalls(judged, open_recalls)


def with_recalls(health: VehicleHealth, open_recalls: list) -> VehicleHealth:
    """An open recall is part of the car's health: a critical one means stop driving until it is fixed,
    any other means book the fix; either way the car is never "all good" while one is open."""
    if not open_recalls:
        return health
    critical = [c for c in open_recalls if c.severity == "critical"]
    if critical:
        status = "stop_safely"
        lead = _("Do not drive this car until it is fixed: safety recall %(code)s (%(title)s). The fix is free; "
                 "book it now.", code=critical[0].code, title=critical[0].title)
    else:
        status = health.status if health.status in ("service_soon", "stop_safely") else "service_soon"
        lead = _("Open safety recall %(code)s (%(title)s): book the free fix.", code=open_recalls[0].code,
                 title=open_recalls[0].title)
    rest = "" if health.status == "ok" or critical else " " + health.summary
    return replace(health, status=status, summary=lead + rest)


# --- changes -------------------------------------------------------------------------------------

def judge_many(*, session: Session, vehicle_ids) -> list[VehicleHealth]:
    """Each car's health now, for many cars in a few queries; reads only, so ``record_health``
    can store it in a transaction of its own (on SQLite, the write lock for the writing alone)."""
    ids = sorted(set(vehicle_ids))
    vehicles = vehicles_service.service_facts(session=session, vehicle_ids=ids)
    twins = _twins(session, ids)
    last_services = vehicles_service.last_services(session=session, vehicle_ids=ids)
    histories = {v: [last_services[v]] if v in last_services else [] for v in ids}  # newest first, as the rule reads
    first_owned = vehicles_service.first_owned(session=session, vehicle_ids=[v for v in ids if not histories[v]])
    return [_judge(vehicles[v], twins[v], histories[v], first_owned) for v in ids if v in vehicles]


def record_health(*, session: Session, judged: list[VehicleHealth]) -> None:
    """Store the judgements and announce what changed since each car's last one.

    The cars whose judgement changed are also named to the pages that follow cars live
    (``core.changes``), on commit: health is stored after the report it was judged from, in a
    transaction of its own, so the report's own announcement may reach a page before it."""
    ids = [health.vehicle_id for health in judged]
    states = {s.vehicle_id: s for s in session.scalars(
        select(HealthState).where(HealthState.vehicle_id.in_(ids)).with_for_update())} if ids else {}
    first: list[SimpleNamespace] = []  # cars judged for the first time: one bulk insert, not an object each
    moved: set[int] = set()
    for health in judged:
        state = states.get(health.vehicle_id)
        if state is None:
            state = SimpleNamespace(vehicle_id=health.vehicle_id, dtc_codes=[], battery="unknown", low_tyres=[],
                                    service="unknown", status=None, summary=None)
            first.append(state)
        _announce_changes(session, state, health)
        if (state.status, state.summary) != (health.status, health.summary):
            moved.add(health.vehicle_id)
        state.status, state.summary, state.checked_at = health.status, health.summary, now()
    if first:
        session.execute(insert(HealthState), [vars(state) for state in first])
    session.flush()
    changes.cars_changed(session, moved)


def refresh_health(*, session: Session, vehicle_ids) -> list[VehicleHealth]:
    """Judge each car, store the judgement, and announce what changed since the last one."""
    judged = judge_many(session=session, vehicle_ids=vehicle_ids)
    record_health(session=session, judged=judged)
    return judged


def _rises(previous: str, current: str) -> bool:
    return current != "unknown" and _RANK[current] > _RANK.get(previous, 0)


def _announce_changes(session: Session, state: HealthState | SimpleNamespace, health: VehicleHealth) -> None:
    vehicle_id = health.vehicle_id
    before, after = set(state.dtc_codes or []), {c.code: c for c in health.dtcs}
    for code in sorted(after.keys() - before):
        c = after[code]
        events.publish(session, DtcAppeared(vehicle_id, code, c.description, c.severity.value, c.needs_workshop))
    for code in sorted(before - after.keys()):
        events.publish(session, DtcCleared(vehicle_id, code, dtc.describe(code).description))
    state.dtc_codes = sorted(after)

    battery = health.battery
    if _rises(state.battery, battery.level):
        events.publish(session, BatteryLow(vehicle_id, battery.voltage, battery.level))
    if battery.level != "unknown":  # a reading while cranking neither raises nor clears an alarm
        state.battery = battery.level

    tyres = health.tyres
    if tyres.level != "unknown":
        newly_low = tuple(sorted(set(tyres.low_wheels) - set(state.low_tyres or [])))
        if newly_low:
            lowest = min((tyres.pressures_kpa[w] for w in newly_low if w in tyres.pressures_kpa), default=None)
            events.publish(session, TyrePressureLow(vehicle_id, newly_low, lowest))
        state.low_tyres = list(tyres.low_wheels)

    service = health.service
    if _rises(state.service, service.level):
        events.publish(session, ServiceDue(vehicle_id, service.level, service.text))
    if service.level != "unknown":
        state.service = service.level


# --- the carmaker's view -------------------------------------------------------------------------

@dataclass(frozen=True)
class FleetVehicle:
    vehicle_id: int
    vin: str
    title: str
    status: str
    summary: str
    checked_at: datetime


@dataclass(frozen=True)
class FleetHealth:
    counts: dict[str, int]  # every status, plus "unknown": reporting cars not judged yet
    needing_attention: list[FleetVehicle]  # stop_safely first, then service_soon; newest first


def fleet_health(*, session: Session, limit: int = 100) -> FleetHealth:
    """Counts per status and the cars that need attention, from the stored judgements (no twin replay)."""
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(dict(session.execute(select(HealthState.status, func.count()).group_by(HealthState.status)).all()))
    # an anti-join, not NOT IN: with a million judged cars PostgreSQL's NOT IN no longer fits a hash
    # in memory and compares every device with every judgement (it never finished here)
    judged = select(HealthState.vehicle_id).where(HealthState.vehicle_id == Device.vehicle_id).exists()
    counts["unknown"] = session.scalar(
        select(func.count(func.distinct(Device.vehicle_id))).where(Device.is_active.is_(True), ~judged)) or 0
    rows = session.scalars(select(HealthState).where(HealthState.status.in_(("stop_safely", "service_soon")))
                           .order_by(case((HealthState.status == "stop_safely", 0), else_=1),
                                     HealthState.checked_at.desc(),
                                     HealthState.vehicle_id).limit(limit))
    states = list(rows)
    vehicles = vehicles_service.get_many(session=session, vehicle_ids=[state.vehicle_id for state in states])
    attention = [FleetVehicle(state.vehicle_id, vehicles[state.vehicle_id].vin, vehicles[state.vehicle_id].title,
                              state.status, state.summary, state.checked_at)
                 for state in states if state.vehicle_id in vehicles]
    return FleetHealth(counts, attention)
