"""The driving score: penalties per 100 km and per share of driving time, explained; read by an insurer
only with the current owner's consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from forecourt.consent.models import AccessLogEntry
from forecourt.core import clock
from forecourt.core.errors import NotFound
from forecourt.parties import service as parties_service
from forecourt.telematics import devices, score, trips
from forecourt.telematics.readings import Source, VehicleEvent
from forecourt.vehicles import service as vehicles_service

from tests.telematics.test_trips import T0, at, leg, send

SOUTH, FAR_NORTH = (50.0, 10.0), (51.906578, 10.0)  # 212 km apart on one meridian


@pytest.fixture
def owner(make):
    return make.customer()


@pytest.fixture
def car(make, session, owner):
    vehicle = make.vehicle(owner=owner, since=T0 - timedelta(days=400))
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    make.grant(owner, make.carmaker(), "location_services")
    return vehicle


def drive(session, vehicle, start: datetime, origin=SOUTH, destination=FAR_NORTH, minutes: int = 120,
          odometer_from: int = 50_000_000, km: float | None = None, every: int = 60, **kwargs) -> trips.Trip:
    """One ignition-to-ignition drive, with the odometer advancing by ``km`` (default: the GPS length)."""
    from forecourt.core.geo import distance_km

    seconds = minutes * 60
    km = km if km is not None else distance_km(*origin, *destination)
    extra = kwargs.pop("extra", None)

    def signals(t):
        events_, more = extra(t) if extra else ([], {})
        if t in (0, seconds):
            more = more | {"Vehicle__TraveledDistance": odometer_from + round(km * 1000 * t / seconds)}
        return events_, more

    send(session, leg(vehicle, start, origin, destination, seconds, every=every, ignition=True, extra=signals,
                      **kwargs))
    with clock.frozen_at(start + timedelta(seconds=seconds + 3600)):
        trips.refresh_trips(session=session, vehicle_id=vehicle.id)
    return trips.latest_trip(session=session, vehicle_id=vehicle.id)


def test_three_harsh_brakings_in_212_km_cost_seven_points_and_say_why(car, session):
    def brakes(t):
        return ([VehicleEvent.HARSH_BRAKING] if t in (1800, 3600, 5400) else []), {}

    trip = drive(session, car, T0, km=212.0, extra=brakes)  # 09:00-11:00 in Berlin, at 106 km/h
    assert (trip.distance_source, trip.distance_km) == ("odometer", 212.0)
    result = score.score_trip(session=session, trip_id=trip.id)
    braking = result.factors[0]
    assert (braking.name, braking.count, braking.amount, braking.penalty) == ("harsh_braking", 3, 1.42, 7.1)
    assert braking.explanation == ("3 harsh brakings in 212 km — about 1.4 per 100 km; smooth drivers have fewer "
                                   "than 0.5. This costs 7.1 points.")
    assert [f.penalty for f in result.factors[1:]] == [0, 0, 0, 0]
    assert result.factors[3].explanation == "Never above 130 km/h — well done."
    assert result.score == 93
    assert result.summary == "93 of 100 over 212 km; most points lost to harsh braking."
    assert trip.driving_facts["harsh_braking"] == 3  # kept on the closed trip for the rolling score


def test_acceleration_samples_count_as_manoeuvres_once_each(car, session):
    readings = {100: {"Vehicle__Acceleration__Longitudinal": -5.0}, 101: {"Vehicle__Acceleration__Longitudinal": -4.2},
                200: {"Vehicle__Acceleration__Longitudinal": 3.4}, 300: {"Vehicle__Acceleration__Lateral": -4.6},
                400: {"Vehicle__Acceleration__Longitudinal": -3.9}, 500: {"Vehicle__Acceleration__Longitudinal": -2.0}}

    def samples(t):
        # the device's own harsh-braking event and the samples of the same stop are one manoeuvre
        return ([VehicleEvent.HARSH_BRAKING] if t == 400 else []), readings.get(t, {})

    trip = drive(session, car, T0, minutes=10, every=1, extra=samples, km=10.0, destination=(50.0899, 10.0))
    facts = score.score_trip(session=session, trip_id=trip.id).factors
    assert [(f.name, f.count) for f in facts[:3]] == [("harsh_braking", 2), ("harsh_acceleration", 1),
                                                      ("harsh_cornering", 1)]
    assert facts[2].explanation.startswith("1 corner taken too fast in 10 km — about 10.0 per 100 km;")
    assert facts[2].penalty == 20  # capped: one factor never takes more than its share


def test_speeding_and_night_driving_are_shares_of_driving_time_in_berlin_time(car, session):
    late = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)  # 23:30 in Berlin (UTC+1 in November)
    trip = drive(session, car, late, minutes=20, speed=150.0, km=47.5, destination=(50.427, 10.0))
    result = score.score_trip(session=session, trip_id=trip.id)
    speeding, night = result.factors[3], result.factors[4]
    # 19 one-minute intervals at 150 km/h, all of them after 23:00 local time
    assert (speeding.amount, speeding.penalty, night.amount, night.penalty) == (1.0, 25, 1.0, 10)
    assert speeding.explanation.startswith("100 % of your driving time (19 min) was above 130 km/h; careful "
                                           "drivers stay under 1 %.")
    assert night.explanation == ("100 % of your driving time (19 min) was between 23:00 and 05:00, when crashes "
                                 "are more likely. This costs 10 points.")
    assert result.score == 65

    day = drive(session, car, late + timedelta(hours=10), minutes=20, odometer_from=60_000_000, km=40.0,
                extra=lambda t: ([], {"Vehicle__Speed": 140.0} if 60 <= t < 180 else {}), speed=100.0)
    shares = score.score_trip(session=session, trip_id=day.id).factors
    assert (shares[3].amount, shares[3].penalty, shares[4].amount) == (round(2 / 19, 4), 10.5, 0.0)
    assert shares[4].explanation == "No driving between 23:00 and 05:00."


def test_a_short_trip_is_not_scored(car, session):
    trip = drive(session, car, T0, minutes=2, km=0.8, destination=(50.007, 10.0))
    result = score.score_trip(session=session, trip_id=trip.id)
    assert (result.score, result.factors) == (None, ())
    assert result.summary == "Not enough driving to score (0.8 km; at least 1 km)."


def test_the_rolling_score_adds_up_30_days_of_the_current_owner(car, make, session):
    def one_brake(t):
        return ([VehicleEvent.HARSH_BRAKING] if t == 600 else []), {}

    drive(session, car, T0 - timedelta(days=39), km=50.0, extra=lambda t: (
        [VehicleEvent.HARSH_BRAKING] if t in (600, 1200) else [], {}))
    drive(session, car, T0 - timedelta(days=5), km=100.0, odometer_from=50_050_000, extra=one_brake)
    drive(session, car, T0, km=150.0, odometer_from=50_150_000)
    with clock.frozen_at(T0 + timedelta(days=1)):
        month = score.rolling_score(session=session, vehicle_id=car.id)
    assert (month.trips, month.distance_km, month.score) == (2, 250.0, 98)  # 1 in 250 km: 0.4 per 100 km
    assert month.factors[0].explanation.startswith("1 harsh braking in 250 km — about 0.4 per 100 km;")

    vehicles_service.transfer(session=session, vehicle_id=car.id, customer_id=make.customer().id,
                              at=T0 - timedelta(days=3))
    with clock.frozen_at(T0 + timedelta(days=1)):
        new_owner = score.rolling_score(session=session, vehicle_id=car.id)
    assert (new_owner.trips, new_owner.distance_km, new_owner.score) == (1, 150.0, 100)
    assert new_owner.since == T0 - timedelta(days=3)  # the previous owner's driving is not theirs

    with clock.frozen_at(T0 + timedelta(days=60)):
        idle = score.rolling_score(session=session, vehicle_id=car.id)
    assert (idle.trips, idle.score, idle.summary) == (0, None, "No trips in the last 30 days to score.")


def test_an_insurer_reads_the_score_only_with_the_owners_consent(car, make, session, owner):
    drive(session, car, T0, km=212.0)
    insurer = make.partner("insurance")
    analyst = parties_service.principal_for(parties_service.get_user(session=session,
                                                                     user_id=make.staff(insurer).user_id))
    with clock.frozen_at(T0 + timedelta(days=1)):
        with pytest.raises(NotFound, match="Vehicle not found"):
            score.score_for_insurer(session=session, principal=analyst, vehicle_id=car.id)
        unsold = make.vehicle()
        with pytest.raises(NotFound, match="Vehicle not found"):
            score.score_for_insurer(session=session, principal=analyst, vehicle_id=unsold.id)

        make.grant(owner, insurer, "driving_behaviour_insurance")
        result = score.score_for_insurer(session=session, principal=analyst, vehicle_id=car.id)
        assert (result.vehicle_id, result.trips, result.distance_km, result.score) == (car.id, 1, 212.0, 100)
        logged = session.scalars(select(AccessLogEntry).where(AccessLogEntry.customer_id == owner.id)).all()
        assert [(e.organization_id, e.purpose_code, e.what) for e in logged] == [
            (insurer.id, "driving_behaviour_insurance", "driving score")]

        make.withdraw(owner, insurer, "driving_behaviour_insurance")
        with pytest.raises(NotFound):
            score.score_for_insurer(session=session, principal=analyst, vehicle_id=car.id)


def test_a_closing_trip_has_its_facts_kept_once_and_never_over_a_trip_that_changed_since(car, session):
    trip = drive(session, car, T0, km=212.0)  # closed; the refresh alone keeps no facts
    assert trip.driving_facts is None
    planned = score.plan_facts(session=session, since={car.id: T0 - timedelta(hours=1)})
    assert [trip_id for trip_id, _, _ in planned] == [trip.id]
    changed = [(trip_id, at - timedelta(seconds=1), facts) for trip_id, at, facts in planned]
    assert score.keep_facts(session=session, planned=changed) == 0  # rebuilt in between: measured again later
    assert score.keep_facts(session=session, planned=planned) == 1
    session.refresh(trip)
    assert trip.driving_facts == planned[0][2] and trip.driving_facts["distance_km"] == 212.0
    assert score.plan_facts(session=session, since={car.id: T0 - timedelta(hours=1)}) == []  # nothing left
    with clock.frozen_at(T0 + timedelta(days=1)):
        assert score.rolling_score(session=session, vehicle_id=car.id).score == score.score_trip(
            session=session, trip_id=trip.id).score == 100


def test_an_open_trips_facts_are_measured_once_and_again_only_after_a_rebuild_changes_it(car, session,
                                                                                          monkeypatch):
    closed = drive(session, car, T0 - timedelta(days=2), km=50.0, extra=lambda t: (
        [VehicleEvent.HARSH_BRAKING] if t == 600 else [], {}))
    assert score.keep_closed(session=session, trips=[closed]) == 1  # as a closing trip's refresh does
    drive_on = leg(car, T0, SOUTH, FAR_NORTH, 3600, every=60, ignition=True)
    send(session, drive_on[:-5])  # still driving
    measures = []
    real = score._measure
    monkeypatch.setattr(score, "_measure", lambda s, trip: measures.append(trip.id) or real(s, trip))
    with clock.frozen_at(T0 + timedelta(minutes=56)):
        [open_trip] = [t for t in trips.refresh_trips(session=session, vehicle_id=car.id) if t.is_open]
        first = score.rolling_score(session=session, vehicle_id=car.id)
        row = score.score_trip(session=session, trip_id=open_trip.id)
        again = score.rolling_score(session=session, vehicle_id=car.id)
    assert measures == [open_trip.id]  # once; the closed trip's kept facts are only read
    assert again == first and first.trips == 2 and row.distance_km == open_trip.distance_km
    assert open_trip.driving_facts["distance_km"] == open_trip.distance_km  # kept for this state of the trip

    send(session, drive_on[-5:])  # ignition off: the rebuild closes the trip, and its facts go with the change
    with clock.frozen_at(T0 + timedelta(hours=2)):
        [ended] = trips.refresh_trips(session=session, vehicle_id=car.id)
        assert ended.id == open_trip.id and not ended.is_open and ended.driving_facts is None
        final = score.rolling_score(session=session, vehicle_id=car.id)
    assert measures == [open_trip.id, open_trip.id] and final.distance_km > first.distance_km
