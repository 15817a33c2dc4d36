"""A believable history of deals: stage by stage, with waits, losses and their reasons.

Shared by the demo (a few thousand deals) and the pipeline benchmark (a million), so both show
the same shape. Rows are plain tuples in ``DEAL_COLUMNS`` / ``CHANGE_COLUMNS`` order: cheap to
make by the million and easy to hand to ``executemany`` or PostgreSQL's COPY.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

from forecourt.demo import sales_funnel

# from, to, chance of moving on (else lost), mean days before the next step
STEPS = (("new", "qualified", 0.8, 3.0), ("qualified", "test_drive", 0.75, 6.0), ("test_drive", "offer", 0.78, 5.0),
         ("offer", "negotiation", 0.72, 7.0), ("negotiation", "won", 0.62, 9.0))
# The codes a rep picks from (``sales.opportunities.LOST_REASONS``), weighted as deals are lost.
LOST_REASONS = (("price", 30), ("competitor_offer", 22), ("financing_declined", 10), ("no_decision", 30),
                ("delivery_time", 5), ("trade_in_value", 3), ("bought_used", 4))
POST_MORTEMS = {
    "price": ["Our best offer stayed 1,900 € above the competitor's; we should have put the winter tyres in earlier.",
              "Monthly rate was the deciding figure; present the finance rate before the cash price next time."],
    "competitor_offer": ["Lost to a dealer with a demonstrator on site the same day; book test drives within 48 hours.",
                         "The competitor offered a longer warranty; mention our 8-year battery warranty up front."],
    "financing_declined": ["Finance partner declined; check affordability before the offer stage."],
    "no_decision": ["Buyer postponed to next year after a job change; set a follow-up for January.",
                    "No answer after the offer; we waited eight days before calling, which was too long."],
    "delivery_time": ["Wanted the colour within three weeks; we could not source it from the network stock in time."],
    "trade_in_value": ["Trade-in valuation disappointed; ask for the trade-in's service history at the first visit."],
    "bought_used": ["Bought a two-year-old demonstrator elsewhere; offer our approved used cars alongside the new one."],
}
FLEET_ACCOUNTS = ("Stadtwerke", "Pflegedienst", "Handwerkskammer", "Logistik GmbH", "Hausverwaltung", "Taxi-Genossenschaft")
DEAL_COLUMNS = ("id", "dealer_id", "owner_user_id", "customer_id", "model_id", "kind", "title", "account_name",
                "quantity", "amount", "expected_close", "stage_code", "status", "lost_reason", "post_mortem",
                "rfp_requirements", "buying_factors", "created_at", "stage_entered_at", "closed_at", "lead_id",
                "rfp_reference", "stages_reached")
CHANGE_COLUMNS = ("id", "opportunity_id", "from_stage", "to_stage", "changed_at", "user_id")


@dataclass(frozen=True)
class Seller:
    dealer_id: int
    rep_ids: tuple[int, ...]
    customer_ids: tuple[int, ...] = ()  # customers who allowed this dealer sales contact


@dataclass(frozen=True)
class Car:
    model_id: int
    name: str
    price: float


@dataclass
class History:
    """What the generator tallied on the way, for targets that sit near what was really won."""

    wins: Counter  # (dealer_id, "YYYY-MM") -> units won
    value: Counter  # (dealer_id, "YYYY-MM") -> value won


def _reason(rng: Random) -> str:
    pick, total = rng.random() * sum(w for _, w in LOST_REASONS), 0
    for code, weight in LOST_REASONS:
        total += weight
        if pick < total:
            return code
    return LOST_REASONS[-1][0]


def deals(*, rng: Random, now: datetime, sellers: list[Seller], cars: list[Car], count: int, first_id: int = 1,
          first_change_id: int = 1, months: int = 18, history: History | None = None,
          customer_share: float = 0.0, leads: list | None = None, lead_share: float = 0.0,
          first_lead_id: int = 1, anonymous_leads: bool = False) -> Iterator[tuple[tuple, list[tuple]]]:
    """``count`` deals started over the last ``months`` months, each with its stage changes.

    With ``leads`` (a list), about ``lead_share`` of the deals came from a lead: the lead and the leads
    around it that went nowhere are appended to it as ``sales_funnel.LEAD_COLUMNS`` rows (write them
    before the deals that name them). Only deals with a customer come from a lead unless
    ``anonymous_leads``. Buying factors and fleet tenders come from their own generator either way."""
    span = months * 30.4 * 86400
    start = now - timedelta(seconds=span)
    change_id = first_change_id
    extra = Random(first_id * 7919 + count)  # the funnel's draws leave the deals' own sequence untouched
    lead_id = first_lead_id
    for n in range(count):
        seller = sellers[n % len(sellers)] if n < len(sellers) else sellers[rng.randrange(len(sellers))]
        rep = seller.rep_ids[rng.randrange(len(seller.rep_ids))] if seller.rep_ids else None
        car = cars[rng.randrange(len(cars))]
        created = start + timedelta(seconds=span * (rng.random() ** 0.8))  # more deals lately
        fleet = rng.random() < 0.03
        quantity = rng.randint(3, 25) if fleet else 1
        amount = round(car.price * quantity * (0.88 if fleet else 1) * rng.uniform(0.93, 1.08), 2)
        customer = None
        if not fleet and seller.customer_ids and rng.random() < customer_share:
            customer = seller.customer_ids[rng.randrange(len(seller.customer_ids))]
        slow = 6.0 if rng.random() < 0.08 else 1.0  # some deals stall and go overdue
        at, stage, status, reason, note, closed = created, "new", "open", None, "", None
        changes = [(change_id, first_id + n, None, "new", created, rep)]
        change_id += 1
        for _, there, chance, mean_days in STEPS:
            if there == "test_drive" and rng.random() < 0.12:
                continue  # knows the car already: straight to an offer
            moved = at + timedelta(days=rng.expovariate(1 / (mean_days * slow)))
            if moved > now:
                break
            if rng.random() >= chance:
                stage, status, reason, closed = "lost", "lost", _reason(rng), moved
                if rng.random() < 0.06:
                    note = rng.choice(POST_MORTEMS[reason])
                changes.append((change_id, first_id + n, stage, "lost", moved, rep))
                change_id += 1
                at = moved
                break
            changes.append((change_id, first_id + n, stage, there, moved, rep))
            change_id += 1
            stage, at = there, moved
            if there == "won":
                status, closed = "won", moved
        if status == "won" and history is not None:
            key = (seller.dealer_id, closed.strftime("%Y-%m"))
            history.wins[key] += quantity
            history.value[key] += amount
        account = f"{rng.choice(FLEET_ACCOUNTS)} {seller.dealer_id}-{n % 97}" if fleet else None
        title = f"{car.name} ×{quantity} for a fleet" if fleet else f"{car.name} for a private buyer"
        expected = (created + timedelta(days=rng.randint(28, 80))).date()
        if closed is not None and expected > closed.date():
            expected = closed.date()  # a closed deal's expected date is never after it closed
        linked = None
        if leads is not None and not fleet and (customer is not None or anonymous_leads) \
                and extra.random() < lead_share:
            rows = sales_funnel.leads_for_deal(extra, first_id=lead_id, dealer_id=seller.dealer_id,
                                               customer_id=customer, others=seller.customer_ids,
                                               model_id=car.model_id, deal_created=created, now=now, start=start)
            leads += rows
            linked, lead_id = lead_id, lead_id + len(rows)
        rfp = sales_funnel.tender(extra, first_id + n, created) if fleet else None
        if rfp and status == "lost" and reason == "price":
            amount = round(amount * extra.uniform(1.03, 1.09), 2)  # the offers lost on price were dearer
        yield ((first_id + n, seller.dealer_id, rep, customer, car.model_id, "fleet" if fleet else "retail", title,
                account, quantity, amount, expected, stage, status, reason, note, "",
                sales_funnel.buying_factors(extra, status, stage), created, at, closed, linked, rfp,
                "," + "".join(f"{code}," for code in dict.fromkeys(c[3] for c in changes))),
               changes)
