"""The driving score: 0-100 per trip and over the last 30 days, each point lost explained.

A score a driver cannot understand cannot change how they drive, and an insurer's discount
resting on it would be arbitrary, so every factor carries a sentence with its own numbers.
Harsh manoeuvres are counted per 100 km so a long commute is not punished for its length; the
rolling score adds up the counts and distances of all trips before dividing, so one short trip
with one hard stop does not swing a month.

Speeding is time above one global threshold, 130 km/h: Forecourt knows no road's speed limit
(that needs map matching against road data), so it cannot tell 60 in a 30 zone from 60 on a
country road. Night is 23:00-05:00 on the car's local clock: the time zone of its workshop (else of
the dealer that sold it), which is where the car is driven.

The score is personal data. An insurer reads it only through ``score_for_insurer``, which opens
the consent door for the car's current owner; the rolling score counts only trips since that
owner bought the car.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import dates
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc, now
from forecourt.core.db import bulk_rows
from forecourt.core.errors import NotFound
from forecourt.core.i18n import _, gettext, ngettext
from forecourt.telematics import trips as trips_service
from forecourt.telematics import windows
from forecourt.telematics.models import Sample, Trip, VehicleEventRecord
from forecourt.telematics.readings import VehicleEvent
from forecourt.telematics.schemas import DrivingScoreOut
from forecourt.parties import markets
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service

NIGHT_FROM, NIGHT_UNTIL = 23, 5  # local hours
BRAKING_MS2, ACCELERATION_MS2, CORNERING_MS2 = -3.5, 3.0, 4.0
LONGITUDINAL, LATERAL = "Vehicle.Acceleration.Longitudinal", "Vehicle.Acceleration.Lateral"
SPEEDING_KMH = 130.0
EPISODE_GAP = timedelta(seconds=3)  # readings closer than this belong to one manoeuvre
SMOOTH_PER_100KM = 0.5
CAREFUL_SPEEDING_SHARE = 0.01
MIN_DISTANCE_KM = 1.0  # below this there is too little driving to judge
FACTS_VERSION = 1

N_ = str  # marks a text for the catalogues; translated when a score is explained

# name: (label, singular, plural, points per event per 100 km, most points lost)
MANOEUVRES = {
    "harsh_braking": (N_("Harsh braking"), N_("harsh braking"), N_("harsh brakings"), 5.0, 25.0),
    "harsh_acceleration": (N_("Harsh acceleration"), N_("harsh acceleration"), N_("harsh accelerations"), 4.0, 20.0),
    "harsh_cornering": (N_("Harsh cornering"), N_("corner taken too fast"), N_("corners taken too fast"), 4.0, 20.0),
}
SPEEDING_POINTS_PER_PERCENT, SPEEDING_MAX = 1.0, 25.0
NIGHT_POINTS_PER_PERCENT, NIGHT_MAX = 0.1, 10.0


@dataclass(frozen=True)
class Factor:
    name: str  # harsh_braking | harsh_acceleration | harsh_cornering | speeding | night_driving
    label: str
    amount: float  # events per 100 km, or share of driving time (0-1)
    count: int | None  # events, or None for time shares
    penalty: float  # points lost
    explanation: str


@dataclass(frozen=True)
class TripScore:
    trip_id: int
    vehicle_id: int
    score: int | None  # None: too short to judge
    distance_km: float
    factors: tuple[Factor, ...]
    summary: str


# --- facts from telemetry ------------------------------------------------------------------------

def _episodes(moments: list[datetime]) -> int:
    count, last = 0, None
    for at in sorted(moments):
        if last is None or at - last > EPISODE_GAP:
            count += 1
        last = at
    return count


def car_zone(session: Session, vehicle_id: int) -> tzinfo:
    """The clock the car lives by: its workshop's zone, else its selling dealer's, else the default market's."""
    vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
    dealer_id = vehicle.service_dealer_id or vehicle.selling_dealer_id
    if dealer_id is None:
        return markets.zone_of_market(None)
    return markets.zone_of(parties_service.get_organization(session=session, organization_id=dealer_id))


