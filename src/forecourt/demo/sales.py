"""Sales activity for the demo network: eighteen months of deals, leads, test drives and targets.

Deals come from ``sales_history`` (shared with the pipeline benchmark). Leads, and the deals and
test drives tied to a person, only name customers who allowed that dealer sales contact.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from random import Random

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from forecourt.consent.models import Grant
from forecourt.core.auth import Role
from forecourt.customers.models import Customer
from forecourt.demo import bulk
from forecourt.demo.sales_funnel import LEAD_COLUMNS
from forecourt.demo.sales_history import CHANGE_COLUMNS, DEAL_COLUMNS, Car, History, Seller, deals
from forecourt.parties.models import User
from forecourt.sales import scoring
from forecourt.sales.models import Activity, Lead, Opportunity, StageChange, Target
from forecourt.sales.routing import OPEN_STATUSES
from forecourt.vehicles.models import Trim, VehicleModel

DEALS_PER_DEALER = 80
LEADS_PER_DEALER = 10
MONTHS = 18
# Recent leads still being worked; the converted ones come with their deals (``sales_funnel``).
LEAD_STATUSES = (("new", 35), ("contacted", 30), ("qualified", 25), ("disqualified", 10))
LEAD_SHARE = 0.75  # of the deals with a customer, those that started as a lead
LEAD_SOURCES = (("web_form", 40), ("test_drive", 30), ("event", 15), ("configuration", 15))
EVENTS = ("Spring open day", "Electric weekend", "Launch evening")


def _weighted(rng: Random, choices) -> str:
    pick, total = rng.random() * sum(w for _, w in choices), 0
    for value, weight in choices:
        total += weight
        if pick < total:
            return value
    return choices[-1][0]


def sellers(session: Session, *, with_customers: bool = True) -> list[Seller]:
    """Each dealer with its sales reps and the customers who allowed it sales contact."""
    reps: dict[int, list[int]] = defaultdict(list)
    for user_id, organization_id in session.execute(
            select(User.id, User.organization_id).where(User.role == Role.DEALER_SALES.value,
                                                        User.organization_id.is_not(None)).order_by(User.id)):
        reps[organization_id].append(user_id)
    granting: dict[int, list[int]] = defaultdict(list)
    if with_customers:
        for customer_id, organization_id in session.execute(
                select(Grant.customer_id, Grant.organization_id).where(
                    Grant.purpose_code == "sales_contact", Grant.withdrawn_at.is_(None),
                    Grant.organization_id.in_(list(reps))).order_by(Grant.id)):
            granting[organization_id].append(customer_id)
    return [Seller(dealer_id=d, rep_ids=tuple(ids), customer_ids=tuple(dict.fromkeys(granting[d])))
            for d, ids in sorted(reps.items())]


def cars(session: Session) -> list[Car]:
    """Every model at its cheapest trim's price."""
    rows = session.execute(select(VehicleModel.id, VehicleModel.name, func.min(Trim.base_price))
                           .join(Trim, Trim.model_id == VehicleModel.id)
                           .group_by(VehicleModel.id, VehicleModel.name).order_by(VehicleModel.id)).all()
    return [Car(model_id=i, name=name, price=float(price or 30000)) for i, name, price in rows]


def _next_id(session: Session, table: Table) -> int:
    return (session.scalar(select(func.max(table.c.id))) or 0) + 1


def _write(session: Session, table: Table, rows: list[dict]) -> int:
    for start in range(0, len(rows), bulk.CHUNK):
        session.execute(insert(table), rows[start:start + bulk.CHUNK])
    return len(rows)


def _targets(history: History, found: list[Seller], rng: Random, now: datetime, average: float) -> list[dict]:
    months, moment = [], now.replace(day=1)
    for _ in range(MONTHS + 1):
        months.append(moment.strftime("%Y-%m"))
        moment = (moment - timedelta(days=1)).replace(day=1)
    rows = []
    for seller in found:
        typical = max(1, round(sum(history.wins[(seller.dealer_id, m)] for m in months) / len(months)))
        for month in months:
            units = max(1, round((history.wins[(seller.dealer_id, month)] or typical) * rng.uniform(0.85, 1.3)))
            value = round(units * average * rng.uniform(0.95, 1.05), 2)
            for user_id in (None, *seller.rep_ids[:1]):
                rows.append({"dealer_id": seller.dealer_id, "user_id": user_id, "month": month, "units": units,
                             "value": value})
    return rows


