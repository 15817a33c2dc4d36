"""One coordinated message per occasion and driver: detection, offers the driver allowed, delivery, acceptance."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from forecourt.core.clock import frozen_at, now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.outbox import OutboxMessage
from forecourt.engagement import compose, delivery, occasions, offers, responses
from forecourt.engagement.models import Message, MessageItem, Occasion, Response
from tests.engagement.scene import add_offer, build, offer_in, product_code

NOON_BERLIN = datetime(2026, 12, 7, 11, 0, tzinfo=timezone.utc)


def _detect(session, scene, **kw):
    found = occasions.detect(session=session, today=date.today(), vehicle_ids=[scene.vehicle.id], **kw)
    session.flush()
    return found


def test_occasions_are_detected_once_per_car_owner_kind_and_window(make, session):
    scene = build(make, session)
    first = _detect(session, scene)
    assert first.get("warranty_ends_60") == 1
    assert _detect(session, scene) == {}  # found again: nothing added
    rows = session.scalars(select(Occasion).where(Occasion.vehicle_id == scene.vehicle.id)).all()
    assert {o.kind for o in rows} >= {"warranty_ends_60"}
    assert all(o.customer_id == scene.customer.id and o.arm == "coordinated" for o in rows)


def test_a_control_share_holds_occasions_out_at_random(make, session):
    scene = build(make, session)
    _detect(session, scene, control_share=1.0, rng=random.Random(1))
    kinds = session.scalars(select(Occasion.arm).where(Occasion.vehicle_id == scene.vehicle.id)).all()
    assert kinds and set(kinds) == {"control"}
    assert compose.compose(session=session, today=date.today())["messages"] == 0


def test_one_message_holds_only_the_offers_the_driver_allowed_most_relevant_first(make, session):
    scene = build(make, session)
    carmaker = add_offer(make, session, scene.carmaker, title="Extend your warranty", action="buy_extension",
                         action_code=product_code(session), price=890, currency="EUR", benefit=None, relevance=90)
    dealer = add_offer(make, session, scene.dealer, title="Check-up before it ends", purpose="service_reminders",
                       action="book_service", action_code="inspection", relevance=60)
    add_offer(make, session, scene.insurer, title="Usage-based quote", purpose="driving_behaviour_insurance")
    add_offer(make, session, scene.finance, title="Refinance", purpose="marketing_offers")
    make.grant(scene.customer, scene.carmaker, "marketing_offers")
    make.grant(scene.customer, scene.dealer, "service_reminders")
    # the insurer holds marketing, not driving behaviour: its usage-based quote stays out
    make.grant(scene.customer, scene.insurer, "marketing_offers")
    _detect(session, scene)
    counts = compose.compose(session=session, today=date.today())
    assert counts["messages"] == 1
    message = session.scalars(select(Message).where(Message.customer_id == scene.customer.id)).one()
    items = session.scalars(select(MessageItem).where(MessageItem.message_id == message.id)
                            .order_by(MessageItem.position)).all()
    assert [(i.offer_id, i.position, i.sender_id) for i in items] == [
        (carmaker.id, 1, scene.carmaker.id), (dealer.id, 2, scene.dealer.id)]
    # composing again adds nothing
    assert compose.compose(session=session, today=date.today()) == {"messages": 0, "occasions": 0, "items": 0}


def test_a_close_occasion_joins_the_waiting_message_and_its_offers_are_ranked_with_the_earlier_ones(make, session):
    scene = build(make, session)
    dealer = add_offer(make, session, scene.dealer, title="Check-up before it ends", purpose="service_reminders",
                       relevance=60)
    make.grant(scene.customer, scene.dealer, "service_reminders")
    make.grant(scene.customer, scene.carmaker, "marketing_offers")
    _detect(session, scene)
    compose.compose(session=session, today=date.today())
    message = session.scalars(select(Message).where(Message.customer_id == scene.customer.id)).one()
    # a day later the service falls due, with a more relevant offer for it: one message, reranked
    carmaker = add_offer(make, session, scene.carmaker, title="Service plan", occasion_kinds=["service_due"],
                         relevance=90)
    session.add(Occasion(kind="service_due", vehicle_id=scene.vehicle.id, customer_id=scene.customer.id,
                         window_starts_on=date.today(), window_ends_on=date.today() + timedelta(days=30),
                         market="DE", model_code=scene.vehicle.trim.model.code, car_age_years=3, odometer_km=30_000,
                         legal=False, arm="coordinated", detail="", detected_at=now()))
    session.flush()
    assert compose.compose(session=session, today=date.today())["messages"] == 0
    items = session.execute(select(MessageItem.offer_id, MessageItem.position)
                            .where(MessageItem.message_id == message.id).order_by(MessageItem.position)).all()
    assert [tuple(i) for i in items] == [(carmaker.id, 1), (dealer.id, 2)]


def test_without_any_grant_the_driver_is_never_contacted(make, session):
    scene = build(make, session)
    add_offer(make, session, scene.carmaker)
    _detect(session, scene)
    compose.compose(session=session, today=date.today())
    statuses = session.scalars(select(Message.status).where(Message.customer_id == scene.customer.id)).all()
    assert statuses and set(statuses) == {"empty"}
    with frozen_at(now() + timedelta(days=3)):
        delivery.deliver_due(session=session, at=now())
    assert session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.customer_id == scene.customer.id, OutboxMessage.topic == "engagement")) == 0


def _composed(make, session):
    scene = build(make, session)
    dealer = add_offer(make, session, scene.dealer, title="Check-up", purpose="service_reminders",
                       action="book_service", action_code="inspection", price=149, currency="EUR", benefit=None)
    make.grant(scene.customer, scene.dealer, "service_reminders")
    _detect(session, scene)
    compose.compose(session=session, today=date.today(), hold=timedelta(0))
    message = session.scalars(select(Message).where(Message.customer_id == scene.customer.id,
                                                    Message.status == "waiting")).one()
    return scene, dealer, message


def test_delivery_waits_for_quiet_hours_and_respects_the_cap(make, session):
    scene, _offer, message = _composed(make, session)
    night = datetime.combine(date.today(), datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=1)
    assert delivery.deliver(session=session, message=message, at=night) == "waiting"
    assert message.send_after.hour == 7  # 08:00 in Berlin
    from forecourt.engagement import pressure
    day = night + timedelta(hours=10)
    for _ in range(2):
        pressure.record_contact(session=session, customer_id=scene.customer.id, channel="in_app", at=day,
                                topic="other")
    assert not pressure.allowed(session=session, customer_id=scene.customer.id, channel="in_app", at=day)
    assert pressure.allowed(session=session, customer_id=scene.customer.id, channel="in_app", at=day, legal=True)
    assert delivery.deliver(session=session, message=message, at=day) == "waiting"  # capped: tried tomorrow
    assert message.send_after > day


def test_a_sent_message_lands_in_the_inbox_and_by_email_and_an_offer_is_accepted_in_one_click(make, session):
    scene, offer, message = _composed(make, session)
    day = datetime.combine(date.today(), datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=11)
    assert delivery.deliver(session=session, message=message, at=day) == "sent"
    channels = set(session.scalars(select(OutboxMessage.channel).where(
        OutboxMessage.customer_id == scene.customer.id, OutboxMessage.topic == "engagement")))
    assert channels == {"in_app", "email"}
    inbox = responses.inbox(session=session, customer_id=scene.customer.id)
    assert len(inbox) == 1 and inbox[0]["items"][0]["sender"] == scene.dealer.name
    item_id = inbox[0]["items"][0]["id"]
    with pytest.raises(NotFound):  # someone else's message does not exist for them
        other = make.customer()
        responses.accept(session=session, customer_id=other.id, message_id=message.id, item_id=item_id)
    accepted = responses.accept(session=session, customer_id=scene.customer.id, message_id=message.id,
                                item_id=item_id)
    assert accepted.outcome.startswith("appointment:") and accepted.revenue == 149
    with pytest.raises(Conflict):
        responses.accept(session=session, customer_id=scene.customer.id, message_id=message.id, item_id=item_id)
    kinds = set(session.scalars(select(Response.kind).where(Response.message_id == message.id)))
    assert kinds == {"delivered", "opened", "accepted"}


def test_a_grant_withdrawn_after_composing_takes_its_offer_out(make, session):
    scene, _offer, message = _composed(make, session)
    make.withdraw(scene.customer, scene.dealer, "service_reminders")
    day = datetime.combine(date.today(), datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=11)
    assert delivery.deliver(session=session, message=message, at=day) == "empty"


def test_a_quote_becomes_a_lead_for_the_partner(make, session):
    scene = build(make, session)
    quote = add_offer(make, session, scene.insurer, title="Usage-based quote", purpose="driving_behaviour_insurance")
    make.grant(scene.customer, scene.insurer, "driving_behaviour_insurance")
    _detect(session, scene)
    compose.compose(session=session, today=date.today(), hold=timedelta(0))
    message = session.scalars(select(Message).where(Message.customer_id == scene.customer.id,
                                                    Message.status == "waiting")).one()
    day = datetime.combine(date.today(), datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=11)
    delivery.deliver(session=session, message=message, at=day)
    item = session.scalars(select(MessageItem).where(MessageItem.offer_id == quote.id)).one()
    accepted = responses.accept(session=session, customer_id=scene.customer.id, message_id=message.id,
                                item_id=item.id)
    assert accepted.outcome.startswith("lead:")


@pytest.mark.parametrize("change, field", [
    ({"min_age_years": 6, "max_age_years": 4}, "max_age_years"),
    ({"min_km": 90_000, "max_km": 10_000}, "max_km"),
    ({"models": ["NO-SUCH-MODEL"]}, "models"),
    ({"markets": ["XX"]}, "markets"),
    ({"occasion_kinds": []}, "occasion_kinds"),
    ({"occasion_kinds": ["moon_landing"]}, "occasion_kinds"),
    ({"valid_from": date(2030, 1, 2), "valid_until": date(2030, 1, 1)}, "valid_until"),
    ({"valid_from": date(2020, 1, 1), "valid_until": date(2020, 2, 1)}, "valid_until"),
    ({"price": 10, "currency": None}, "currency"),
    ({"benefit": None, "price": None}, "price"),
    ({"purpose": "safety_recalls"}, "purpose"),
    ({"purpose": "driving_behaviour_insurance"}, "purpose"),  # a dealer is no insurer
    ({"action": "teleport"}, "action"),
    ({"action": "book_service", "action_code": "recall"}, "action_code"),
    ({"action": "buy_extension", "action_code": "NOPE"}, "action_code"),
])
def test_an_impossible_offer_is_refused_with_the_field_named(make, session, change, field):
    dealer = make.dealer()
    principal = make.principal(make.staff(dealer))
    with pytest.raises(Invalid) as refused:
        offers.create(session=session, principal=principal, offer_in=offer_in(**change))
    assert refused.value.field == field


def test_an_organization_sees_and_changes_only_its_own_offers(make, session):
    dealer, other = make.dealer(), make.dealer()
    mine = offers.create(session=session, principal=make.principal(make.staff(dealer)), offer_in=offer_in())
    stranger = make.principal(make.staff(other))
    with pytest.raises(NotFound):
        offers.get_own(session=session, principal=stranger, offer_id=mine.id)
    with pytest.raises(NotFound):
        offers.withdraw(session=session, principal=stranger, offer_id=mine.id)
    assert offers.list_own(session=session, principal=stranger) == []