def _is_night(moment: datetime, zone: tzinfo) -> bool:
    hour = as_utc(moment).astimezone(zone).hour
    return hour >= NIGHT_FROM or hour < NIGHT_UNTIL


def _measure(session: Session, trip: Trip) -> dict:
    start, end = trip.started_at, trip.ended_at
    moments: dict[str, list[datetime]] = {name: [] for name in MANOEUVRES}
    for kind, at in bulk_rows(session, select(VehicleEventRecord.kind, VehicleEventRecord.measured_at).where(
            VehicleEventRecord.vehicle_id == trip.vehicle_id, VehicleEventRecord.measured_at.between(start, end),
            VehicleEventRecord.kind.in_([VehicleEvent(name).value for name in MANOEUVRES]))):
        moments[kind].append(at)
    for path, at, value in bulk_rows(session, select(Sample.path, Sample.measured_at, Sample.value).where(
            Sample.vehicle_id == trip.vehicle_id, Sample.measured_at.between(start, end),
            Sample.path.in_((LONGITUDINAL, LATERAL)))):
        if not isinstance(value, int | float):
            continue
        if path == LONGITUDINAL and value < BRAKING_MS2:
            moments["harsh_braking"].append(at)
        elif path == LONGITUDINAL and value > ACCELERATION_MS2:
            moments["harsh_acceleration"].append(at)
        elif path == LATERAL and abs(value) > CORNERING_MS2:
            moments["harsh_cornering"].append(at)
    moving = speeding = night = 0.0
    profile = trips_service.speed_profile(session=session, trip=trip)
    zone = car_zone(session, trip.vehicle_id)
    for (at, speed), (following, _) in zip(profile, profile[1:]):
        if speed <= trips_service.MOVING_KMH:
            continue
        seconds = min(following - at, trips_service.MAX_STEP).total_seconds()
        moving += seconds
        speeding += seconds if speed > SPEEDING_KMH else 0.0
        night += seconds if _is_night(at, zone) else 0.0
    return {"version": FACTS_VERSION, "distance_km": trip.distance_km,
            **{name: _episodes(found) for name, found in moments.items()},
            "moving_s": moving, "speeding_s": speeding, "night_s": night}


def _current(facts: dict | None) -> bool:
    return bool(facts) and facts.get("version") == FACTS_VERSION


def driving_facts(*, session: Session, trip: Trip) -> dict:
    """The score's inputs for one trip, measured once for each state of the trip and kept on it.

    They describe the readings from the trip's start to its end as stored (an open trip's end is
    the last moment its latest rebuild saw), so they stay true until a rebuild changes the trip,
    which clears them (``trips._apply``): an open trip is measured again after each change, a closed
    one once. They are kept only if the trip did not change since it was read (``keep_facts``), so
    they never land on a newer state of it. The detector keeps a closing trip's (``plan_facts``), so
    pages measure at most the open trip, once per rebuild, and not on every view."""
    facts = trip.driving_facts
    if _current(facts):
        return facts
    facts = _measure(session, trip)
    keep_facts(session=session, planned=[(trip.id, trip.updated_at, facts)])
    return facts


def keep_closed(*, session: Session, trips: Iterable[Trip]) -> int:
    """Measures and keeps the facts of those of ``trips`` that are closed and have none (the trips a
    refresh in the caller's transaction changed); returns how many were measured."""
    unmeasured = [trip for trip in trips if not trip.is_open and not _current(trip.driving_facts)]
    for trip in unmeasured:
        driving_facts(session=session, trip=trip)
    return len(unmeasured)


def plan_facts(*, session: Session, since: dict[int, datetime | None]) -> list[tuple[int, datetime, dict]]:
    """The read half of keeping facts as trips close: (trip id, its ``updated_at``, facts) of each
    car's closed trips from its moment on (``trips.Rebuild.since``: the trips a rebuild stored)
    that have none. Measured once, when a trip closes, rather than by the first page that shows it."""
    windows.fill(session, since)
    return [(trip.id, trip.updated_at, _measure(session, trip)) for trip in session.scalars(windows.trips(session))
            if not trip.is_open and not _current(trip.driving_facts)]


