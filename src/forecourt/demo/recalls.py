"""Demo data: three recall campaigns over the demo models, each reaching its owners through the outbox,
and remedies spread over the weeks since each opened, so the dashboard's chart has a curve.

* an older Lumo campaign by production dates, mostly remedied;
* a Terra plug-in hybrid campaign (the demo driver's car is in it and still open, so her portal shows it);
* a fresh Vela campaign by VIN range, barely started, whose e-mails wait for ``forecourt outbox send``.

Campaigns open through the recall service (matching, notices, access log) and are then dated back.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from random import Random

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from forecourt.core.auth import Principal, Role
from forecourt.core.outbox import OutboxMessage
from forecourt.customers.models import Customer
from forecourt.demo import driver
from forecourt.parties.models import Organization, User
from forecourt.telematics.models import Trip
from forecourt.vehicles import recalls
from forecourt.vehicles.models import Ownership, RecallVehicle, ServiceRecord, Trim, Vehicle, VehicleModel


def _admin(session: Session) -> Principal | None:
    user = session.scalars(select(User).join(Organization, Organization.id == User.organization_id)
                           .where(User.role == Role.CARMAKER_ADMIN.value, Organization.kind == "carmaker")
                           .order_by(User.id)).first()
    return Principal(user_id=user.id, role=Role.CARMAKER_ADMIN, display_name=user.display_name,
                     organization_id=user.organization_id) if user else None


def _cars_of(session: Session, model_code: str, trim_code: str | None = None) -> list[tuple[int, str, object]]:
    query = (select(Vehicle.id, Vehicle.vin, Vehicle.production_date).join(Trim, Trim.id == Vehicle.trim_id)
             .join(VehicleModel, VehicleModel.id == Trim.model_id).where(VehicleModel.code == model_code))
    if trim_code:
        query = query.where(Trim.code == trim_code)
    return [tuple(row) for row in session.execute(query.order_by(Vehicle.production_date, Vehicle.id))]


def _driver_car(session: Session) -> int | None:
    return session.scalar(select(Ownership.vehicle_id).join(Customer, Customer.id == Ownership.customer_id)
                          .where(Customer.email == driver.EMAIL, Ownership.ended_at.is_(None))
                          .order_by(Ownership.started_at.desc()).limit(1))


def _specs(session: Session) -> list[dict]:
    specs = []
    lumo = [c for c in _cars_of(session, "LUMO") if c[2] is not None]
    if lumo:
        start, end = lumo[len(lumo) // 3][2], lumo[2 * len(lumo) // 3][2]
        specs.append(dict(code="RC-DEMO-011", title="Brake hose may chafe on the front axle", severity="high",
                          description="The front brake hose can rub against the wheel arch liner and leak brake "
                                      "fluid, which lengthens braking distances.",
                          remedy="The workshop fits a new brake hose and a guide clip.", labour_minutes=45,
                          scopes=[{"model_code": "LUMO", "produced_from": start, "produced_to": end}],
                          weeks=16, share=0.78, emails_sent=True))
    terra = _cars_of(session, "TERRA", "TERRA-PHEV-4X4")
    if terra:
        specs.append(dict(code="RC-DEMO-017", title="Charging socket may overheat", severity="critical",
                          description="A loose contact in the charging socket can overheat while charging and, in "
                                      "rare cases, start a fire. Until the fix, neither drive nor charge the car.",
                          remedy="The workshop replaces the charging socket and updates the charger software.",
                          labour_minutes=90, scopes=[{"trim_code": "TERRA-PHEV-4X4"}], weeks=6, share=0.45,
                          emails_sent=True))
    vela = _cars_of(session, "VELA")
    if len(vela) >= 4:
        ordered = sorted(vela, key=lambda c: c[1][:8] + c[1][9:])
        specs.append(dict(code="RC-DEMO-023", title="Rear seat belt buckle may not latch", severity="medium",
                          description="On some cars the rear centre buckle may not latch fully, so the belt would "
                                      "not hold in a crash.",
                          remedy="The workshop checks the buckle and replaces it if needed.", labour_minutes=30,
                          scopes=[{"vin_from": ordered[len(ordered) // 4][1],
                                   "vin_to": ordered[3 * len(ordered) // 4][1]}],
                          weeks=1, share=0.08, emails_sent=False))
    return specs


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    """Writes the demo's recalls rows after customers, cars and consents exist; returns row counts by table."""
    admin = _admin(session)
    if admin is None:
        return {}
    keep_open = _driver_car(session)
    dealers = list(session.scalars(select(Organization.id).where(Organization.kind == "dealer")))
    counts = {"recall_campaigns": 0, "recall_vehicles": 0, "recall_remedies": 0}
    for spec in _specs(session):
        weeks, share, emails_sent = spec.pop("weeks"), spec.pop("share"), spec.pop("emails_sent")
        result = recalls.open_campaign(session=session, principal=admin, **spec)
        campaign = result["campaign"]
        opened = now - timedelta(weeks=weeks, hours=rng.randint(1, 48))
        campaign.opened_at = opened
        session.execute(update(RecallVehicle).where(RecallVehicle.campaign_id == campaign.id,
                                                    RecallVehicle.notified_at.is_not(None))
                        .values(notified_at=opened + timedelta(minutes=5)))
        prefix = f"recall:{campaign.code}:"
        session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(prefix))
                        .values(created_at=opened + timedelta(minutes=5)))
        if emails_sent:
            session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(prefix),
                                                        OutboxMessage.channel == "email")
                            .values(sent_at=opened + timedelta(minutes=20), attempts=1))
        counts["recall_campaigns"] += 1
        counts["recall_vehicles"] += result["affected"]
        counts["recall_remedies"] += _remedy(session, rng, campaign, opened, now, share, dealers, keep_open)
    session.flush()
    return counts


