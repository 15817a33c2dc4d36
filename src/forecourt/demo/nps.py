"""Demo data: a year of NPS surveys after workshop visits and deliveries, answered in the drivers' own
languages, with follow-ups for the detractors (most closed with a note, a few open, one escalated).

Only drivers who allow the dealer's workshop (service reminders) or sales team (sales contact) to write
were asked, and at most one survey per driver in 30 days, as the live rules do. Each dealer has a bias
of its own, so the dashboard's ranking and trend have something to show.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, time, timedelta
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent.models import Grant
from forecourt.customers.models import Customer
from forecourt.engagement.nps import topics
from forecourt.engagement.nps.models import FollowUp, Response, Survey, Topic
from forecourt.parties.models import Organization
from forecourt.sales.models import Order
from forecourt.vehicles.models import ServiceRecord

SURVEYS_AT_MOST = 900
ANSWER_SHARE = 0.55
WORDS = {
    "en": {"good": ["Friendly advisor, car ready on time.", "Clear explanation of the work and a fair price.",
                    "Quick and clean, thank you!"],
           "mid": ["Fine, but the waiting time was long.", "Good work, the bill was a bit expensive."],
           "bad": ["I had to wait three hours and nobody called me back.", "The bill was far too expensive.",
                   "The noise is still there, not fixed.", "Staff were rude at the desk."]},
    "de": {"good": ["Sehr freundlicher Berater, Auto pünktlich fertig.", "Saubere Arbeit und faire Rechnung.",
                    "Schnell und unkompliziert, danke!"],
           "mid": ["Gut, aber die Wartezeit war lang.", "Ordentliche Arbeit, etwas teuer."],
           "bad": ["Drei Stunden gewartet und kein Rückruf.", "Die Rechnung war viel zu teuer.",
                   "Das Geräusch ist immer noch da, nicht repariert.", "Der Berater war unfreundlich."]},
    "ko": {"good": ["직원분이 친절했고 차량도 제시간에 준비됐어요.", "작업 설명이 명확하고 가격도 합리적이었어요.",
                    "빠르고 깔끔했어요, 감사합니다!"],
           "mid": ["괜찮았지만 대기시간이 길었어요.", "작업은 좋았는데 조금 비쌌어요."],
           "bad": ["세 시간이나 기다렸는데 연락도 없었어요.", "비용이 너무 비쌌어요.",
                   "소음이 여전히 나요. 수리가 안 됐어요.", "직원 응대가 불친절했어요."]},
}
NOTES = {"en": "Called the driver, apologised and offered a free check.",
         "de": "Fahrer angerufen, entschuldigt und einen kostenlosen Check angeboten.",
         "ko": "운전자에게 전화해 사과드리고 무상 점검을 안내했습니다."}


def _score(rng: Random, bias: float) -> int:
    """Most drivers are content; a dealer's bias moves its share of detractors and promoters."""
    roll = rng.random() + bias
    if roll < 0.18:
        return rng.randint(0, 6)
    if roll < 0.42:
        return rng.randint(7, 8)
    return rng.randint(9, 10)


def _words(rng: Random, language: str, score: int) -> str | None:
    if rng.random() < 0.25:
        return None
    band = "bad" if score <= 6 else "mid" if score <= 8 else "good"
    return rng.choice(WORDS.get(language, WORDS["en"])[band])


