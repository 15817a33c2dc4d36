"""The carmaker's figures: does one coordinated message work better than none?

* **Take-up per offer and occasion**: of the drivers an offer reached, how many accepted it.
* **Coordinated against control**: the share of occasions that ended in a purchase or a booking for the
  car, for drivers who got the coordinated message and for the control group held out at random. An
  outcome counts whether it came from the message (an acceptance) or not (the driver booked or bought
  on their own), so the two groups are measured the same way.
* **Messages per driver per month**, **opt-out rate** (drivers messaged who withdrew a grant of an
  offer's purpose from its sender afterwards), **revenue per occasion** (accepted offers' prices).

Figures only: no driver is named. The per-occasion outcome is read one occasion at a time through the
workshop and warranty modules, which suits a network's dashboard, not a million-row report.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core.i18n import gettext
from forecourt.engagement import kinds
from forecourt.engagement.models import Contact, Message, MessageItem, Occasion, Offer, Response
from forecourt.parties import service as parties_service
from forecourt.vehicles import warranty
from forecourt.workshop import booking


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


def take_up(*, session: Session) -> list[dict]:
    reached = dict(session.execute(
        select(MessageItem.offer_id, func.count(MessageItem.id)).join(Message, Message.id == MessageItem.message_id)
        .where(Message.status == "sent").group_by(MessageItem.offer_id)).all())
    accepted = dict(session.execute(
        select(MessageItem.offer_id, func.count(Response.id)).join(Response, Response.item_id == MessageItem.id)
        .where(Response.kind == "accepted").group_by(MessageItem.offer_id)).all())
    rows = []
    for offer in session.scalars(select(Offer).order_by(Offer.id)):
        sender = parties_service.get_organization(session=session, organization_id=offer.organization_id).name
        sent, took = reached.get(offer.id, 0), accepted.get(offer.id, 0)
        rows.append({"offer_id": offer.id, "offer": offer.title, "sender": sender,
                     "occasions": ", ".join(gettext(kinds.OCCASIONS[k]) for k in offer.occasion_kinds),
                     "reached": sent, "accepted": took, "take_up": _rate(took, sent)})
    return rows


def _converted(session: Session, occasion: Occasion, accepted: set[int]) -> bool:
    if occasion.message_id in accepted:
        return True
    if occasion.vehicle_id is None:
        return False
    if any(c.starts_on >= occasion.window_starts_on for c in warranty.contracts_for(session=session,
                                                                                     vehicle_id=occasion.vehicle_id)):
        return True
    return booking.upcoming_for_vehicle(session=session, vehicle_id=occasion.vehicle_id) is not None


def arms(*, session: Session) -> list[dict]:
    accepted = set(session.scalars(select(Response.message_id).where(Response.kind == "accepted")))
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for occasion in session.scalars(select(Occasion).where(Occasion.legal.is_(False))):
        row = counts[(occasion.kind, occasion.arm)]
        row[0] += 1
        row[1] += _converted(session, occasion, accepted)
    return [{"occasion": gettext(kinds.OCCASIONS[kind]), "kind": kind, "arm": arm, "occasions": n, "converted": c,
             "take_up": _rate(c, n)} for (kind, arm), (n, c) in sorted(counts.items())]


def per_month(*, session: Session) -> list[dict]:
    rows = session.execute(select(Contact.customer_id, Contact.at).where(Contact.topic == "engagement",
                                                                         Contact.channel == "in_app")).all()
    months: dict[str, list] = defaultdict(lambda: [0, set()])
    for customer_id, at in rows:
        month = months[at.strftime("%Y-%m")]
        month[0] += 1
        month[1].add(customer_id)
    return [{"month": m, "messages": n, "drivers": len(who), "per_driver": round(n / len(who), 2)}
            for m, (n, who) in sorted(months.items())]


def opt_out(*, session: Session) -> dict:
    messaged = session.execute(select(Message.customer_id, func.min(Message.sent_at)).where(
        Message.status == "sent", Message.customer_id.is_not(None)).group_by(Message.customer_id)).all()
    senders: dict[int, set] = defaultdict(set)
    for customer_id, organization_id, purpose in session.execute(
            select(Message.customer_id, Offer.organization_id, Offer.purpose)
            .join(MessageItem, MessageItem.message_id == Message.id).join(Offer, Offer.id == MessageItem.offer_id)
            .where(Message.status == "sent")).all():
        senders[customer_id].add((organization_id, purpose))
    left = 0
    for customer_id, first in messaged:
        if any(g.withdrawn_at is not None and g.withdrawn_at >= first and (g.organization_id, g.purpose_code)
               in senders[customer_id] for g in consent_service.grants_of(session=session, customer_id=customer_id)):
            left += 1
    return {"drivers": len(messaged), "opted_out": left, "rate": _rate(left, len(messaged))}


def revenue(*, session: Session) -> list[dict]:
    rows = session.execute(select(Occasion.kind, Response.currency, func.sum(Response.revenue), func.count(Response.id))
                           .join(MessageItem, MessageItem.id == Response.item_id)
                           .join(Occasion, Occasion.id == MessageItem.occasion_id)
                           .where(Response.kind == "accepted", Response.revenue.is_not(None))
                           .group_by(Occasion.kind, Response.currency)).all()
    occasions = dict(session.execute(select(Occasion.kind, func.count(Occasion.id)).where(
        Occasion.arm == "coordinated").group_by(Occasion.kind)).all())
    return [{"occasion": gettext(kinds.OCCASIONS[kind]), "kind": kind, "currency": currency,
             "revenue": Decimal(total or 0), "accepted": n,
             "per_occasion": (Decimal(total or 0) / occasions[kind]).quantize(Decimal("0.01")) if occasions.get(kind)
             else Decimal(0)} for kind, currency, total, n in rows]


def figures(*, session: Session) -> dict:
    return {"take_up": take_up(session=session), "arms": arms(session=session), "per_month": per_month(session=session),
            "opt_out": opt_out(session=session), "revenue": revenue(session=session)}


def as_csv(found: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "what", "group", "count", "of", "rate_or_amount", "currency"])
    for r in found["take_up"]:
        writer.writerow(["take_up", r["offer"], r["sender"], r["accepted"], r["reached"], r["take_up"], ""])
    for r in found["arms"]:
        writer.writerow(["arm", r["kind"], r["arm"], r["converted"], r["occasions"], r["take_up"], ""])
    for r in found["per_month"]:
        writer.writerow(["per_month", r["month"], "", r["messages"], r["drivers"], r["per_driver"], ""])
    o = found["opt_out"]
    writer.writerow(["opt_out", "", "", o["opted_out"], o["drivers"], o["rate"], ""])
    for r in found["revenue"]:
        writer.writerow(["revenue", r["kind"], "", r["accepted"], "", r["per_occasion"], r["currency"]])
    return out.getvalue()
