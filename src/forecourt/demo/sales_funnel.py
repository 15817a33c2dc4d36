"""The top of the funnel and the "why" for generated deals: the lead a deal came from (and the leads that
went nowhere), the buyer's key buying factors, and the tender a fleet deal answered.

Used by ``sales_history.deals`` with its own random generator, so the deals themselves (dates,
stages, amounts) come out exactly as before whether or not leads are asked for.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from random import Random

LEAD_COLUMNS = ("id", "dealer_id", "customer_id", "source", "model_id", "status", "routed_by", "routing_facts",
                "message", "score_reasons", "created_at", "updated_at")
SOURCES = (("web_form", 40), ("test_drive", 30), ("event", 15), ("configuration", 15))
# A source's leads become deals at different rates (a test-drive request is warmer than a web form).
STAYS_A_LEAD = {"web_form": 1.6, "test_drive": 0.6, "event": 1.3, "configuration": 1.0}
FACTORS = (("price", 0.7), ("monthly_payment", 0.45), ("trade_in_value", 0.3), ("delivery_date", 0.25),
           ("running_costs", 0.3), ("range_and_charging", 0.35), ("safety", 0.2), ("dealer_proximity", 0.15))
LEAD_DAYS = 3.5  # mean days from a lead's arrival to the deal it becomes
CUSTOMER_CHOICE = json.dumps({"code": "customer_choice"})  # as a raw row holds it (``sales.routing_reasons``)


def pick(rng: Random, choices) -> str:
    point, total = rng.random() * sum(w for _, w in choices), 0
    for value, weight in choices:
        total += weight
        if point < total:
            return value
    return choices[-1][0]


def lead_row(*, lead_id: int, dealer_id: int, customer_id: int | None, source: str, model_id: int, status: str,
             created: datetime) -> tuple:
    return (lead_id, dealer_id, customer_id, source, model_id, status, "customer_choice", CUSTOMER_CHOICE,
            "", "[]", created, created)


def leads_for_deal(rng: Random, *, first_id: int, dealer_id: int, customer_id: int | None,
                   others: tuple[int, ...], model_id: int, deal_created: datetime, now: datetime,
                   start: datetime) -> list[tuple]:
    """The lead the deal came from (first, status converted) and some that arrived around it and did not
    become deals (contacted, disqualified, or still new when recent)."""
    source = pick(rng, SOURCES)
    created = max(deal_created - timedelta(days=rng.expovariate(1 / LEAD_DAYS)), start)
    rows = [lead_row(lead_id=first_id, dealer_id=dealer_id, customer_id=customer_id, source=source,
                     model_id=model_id, status="converted", created=created)]
    stays = STAYS_A_LEAD[source]
    count = int(stays) + (1 if rng.random() < stays - int(stays) else 0)
    for i in range(count):
        arrived = min(created + timedelta(days=rng.uniform(-20, 20)), now - timedelta(hours=1))
        age = (now - arrived).days
        status = "new" if age < 5 else ("contacted" if rng.random() < 0.45 else "disqualified")
        person = others[rng.randrange(len(others))] if others else None
        rows.append(lead_row(lead_id=first_id + 1 + i, dealer_id=dealer_id, customer_id=person,
                             source=pick(rng, SOURCES), model_id=model_id, status=status, created=max(arrived, start)))
    return rows


def buying_factors(rng: Random, status: str, stage: str) -> str:
    """What the buyer decides on, as a rep ticks it once the deal is qualified; won deals had more of it covered."""
    if stage == "new" and status == "open":
        return "{}"
    factors = {}
    for code, chance in FACTORS:
        if rng.random() < chance:
            covered = rng.random() < (0.8 if status == "won" else 0.45 if status == "lost" else 0.6)
            factors[code] = covered
    return json.dumps(factors)


def tender(rng: Random, deal_id: int, created: datetime) -> str | None:
    """Most fleet deals answer a company's request for proposal."""
    return f"RFP-{created.year}-{deal_id:06d}" if rng.random() < 0.65 else None
