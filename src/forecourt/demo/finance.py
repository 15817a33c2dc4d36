"""Demo data: finance contracts and the finance partner's offer for their end.

Aurora Financial Services financed the German demo driver's car (a loan that ends in seven weeks, so
its ``finance_ends`` occasion is open and her inbox holds Aurora's offer beside the others) and the
cars of a few network drivers who allowed a finance partner its offers, ending over the next three
years. The demo writes them as the partner's route would and finds the occasions they open, as the
event handler would in a running platform.
"""

from __future__ import annotations

import uuid

from datetime import datetime, timedelta
from decimal import Decimal
from random import Random

from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core.errors import NotFound
from forecourt.customers import service as customers_service
from forecourt.demo import driver
from forecourt.engagement import kinds, occasions
from forecourt.engagement.models import Offer
from forecourt.parties import service as parties_service
from forecourt.sales import finance
from forecourt.vehicles import service as vehicles_service

PARTNER = "FIN-AURORA"
NETWORK_CONTRACTS = 30
PRODUCTS = ("loan", "lease", "balloon")


def _offer(session: Session, partner, today) -> None:
    session.add(Offer(organization_id=partner.id, title="Your financing ends: refinance or choose your next car",
                      body="Keep your car with a follow-on rate for the final instalment, or move to a new one "
                           "with a rate we fix today.",
                      purpose="marketing_offers", occasion_kinds=[kinds.FINANCE_ENDS], models=[],
                      markets=[partner.market], benefit="0.9 % lower rate for existing customers",
                      valid_from=today, valid_until=today + timedelta(days=365), action=kinds.ASK_QUOTE,
                      relevance=80))


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    today = now.date()
    try:
        partner = parties_service.get_organization_by_code(session=session, code=PARTNER)
    except NotFound:
        return {"finance_contracts": 0}
    _offer(session, partner, today)
    cars: list[tuple[int, int]] = []  # (vehicle, owner)
    demo = customers_service.find_by_email(session=session, email=driver.EMAIL)
    if demo is not None:
        owned = vehicles_service.vehicles_of(session=session, customer_id=demo.id)
        if owned:
            # the same seed builds the same ledger: the receipt's number is drawn from the seed
            consent_service.give(session=session, customer_id=demo.id, organization_id=partner.id,
                                 purpose_code="marketing_offers", method="web-portal",
                                 receipt_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)))
            cars.append((owned[0][0].id, demo.id))
    sample = vehicles_service.all_vehicle_ids(session=session)
    rng.shuffle(sample)
    owners = vehicles_service.current_owners(session=session, vehicle_ids=sample[:3000])
    granting = consent_service.customers_granting(session=session, organization_id=partner.id,
                                                  purpose_code="marketing_offers", customer_ids=owners.values())
    cars += [(vehicle_id, owner) for vehicle_id, owner in owners.items()
             if owner in granting and (demo is None or owner != demo.id)][:NETWORK_CONTRACTS]
    for position, (vehicle_id, owner) in enumerate(cars):
        # the demo driver's loan ends in seven weeks; the others over the next three years
        ends = today + timedelta(days=49 if position == 0 and demo is not None else rng.randint(20, 3 * 365))
        years = rng.choice((3, 4, 5))
        finance.enter(session=session, organization_id=partner.id, vehicle_id=vehicle_id, customer_id=owner,
                      product=rng.choice(PRODUCTS), reference=f"AF-{2026000 + position}",
                      starts_on=ends - timedelta(days=365 * years), ends_on=ends,
                      monthly_amount=Decimal(rng.randrange(189, 689)) + Decimal("0.90"), currency="EUR")
    found = occasions.detect(session=session, today=today, rng=rng, vehicle_ids=[v for v, _ in cars],
                             only=frozenset({kinds.FINANCE_ENDS}))
    return {"finance_contracts": len(cars), "finance_occasions": found.get(kinds.FINANCE_ENDS, 0)}