def keep_facts(*, session: Session, planned: list[tuple[int, datetime, dict]]) -> int:
    """The write half: each trip's facts, unless it changed since they were measured (a loaded
    ``Trip`` takes them too)."""
    kept = 0
    for trip_id, updated_at, facts in planned:
        kept += session.execute(update(Trip).where(Trip.id == trip_id, Trip.updated_at == updated_at)
                                .values(driving_facts=facts)).rowcount
    return kept


# --- points and words ----------------------------------------------------------------------------
# In the reader's language, numbers as they write them (core.dates); the labels are marked where
# they are defined (MANOEUVRES) and translated here, when a score is explained.

def _km(distance: float) -> str:
    return _("%(km)s km", km=dates.format_number(distance, 0 if distance >= 10 else 1))


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return _("under a minute")
    if minutes >= 60:
        return _("%(hours)s h %(minutes)s min", hours=minutes // 60, minutes=minutes % 60)
    return _("%(minutes)s min", minutes=minutes)


def _percent(share: float) -> str:
    value = share * 100
    return _("%(value)s %%", value=dates.format_number(value, 0) if value >= 10 else dates.format_number(value, up_to=1))


def _points(penalty: float) -> str:
    if not penalty:
        return ""
    return " " + ngettext("This costs %(points)s point.", "This costs %(points)s points.",
                          1 if penalty == 1 else 2, points=dates.format_number(penalty))


def _factors(facts: dict) -> tuple[Factor, ...]:
    distance = facts["distance_km"]
    factors = []
    for name, (label, one, many, weight, most) in MANOEUVRES.items():
        count = int(facts[name])
        rate = count / distance * 100 if distance > 0 else 0.0
        penalty = round(min(most, rate * weight), 1)
        if count == 0:
            text = _("No %(what)s in %(distance)s — well done.", what=gettext(one), distance=_km(distance))
        else:
            text = _("%(count)s %(what)s in %(distance)s — about %(rate)s per 100 km; smooth drivers have fewer "
                     "than %(smooth)s.", count=count, what=gettext(one if count == 1 else many),
                     distance=_km(distance), rate=dates.format_number(rate, 1),
                     smooth=dates.format_number(SMOOTH_PER_100KM)) + _points(penalty)
        factors.append(Factor(name, gettext(label), round(rate, 2), count, penalty, text))
    moving = facts["moving_s"]
    share = facts["speeding_s"] / moving if moving else 0.0
    penalty = round(min(SPEEDING_MAX, share * 100 * SPEEDING_POINTS_PER_PERCENT), 1)
    limit = dates.format_number(SPEEDING_KMH, 0)
    text = (_("%(share)s of your driving time (%(duration)s) was above %(limit)s km/h; careful drivers stay under "
              "%(careful)s. Forecourt does not know each road's limit, so %(limit)s km/h counts everywhere.",
              share=_percent(share), duration=_duration(facts["speeding_s"]), limit=limit,
              careful=_percent(CAREFUL_SPEEDING_SHARE)) + _points(penalty)
            if share else _("Never above %(limit)s km/h — well done.", limit=limit))
    factors.append(Factor("speeding", _("Speeding"), round(share, 4), None, penalty, text))
    share = facts["night_s"] / moving if moving else 0.0
    penalty = round(min(NIGHT_MAX, share * 100 * NIGHT_POINTS_PER_PERCENT), 1)
    night_from, night_until = f"{NIGHT_FROM:02d}:00", f"{NIGHT_UNTIL:02d}:00"
    text = (_("%(share)s of your driving time (%(duration)s) was between %(start)s and %(end)s, when crashes are "
              "more likely.", share=_percent(share), duration=_duration(facts["night_s"]), start=night_from,
              end=night_until) + _points(penalty)
            if share else _("No driving between %(start)s and %(end)s.", start=night_from, end=night_until))
    factors.append(Factor("night_driving", _("Night driving"), round(share, 4), None, penalty, text))
    return tuple(factors)


def _score(facts: dict) -> tuple[int | None, tuple[Factor, ...], str]:
    distance = facts["distance_km"]
    if distance < MIN_DISTANCE_KM:
        return None, (), _("Not enough driving to score (%(distance)s; at least %(least)s km).",
                           distance=_km(distance), least=dates.format_number(MIN_DISTANCE_KM))
    factors = _factors(facts)
    score = max(0, min(100, round(100 - sum(f.penalty for f in factors))))
    worst = max(factors, key=lambda f: f.penalty)
    summary = (_("%(score)s of 100 over %(distance)s; most points lost to %(worst)s.", score=score,
                 distance=_km(distance), worst=worst.label.lower())
               if worst.penalty else _("%(score)s of 100 over %(distance)s: smooth, steady driving.", score=score,
                                       distance=_km(distance)))
    return score, factors, summary


# --- the service ---------------------------------------------------------------------------------

def score_trip(*, session: Session, trip_id: int) -> TripScore:
    trip = trips_service.get_trip(session=session, trip_id=trip_id)
    facts = driving_facts(session=session, trip=trip)
    score, factors, summary = _score(facts)
    return TripScore(trip.id, trip.vehicle_id, score, facts["distance_km"], factors, summary)


def rolling_score(*, session: Session, vehicle_id: int, days: int = 30) -> DrivingScoreOut:
    """The score of the current owner's trips that started in the last ``days`` days, in the one shape the
    insurer's API and the car page both show.

    It reads the kept facts of the month's trips alone (not their routes) and adds them up in the
    order the trips started, as it always did: the figures do not depend on when the facts were
    measured. Only a trip without current facts (the open trip after a rebuild, a trip closed since
    the detector last ran) is measured, and its facts kept."""
    until = now()
    since = until - timedelta(days=days)
    ownership = vehicles_service.current_ownership(session=session, vehicle_id=vehicle_id)
    if ownership is not None and ownership.started_at > since:
        since = ownership.started_at
    kept = session.execute(select(Trip.id, Trip.driving_facts).where(
        Trip.vehicle_id == vehicle_id, Trip.started_at >= since, Trip.started_at <= until)
        .order_by(Trip.started_at)).all()
    total = {"distance_km": 0.0, "moving_s": 0.0, "speeding_s": 0.0, "night_s": 0.0, **dict.fromkeys(MANOEUVRES, 0)}
    for trip_id, facts in kept:
        if not _current(facts):
            facts = driving_facts(session=session, trip=trips_service.get_trip(session=session, trip_id=trip_id))
        for key in total:
            total[key] += facts[key]
    score, factors, summary = _score(total)
    if not kept:
        summary = ngettext("No trips in the last %(num)s day to score.", "No trips in the last %(num)s days to score.",
                           days)
    return DrivingScoreOut(vehicle_id=vehicle_id, score=score, since=since, until=until, trips=len(kept),
                           distance_km=round(total["distance_km"], 1), driving_s=total["moving_s"], factors=factors,
                           summary=summary)


def score_for_insurer(*, session: Session, principal: Principal, vehicle_id: int, days: int = 30) -> DrivingScoreOut:
    """Only with the current owner's consent to driving-behaviour insurance, and logged for them.
    Without it the car does not exist for the caller, whether or not it has an owner."""
    owner_id = vehicles_service.current_owner_id(session=session, vehicle_id=vehicle_id)
    if owner_id is None:
        raise NotFound("Vehicle not found")
    try:
        consent_service.require(session=session, principal=principal, customer_id=owner_id,
                                purpose="driving_behaviour_insurance", what="driving score")
    except NotFound:
        raise NotFound("Vehicle not found") from None
    return rolling_score(session=session, vehicle_id=vehicle_id, days=days)