def _leads(session: Session, found: list[Seller], cars_: list[Car], rng: Random, now: datetime,
           first_id: int) -> list[dict]:
    wanted = {s.dealer_id: list(s.customer_ids[:LEADS_PER_DEALER]) for s in found}
    people = {c.id: c for c in session.scalars(select(Customer).where(
        Customer.id.in_({c for ids in wanted.values() for c in ids})))}
    rows = []
    for seller in found:
        for customer_id in wanted[seller.dealer_id]:
            person, source = people[customer_id], _weighted(rng, LEAD_SOURCES)
            by_location = rng.random() < 0.4
            created = now - timedelta(days=rng.uniform(0, 60))
            rows.append({
                "id": first_id + len(rows), "dealer_id": seller.dealer_id, "customer_id": customer_id,
                "source": source, "model_id": rng.choice(cars_).model_id, "first_name": person.first_name,
                "last_name": person.last_name, "email": person.email, "phone": person.phone,
                "postcode": person.postcode, "city": person.city,
                "message": "I would like to see the car and talk about a trade-in." if source == "web_form" else "",
                "event_name": rng.choice(EVENTS) if source == "event" else None,
                "preferred_date": (created + timedelta(days=rng.randint(2, 14))).date() if source == "test_drive"
                else None,
                "status": _weighted(rng, LEAD_STATUSES), "routed_by": "location" if by_location else "customer_choice",
                "routing_facts": ({"code": "nearest", "km": rng.randint(3, 40)} if by_location
                                  else {"code": "customer_choice"}),
                # scored below, by the scorer every new lead meets
                "score": 0, "score_reasons": [], "created_at": created, "updated_at": created})
    return rows


def _with_contacts(session: Session, rows: list[tuple]) -> list[dict]:
    """Generated leads as rows, with what the person typed (their customer record's name and contact)."""
    leads = [dict(zip(LEAD_COLUMNS, row, strict=True)) for row in rows]
    ids = {lead["customer_id"] for lead in leads if lead["customer_id"] is not None}
    people = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))} if ids else {}
    for lead in leads:
        lead.update(score_reasons=[], routing_facts=json.loads(lead["routing_facts"]), first_name=None,
                    last_name=None, email=None, phone=None, postcode=None,
                    city=None, event_name=None)
        person = people.get(lead["customer_id"])
        if person is not None:
            lead.update(first_name=person.first_name, last_name=person.last_name, email=person.email,
                        phone=person.phone, postcode=person.postcode, city=person.city)
        if lead["source"] == "event":
            lead["event_name"] = EVENTS[lead["id"] % len(EVENTS)]
    return leads


def build_pipeline(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    """Fills the pipeline of every dealer from the rows already written; returns row counts by table."""
    found = [s for s in sellers(session) if s.rep_ids]
    cars_ = cars(session)
    if not found or not cars_:
        return {}
    tables = [Opportunity.__table__, StageChange.__table__, Lead.__table__, Activity.__table__]
    history = History(wins=Counter(), value=Counter())
    opportunities, changes, activities, funnel_leads = [], [], [], []
    first_activity = _next_id(session, Activity.__table__)
    for deal, moves in deals(rng=rng, now=now, sellers=found, cars=cars_, count=DEALS_PER_DEALER * len(found),
                             first_id=_next_id(session, Opportunity.__table__),
                             first_change_id=_next_id(session, StageChange.__table__), months=MONTHS,
                             history=history, customer_share=0.4, leads=funnel_leads, lead_share=LEAD_SHARE,
                             first_lead_id=_next_id(session, Lead.__table__)):
        row = dict(zip(DEAL_COLUMNS, deal, strict=True))
        row["buying_factors"] = json.loads(row["buying_factors"])
        opportunities.append(row)
        changes += [dict(zip(CHANGE_COLUMNS, move, strict=True)) for move in moves]
        if row["customer_id"] is None:
            continue
        for move in moves:
            kind = {"qualified": "visit", "test_drive": "test_drive"}.get(move[3])
            if kind:
                activities.append({
                    "id": first_activity + len(activities), "dealer_id": row["dealer_id"],
                    "customer_id": row["customer_id"], "opportunity_id": row["id"], "user_id": move[5], "kind": kind,
                    "happened_at": move[4], "model_id": row["model_id"] if kind == "test_drive" else None,
                    "notes": "Test drive, 40 minutes including the motorway." if kind == "test_drive"
                    else "Showroom visit; compared trims and colours."})
    average = sum(r["amount"] for r in opportunities) / len(opportunities)
    linked = _write(session, Lead.__table__, _with_contacts(session, funnel_leads))  # before the deals naming them
    counts = {"sales_opportunities": _write(session, Opportunity.__table__, opportunities),
              "sales_stage_changes": _write(session, StageChange.__table__, changes),
              "sales_leads": linked + _write(session, Lead.__table__, _leads(session, found, cars_, rng, now,
                                                                             _next_id(session, Lead.__table__))),
              "sales_activities": _write(session, Activity.__table__, activities),
              "sales_targets": _write(session, Target.__table__, _targets(history, found, rng, now, average))}
    bulk.realign_sequences(session, tables)
    _score_open_leads(session)
    return counts


def _score_open_leads(session: Session) -> None:
    """Every open lead scored as a new one would be (``sales.scoring``), from the network's real
    history: a made-up number beside a real explanation would teach a rep to distrust both."""
    leads = list(session.scalars(select(Lead).where(Lead.status.in_(OPEN_STATUSES))))
    scorer = scoring.Scorer.train(session=session, extra=leads)
    for lead in leads:
        scorer.score(lead)
    session.flush()