def _remedy(session: Session, rng: Random, campaign, opened: datetime, now: datetime, share: float,
            dealers: list[int], keep_open: int | None) -> int:
    """Remedies arrive fast at first, then slow down (owners who ignore letters): a saturating curve."""
    rows = list(session.scalars(select(RecallVehicle).where(RecallVehicle.campaign_id == campaign.id)))
    history: dict[int, list[tuple]] = {}
    for vehicle_id, day, km in session.execute(
            select(ServiceRecord.vehicle_id, ServiceRecord.performed_on, ServiceRecord.odometer_km)
            .where(ServiceRecord.vehicle_id.in_([r.vehicle_id for r in rows]))):
        history.setdefault(vehicle_id, []).append((day, km))
    # a car's service book stays short and believable: a busy book skips the demo remedy
    chosen = [r for r in rows if r.vehicle_id != keep_open and len(history.get(r.vehicle_id, [])) <= 4
              and rng.random() < share]
    if not chosen:
        return 0
    ids = [r.vehicle_id for r in chosen]
    cars = {v.id: v for v in session.scalars(select(Vehicle).where(Vehicle.id.in_(ids)))}
    periods: dict[int, list[tuple]] = {}
    for vehicle_id, customer_id, started_at in session.execute(
            select(Ownership.vehicle_id, Ownership.customer_id, Ownership.started_at)
            .where(Ownership.vehicle_id.in_(ids)).order_by(Ownership.started_at)):
        periods.setdefault(vehicle_id, []).append((started_at, customer_id))
    latest = now - timedelta(days=1)
    span = max((latest - opened).total_seconds(), 3600)
    records = []
    for row in chosen:
        at = min(opened + timedelta(seconds=span * (1 - (1 - rng.random()) ** 0.45) + 1800), latest)
        car = cars[row.vehicle_id]
        dealer = car.service_dealer_id or car.selling_dealer_id or (rng.choice(dealers) if dealers else None)
        book = history.get(row.vehicle_id, [])
        before = max((km for day, km in book if day <= at.date()), default=0)
        after = min((km for day, km in book if day > at.date()), default=before + 4000)
        if after - before < 2:
            continue  # no believable reading fits between two visits
        row.state, row.remedied_at, row.remedied_by_dealer_id = recalls.REMEDIED, at, dealer
        end_of_day = datetime.combine(at.date(), time.max, tzinfo=UTC)
        owner = next((c for started, c in reversed(periods.get(row.vehicle_id, [])) if started <= end_of_day), None)
        records.append(dict(vehicle_id=row.vehicle_id, dealer_id=dealer, customer_id=owner,
                            performed_on=at.date(), odometer_km=rng.randint(before + 1, after - 1), kind="recall",
                            summary=f"Recall {campaign.code}: {campaign.title}", operations=[campaign.remedy],
                            total_cost=0, created_at=at, parts=[], dtcs_cleared=[], warranty_amount=0,
                            customer_amount=0, recall_campaign_id=campaign.id))
    if not records:
        return 0
    session.execute(insert(ServiceRecord), records)
    session.flush()
    return len(records)


def after_the_drivers_trips(*, session: Session, now: datetime) -> int:
    """The driver's car has driven these weeks; a "stop driving until fixed" notice older than her last
    trip would say she ignored it. Her notice of a critical recall arrives after her last drive instead
    (the campaign itself keeps its date and figures). Runs after ``driving.build``; returns notices moved."""
    car = _driver_car(session)
    if car is None:
        return 0
    last = session.scalar(select(func.max(Trip.ended_at)).where(Trip.vehicle_id == car))
    if last is None:
        return 0
    arrived = min(last + timedelta(minutes=25), now - timedelta(minutes=5))
    moved = 0
    for campaign in recalls.open_recalls_for(session=session, vehicle_id=car):
        if campaign.severity != "critical":
            continue
        session.execute(update(RecallVehicle).where(RecallVehicle.campaign_id == campaign.id,
                                                    RecallVehicle.vehicle_id == car,
                                                    RecallVehicle.notified_at.is_not(None))
                        .values(notified_at=arrived))
        prefix = f"recall:{campaign.code}:{car}:"
        session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(prefix))
                        .values(created_at=arrived))
        session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(prefix),
                                                    OutboxMessage.sent_at.is_not(None))
                        .values(sent_at=arrived + timedelta(minutes=2)))
        moved += 1
    session.flush()
    return moved
