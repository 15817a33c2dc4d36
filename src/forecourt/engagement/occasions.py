"""Finding occasions in the data the platform already holds: once a day for every car, and at once for
the cars an event names (``engagement.handlers``).

Each kind has a window: the days in which writing about it makes sense (a warranty that ends on
1 June opens its 60-day occasion on 2 April and its 30-day one on 2 May). An occasion is recorded once
per car, owner, kind and window; a run that finds it again adds nothing, whether the daily job or an
event found it first. "Again" means a window of the same kind that overlaps one already recorded for
the same subject (the same end date, recall campaign or finance contract); a service that is due is
one subject whoever noticed it, the car itself or the calendar. The facts offers are matched on
(market, model, age, mileage) are taken now, so composing later reads only this domain's tables.

A share of the occasions (``control_share``) is drawn at random into the control group: they get no
coordinated message, so take-up with and without it can be compared.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.assist import subscriptions
from forecourt.customers import service as customers_service
from forecourt.engagement import kinds
from forecourt.engagement.models import Occasion
from forecourt.sales import finance
from forecourt.vehicles import recalls
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles import warranty

BATCH = 500
SERVICE_EVERY_DAYS = 365
SERVICE_NOTICE_DAYS = 30
SERVICE_REPORTED_DAYS = 90  # the window a car's own "service due" opens
FINANCE_NOTICE_DAYS = 90  # time enough to compare a refinancing or choose the next car


@dataclass(frozen=True)
class Found:
    kind: str
    starts_on: date
    ends_on: date
    detail: str = ""


def _anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def _within(found: Found, today: date) -> bool:
    return found.starts_on <= today <= found.ends_on


def found_for(*, session: Session, vehicle, delivered_on: date | None, last_service, odometer_km: int | None,
              today: date, contracts=(), only: frozenset[str] | None = None) -> list[Found]:
    """The occasions open today for one car (``contracts``: its owner's running finance contracts);
    ``only`` narrows to some kinds, so an event skips the look-ups it does not need."""
    found: list[Found] = []

    def wanted(*names: str) -> bool:
        return only is None or any(name in only for name in names)

    cover = (warranty.coverage(session=session, vehicle=vehicle, odometer_km=odometer_km, today=today)
             if wanted(kinds.WARRANTY_60, kinds.WARRANTY_30) else {})
    ends = cover.get("expires_on")
    if ends and cover.get("status") not in ("expired", "no_terms", "not_started"):
        found.append(Found(kinds.WARRANTY_60, ends - timedelta(days=60), ends - timedelta(days=31), ends.isoformat()))
        found.append(Found(kinds.WARRANTY_30, ends - timedelta(days=30), ends, ends.isoformat()))
    base = last_service.performed_on if last_service else delivered_on
    if base:
        due = base + timedelta(days=SERVICE_EVERY_DAYS)
        found.append(Found(kinds.SERVICE_DUE, due - timedelta(days=SERVICE_NOTICE_DAYS), due + timedelta(days=60),
                           due.isoformat()))
    subscription = subscriptions.latest(session=session, vehicle_id=vehicle.id) if wanted(kinds.ON_CALL_ENDS) else None
    if subscription is not None:
        found.append(Found(kinds.ON_CALL_ENDS, subscription.ends_on - timedelta(days=45), subscription.ends_on,
                           subscription.ends_on.isoformat()))
    for campaign in recalls.open_recalls_for(session=session, vehicle_id=vehicle.id) if wanted(kinds.RECALL_OPEN) else ():
        opened = campaign.opened_at.date() if campaign.opened_at else today
        # one occasion per campaign and quarter while the recall stays open
        quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        found.append(Found(kinds.RECALL_OPEN, max(quarter, opened), quarter + timedelta(days=89), campaign.code))
    born = vehicle.production_date or delivered_on
    if born:
        for years, kind in ((4, kinds.BIRTHDAY_4), (6, kinds.BIRTHDAY_6)):
            day = _anniversary(born, years)
            found.append(Found(kind, day - timedelta(days=60), day + timedelta(days=30), day.isoformat()))
    if delivered_on:
        years = today.year - delivered_on.year
        for n in (years, years + 1):
            if n >= 1:
                day = _anniversary(delivered_on, n)
                found.append(Found(kinds.DELIVERY_ANNIVERSARY, day - timedelta(days=14), day + timedelta(days=14),
                                   day.isoformat()))
    for contract in contracts:
        found.append(Found(kinds.FINANCE_ENDS, contract.ends_on - timedelta(days=FINANCE_NOTICE_DAYS),
                           contract.ends_on, f"{contract.ends_on.isoformat()} #{contract.id}"))
    return [f for f in found if _within(f, today) and wanted(f.kind)]


def reported_service(*, today: date, level: str) -> Found:
    """The occasion a car's own "service due" opens, when the calendar has none open for it."""
    return Found(kinds.SERVICE_DUE, today, today + timedelta(days=SERVICE_REPORTED_DAYS - 1), f"reported {level}")


def _seen(found: Found, recorded: list[tuple[date, date, str]]) -> bool:
    for starts_on, ends_on, detail in recorded:
        if starts_on == found.starts_on:
            return True  # the table holds one occasion per car, owner, kind and first day
        overlaps = starts_on <= found.ends_on and found.starts_on <= ends_on
        if overlaps and (found.kind == kinds.SERVICE_DUE or detail == found.detail):
            return True
    return False


def detect(*, session: Session, today: date, control_share: float = 0.0, rng: random.Random | None = None,
           vehicle_ids: list[int] | None = None, only: frozenset[str] | None = None,
           extra: dict[int, list[Found]] | None = None) -> dict:
    """Records today's new occasions for every owned car (or the cars named, of the kinds named).
    ``extra``: occasions an event opened for a car, recorded when the data holds none of that kind
    open today. Returns counts by kind."""
    rng = rng or random.Random()
    ids = vehicle_ids if vehicle_ids is not None else vehicles_service.all_vehicle_ids(session=session)
    counts: dict[str, int] = {}
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        owners = vehicles_service.current_owners(session=session, vehicle_ids=batch)
        if not owners:
            continue
        owned = list(owners)
        delivered = vehicles_service.first_owned(session=session, vehicle_ids=owned)
        services = vehicles_service.last_services(session=session, vehicle_ids=owned)
        odometers = vehicles_service.likely_odometers_km(session=session, vehicle_ids=owned, today=today)
        contracts = finance.running_of(session=session, vehicle_ids=owned, customer_ids=owners, today=today)
        known: dict[tuple, list[tuple[date, date, str]]] = {}
        for row in session.execute(select(Occasion.vehicle_id, Occasion.customer_id, Occasion.kind,
                                          Occasion.window_starts_on, Occasion.window_ends_on, Occasion.detail)
                                   .where(Occasion.vehicle_id.in_(owned))):
            known.setdefault(tuple(row[:3]), []).append((row[3], row[4], row[5]))
        for vehicle_id, customer_id in owners.items():
            vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
            customer = customers_service.get(session=session, customer_id=customer_id)
            delivered_on = delivered[vehicle_id].date() if vehicle_id in delivered else None
            km = odometers.get(vehicle_id)
            found_now = found_for(session=session, vehicle=vehicle, delivered_on=delivered_on,
                                  last_service=services.get(vehicle_id), odometer_km=int(km) if km is not None else None,
                                  today=today, contracts=contracts.get(vehicle_id, ()), only=only)
            open_kinds = {f.kind for f in found_now}
            found_now += [f for f in (extra or {}).get(vehicle_id, ()) if f.kind not in open_kinds]
            for found in found_now:
                recorded = known.setdefault((vehicle_id, customer_id, found.kind), [])
                if _seen(found, recorded):
                    continue
                born = vehicle.production_date or delivered_on or today
                session.add(Occasion(
                    kind=found.kind, vehicle_id=vehicle_id, customer_id=customer_id, window_starts_on=found.starts_on,
                    window_ends_on=found.ends_on, market=(customer.market or customer.country or "DE")[:2],
                    model_code=vehicle.trim.model.code, car_age_years=max(0, (today - born).days // 365),
                    odometer_km=int(km) if km is not None else None, legal=found.kind in kinds.LEGAL_KINDS,
                    arm="control" if found.kind not in kinds.LEGAL_KINDS and rng.random() < control_share
                    else "coordinated", detail=found.detail))
                recorded.append((found.starts_on, found.ends_on, found.detail))
                counts[found.kind] = counts.get(found.kind, 0) + 1
        session.flush()
    return counts


def of_customer(*, session: Session, customer_id: int) -> list[Occasion]:
    return list(session.scalars(select(Occasion).where(Occasion.customer_id == customer_id)
                                .order_by(Occasion.detected_at.desc(), Occasion.id.desc())))
