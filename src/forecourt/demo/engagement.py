"""Demo data: coordinated engagement alive — partners' offers, occasions in the network, messages in
the demo drivers' inboxes, some accepted, and a control group for the carmaker's dashboard.

The carmaker offers an extended warranty, each demo driver's dealer a check-up, the insurer a
usage-based quote (only drivers who granted it their driving behaviour see it). Occasions are found
by the same detection the daily job runs, over the demo drivers' cars and a sample of the network;
the demo drivers' cars also get an occasion whose window is open today, so their inbox is never empty.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.customers import service as customers_service
from forecourt.demo import driver, korea
from forecourt.engagement import compose, delivery, kinds, occasions, responses
from forecourt.engagement.models import Message, MessageItem, Occasion, Offer
from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service

SAMPLE = 1500
CONTROL_SHARE = 0.1
# (title, body, benefit) of each demo dealer's offers, in the language the dealer writes to its drivers
DEALER_WORDS = {
    "en": {"check_up": ("Check-up before your warranty ends",
                        "We inspect what the warranty still covers, so any fault is repaired at no cost.",
                        "Free brake check"),
           "trade_in": ("Thinking of a new car? Your trade-in value",
                        "We value your car and quote a new one, with your warranty's end in mind.",
                        "A free valuation")},
    "ko": {"check_up": ("보증이 끝나기 전에 점검 받으세요",
                        "보증 범위 안에서 차량을 점검해 드리고, 이상이 있으면 무상으로 수리해 드립니다.",
                        "브레이크 무상 점검"),
           "trade_in": ("새 차를 생각하고 계신가요? 지금 차량의 보상 판매 가격",
                        "보증 만료 시점을 고려해 고객님 차량을 평가하고 새 차 견적을 드립니다.",
                        "무료 차량 평가")},
}


def _offers(session: Session, *, carmaker, dealers, insurer, today) -> list[Offer]:
    until = today + timedelta(days=180)
    made = [Offer(organization_id=carmaker.id, title="Extra Care 2 years: extend your warranty",
                  body="Two more years of cover for parts and labour, starting the day your warranty ends.",
                  purpose="marketing_offers", occasion_kinds=[kinds.WARRANTY_60, kinds.WARRANTY_30, kinds.BIRTHDAY_4],
                  models=[], markets=[], max_age_years=5, price=890, currency="EUR", valid_from=today,
                  valid_until=until, action=kinds.BUY_EXTENSION, action_code="EXTRA-CARE-2", relevance=90)]
    for dealer in dealers:
        # an offer is the dealer's own words: a Korean dealer writes to its drivers in Korean
        words = DEALER_WORDS["ko" if dealer.market == "KR" else "en"]
        made.append(Offer(organization_id=dealer.id, title=words["check_up"][0], body=words["check_up"][1],
                          purpose="service_reminders",
                          occasion_kinds=[kinds.WARRANTY_60, kinds.WARRANTY_30, kinds.SERVICE_DUE,
                                          kinds.BIRTHDAY_4, kinds.BIRTHDAY_6],
                          models=[], markets=[dealer.market], benefit=words["check_up"][2],
                          valid_from=today, valid_until=until, action=kinds.BOOK_SERVICE, action_code="inspection",
                          relevance=70))
        made.append(Offer(organization_id=dealer.id, title=words["trade_in"][0], body=words["trade_in"][1],
                          purpose="sales_contact",
                          occasion_kinds=[kinds.WARRANTY_60, kinds.BIRTHDAY_4, kinds.BIRTHDAY_6],
                          models=[], markets=[dealer.market], benefit=words["trade_in"][2], valid_from=today,
                          valid_until=until, action=kinds.ASK_QUOTE, relevance=40))
    if insurer is not None:
        made.append(Offer(organization_id=insurer.id, title="Insurance that rewards calm driving",
                          body="A quote based on your driving score: the calmer you drive, the less you pay.",
                          purpose="driving_behaviour_insurance",
                          occasion_kinds=[kinds.WARRANTY_60, kinds.DELIVERY_ANNIVERSARY, kinds.BIRTHDAY_4],
                          models=[], markets=[insurer.market], benefit="Up to 30 % off", valid_from=today,
                          valid_until=until, action=kinds.ASK_QUOTE, relevance=50))
    session.add_all(made)
    session.flush()
    return made


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    today = now.date()
    carmaker = parties_service.carmaker(session=session)
    insurers = [o for o in parties_service.list_organizations(session=session, kind="partner")
                if o.partner_kind == "insurance" and o.market == "DE"]
    drivers = [c for c in (customers_service.find_by_email(session=session, email=driver.EMAIL),
                           customers_service.find_by_email(session=session, email=korea.DRIVER_EMAIL)) if c]
    cars = {c.id: vehicles_service.vehicles_of(session=session, customer_id=c.id) for c in drivers}
    # the dealers the demo drivers allowed service reminders (demo/driver.py, demo/korea.py); they allowed the
    # carmaker no marketing, so its extension reaches other drivers, not them
    dealers = {}
    for customer in drivers:
        for grant in consent_service.grants_of(session=session, customer_id=customer.id):
            if grant.purpose_code == "service_reminders" and grant.withdrawn_at is None:
                dealers[grant.organization_id] = parties_service.get_organization(
                    session=session, organization_id=grant.organization_id)
    _offers(session, carmaker=carmaker, dealers=list(dealers.values()), insurer=insurers[0] if insurers else None,
            today=today)
    for customer in drivers:
        for vehicle, _ownership in cars[customer.id][:1]:  # an occasion open today on their first car
            session.add(Occasion(kind=kinds.WARRANTY_60, vehicle_id=vehicle.id, customer_id=customer.id,
                                 window_starts_on=today - timedelta(days=2), window_ends_on=today + timedelta(days=28),
                                 market=(customer.market or "DE"), model_code=vehicle.trim.model.code,
                                 car_age_years=max(0, (today - (vehicle.production_date or today)).days // 365),
                                 detail=(today + timedelta(days=58)).isoformat()))
    session.flush()
    sample = vehicles_service.all_vehicle_ids(session=session)
    rng.shuffle(sample)
    found = occasions.detect(session=session, today=today, control_share=CONTROL_SHARE, rng=rng,
                             vehicle_ids=sample[:SAMPLE])
    # sent this morning (or yesterday's, before nine): 10:00 in Berlin, 18:00 in Seoul, outside both quiet hours
    morning = datetime.combine(today, time(9, 0), tzinfo=UTC)
    if morning > now:
        morning -= timedelta(days=1)
    composed = compose.compose(session=session, today=today, hold=morning - now)
    # the hold counts from the clock at composing, which has moved on since ``now`` while the demo was built:
    # delivered half an hour later (still outside both quiet hours), every message composed for the morning goes
    sent = delivery.deliver_due(session=session, at=morning + timedelta(minutes=30), limit=100_000)
    accepted = 0
    waiting = session.execute(select(Message.id, Message.customer_id, MessageItem.id)
                              .join(MessageItem, MessageItem.message_id == Message.id)
                              .join(Offer, Offer.id == MessageItem.offer_id)
                              .where(Message.status == "sent", MessageItem.position == 1,
                                     Message.customer_id.not_in([c.id for c in drivers]))).all()
    for message_id, customer_id, item_id in waiting[: max(1, len(waiting) // 4)]:
        try:
            with session.begin_nested():
                responses.accept(session=session, customer_id=customer_id, message_id=message_id, item_id=item_id)
            accepted += 1
        except Exception:  # noqa: BLE001 - a demo acceptance that cannot happen is simply left out
            continue
    session.flush()
    return {"engagement_occasions": sum(found.values()) + len(drivers), "engagement_messages": composed["messages"],
            "engagement_sent": sent.get("sent", 0), "engagement_accepted": accepted}