def _granted(session: Session, purpose: str) -> set[tuple[int, int]]:
    return set(session.execute(select(Grant.customer_id, Grant.organization_id).where(
        Grant.purpose_code == purpose, Grant.withdrawn_at.is_(None))).all())


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    """Writes the demo's surveys after the visits and deliveries exist; returns row counts by table."""
    since = now - timedelta(days=365)
    languages = dict(session.execute(select(Customer.id, Customer.language)).all())
    service_ok, sales_ok = _granted(session, "service_reminders"), _granted(session, "sales_contact")
    moments = []
    for record_id, vehicle_id, dealer_id, customer_id, day in session.execute(
            select(ServiceRecord.id, ServiceRecord.vehicle_id, ServiceRecord.dealer_id, ServiceRecord.customer_id,
                   ServiceRecord.performed_on).where(ServiceRecord.customer_id.is_not(None),
                                                     ServiceRecord.dealer_id.is_not(None),
                                                     ServiceRecord.performed_on >= since.date())):
        if (customer_id, dealer_id) in service_ok:
            at = datetime.combine(day, time(15, 0), tzinfo=UTC) + timedelta(hours=2)
            moments.append(("service_visit", f"service_record:{record_id}", customer_id, vehicle_id, dealer_id, at))
    for order_id, vehicle_id, dealer_id, customer_id, at in session.execute(
            select(Order.id, Order.vehicle_id, Order.dealer_id, Order.customer_id, Order.handed_over_at).where(
                Order.status == "delivered", Order.customer_id.is_not(None), Order.handed_over_at >= since)):
        if (customer_id, dealer_id) in sales_ok:
            moments.append(("delivery", f"order:{order_id}", customer_id, vehicle_id, dealer_id, at))
    moments = [m for m in moments if m[5] <= now - timedelta(hours=1)]
    rng.shuffle(moments)
    moments = sorted(moments[:SURVEYS_AT_MOST * 2], key=lambda m: m[5])
    dealers = sorted({m[4] for m in moments})
    bias = {dealer: rng.uniform(-0.12, 0.1) for dealer in dealers}
    if dealers:  # the demo's first dealer is the one whose staff log in: give them some work
        first = session.scalar(select(Organization.id).where(Organization.kind == "dealer").order_by(Organization.id))
        bias[first] = -0.1
    carmaker = session.scalar(select(Organization.id).where(Organization.kind == "carmaker").order_by(Organization.id))
    last_asked: dict[int, datetime] = {}
    counts = {"nps_surveys": 0, "nps_responses": 0, "nps_follow_ups": 0}
    for touchpoint, key, customer_id, vehicle_id, dealer_id, at in moments:
        if counts["nps_surveys"] >= SURVEYS_AT_MOST:
            break
        if customer_id in last_asked and at - last_asked[customer_id] < timedelta(days=30):
            continue
        last_asked[customer_id] = at
        language = languages.get(customer_id) or "en"
        survey = Survey(touchpoint=touchpoint, subject_key=key, customer_id=customer_id, vehicle_id=vehicle_id,
                        organization_id=dealer_id, responsible="dealer", language=language,
                        token_digest=hashlib.sha256(secrets.token_bytes(24)).hexdigest(), created_at=at,
                        expires_at=at + timedelta(days=30))
        session.add(survey)
        counts["nps_surveys"] += 1
        if rng.random() > ANSWER_SHARE:
            continue
        answered = min(at + timedelta(hours=rng.randint(1, 72)), now - timedelta(minutes=30))
        score = _score(rng, bias.get(dealer_id, 0.0))
        why = _words(rng, language, score)
        session.flush()
        survey.answered_at = answered
        response = Response(survey_id=survey.id, score=score, why=why, language=language, answered_at=answered)
        session.add(response)
        session.flush()
        session.add_all(Topic(response_id=response.id, topic=code, source="keyword")
                        for code in topics.tag(why, language))
        counts["nps_responses"] += 1
        if score > 6:
            continue
        task = FollowUp(survey_id=survey.id, organization_id=dealer_id, opened_at=answered,
                        due_at=answered + timedelta(hours=48))
        _settle(task, rng, now, language, carmaker)
        session.add(task)
        counts["nps_follow_ups"] += 1
    session.flush()
    counts_open = _fresh_detractors(session, rng, now, first if dealers else None, service_ok, last_asked, languages)
    counts["nps_surveys"] += counts_open
    counts["nps_responses"] += counts_open
    counts["nps_follow_ups"] += counts_open
    return counts


def _settle(task: FollowUp, rng: Random, now: datetime, language: str, carmaker: int | None) -> None:
    """Older follow-ups were closed with a note; last week's are still open, late ones escalated."""
    age = now - task.opened_at
    if age > timedelta(days=7):
        task.closed_at = task.opened_at + timedelta(hours=rng.randint(2, 46))
        task.note = NOTES.get(language, NOTES["en"])
    elif age > timedelta(hours=48) and carmaker is not None:
        task.escalated_at, task.escalated_to_id = task.due_at + timedelta(minutes=15), carmaker


FRESH = [(2, "I had to wait three hours and nobody called me back.", 20),
         (5, "The bill was far too expensive.", 6), (0, "The noise is still there, not fixed.", 60)]


def _fresh_detractors(session: Session, rng: Random, now: datetime, dealer_id: int | None,
                      allowed: set[tuple[int, int]], last_asked: dict, languages: dict) -> int:
    """Open follow-ups for the demo's own dealer, answered hours ago: what its staff work on first."""
    if dealer_id is None:
        return 0
    customers = sorted(c for c, d in allowed if d == dealer_id and c not in last_asked)[:len(FRESH)]
    for customer_id, (score, why, hours) in zip(customers, FRESH, strict=False):
        language = languages.get(customer_id) or "en"
        text = why if language == "en" else WORDS.get(language, WORDS["en"])["bad"][FRESH.index((score, why, hours))]
        at = now - timedelta(hours=hours + 3)
        survey = Survey(touchpoint="service_visit", subject_key=f"demo-visit:{customer_id}", customer_id=customer_id,
                        vehicle_id=None, organization_id=dealer_id, responsible="dealer", language=language,
                        token_digest=hashlib.sha256(secrets.token_bytes(24)).hexdigest(), created_at=at,
                        expires_at=at + timedelta(days=30), answered_at=at + timedelta(hours=3))
        session.add(survey)
        session.flush()
        response = Response(survey_id=survey.id, score=score, why=text, language=language,
                            answered_at=survey.answered_at)
        session.add(response)
        session.flush()
        session.add_all(Topic(response_id=response.id, topic=code, source="keyword")
                        for code in topics.tag(text, language))
        session.add(FollowUp(survey_id=survey.id, organization_id=dealer_id, opened_at=survey.answered_at,
                             due_at=survey.answered_at + timedelta(hours=48)))
    session.flush()
    return len(customers)
