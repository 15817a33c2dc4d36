"""The carmaker's figures of car sharing: utilisation per hub and model (hours booked over hours
available), revenue by currency, and the day-long test drives (whose leads and orders ``sales.trials``
counts)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.clock import as_utc, now
from forecourt.sharing.models import Bill, Hub, Reservation, SharedCar
from forecourt.vehicles import service as vehicles_service

BOOKED = ("booked", "active", "returned", "closed")


def network(*, session: Session, days: int = 30) -> dict:
    until = now()
    since = until - timedelta(days=days)
    window_hours = days * 24
    hubs = {h.id: h for h in session.scalars(select(Hub).order_by(Hub.name))}
    models = {m.id: m.name for m in vehicles_service.list_models(session=session)}
    cars = list(session.scalars(select(SharedCar)))
    available = defaultdict(float)
    for car in cars:
        available[(car.hub_id, car.model_id)] += window_hours
    booked = defaultdict(float)
    car_model = {car.id: car.model_id for car in cars}
    trials, trial_customers = 0, set()
    for r in session.scalars(select(Reservation).where(Reservation.status.in_(BOOKED),
                                                       Reservation.starts_at < until, Reservation.ends_at > since)):
        start, end = max(as_utc(r.starts_at), since), min(as_utc(r.returned_at or r.ends_at), until)
        if end > start:
            booked[(r.hub_id, car_model.get(r.car_id))] += (end - start).total_seconds() / 3600
        if r.kind == "test_drive":
            trials += 1
            if r.customer_id is not None:
                trial_customers.add(r.customer_id)
    rows = []
    for (hub_id, model_id), hours in sorted(available.items(), key=lambda kv: (hubs[kv[0][0]].name, kv[0][1])):
        used = booked.get((hub_id, model_id), 0.0)
        rows.append({"hub": hubs[hub_id].name, "model": models.get(model_id, "?"), "hours_booked": round(used, 1),
                     "hours_available": round(hours, 1), "utilisation": used / hours if hours else 0.0})
    revenue = defaultdict(Decimal)
    for currency, total in session.execute(select(Bill.currency, Bill.total).where(Bill.created_at >= since)):
        revenue[currency] += Decimal(total)
    return {"since": since, "rows": rows, "revenue": dict(revenue), "test_drives": trials,
            "trial_customers": sorted(trial_customers), "hubs": len(hubs), "cars": len(cars)}
