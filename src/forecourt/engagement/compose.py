"""Composing one message per occasion and driver, as a few set-based statements however many drivers.

For a slice of pending occasions (ids ``lo``..``hi``):

1. a message for each driver who has no message waiting yet (a driver's occasions close together,
   within the hold-and-merge window, join the message already waiting: one message, not two);
2. each pending occasion is linked to its driver's waiting message;
3. one statement adds, for every live offer, an item to every message whose occasion it is eligible
   for (kind, model, market, age, mileage) **and** whose driver holds an active grant of the offer's
   purpose to the offer's organization (``consent.service.active_grants_select``); an offer without
   a grant is left out and nobody is told;
4. each item is written at its rank by relevance (most relevant first, then the oldest offer);
5. a message with no offer and no legal reason is marked ``empty``: it is never sent.

No Python loop runs per driver: a million drivers are a few statements per slice.
Occasions of the control group get no message. The message is written in the driver's language
and sent on their clock when it is delivered (``delivery``), not here.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, case, exists, func, insert, literal, or_, select, text, union_all, update
from sqlalchemy.orm import Session, aliased

from forecourt.consent import service as consent_service
from forecourt.core.clock import now
from forecourt.core.db import UTCDateTime
from forecourt.engagement.models import ComposeRun, Message, MessageItem, Occasion, Offer

SLICE = 50_000
HOLD = timedelta(days=2)


def _pending(today: date, kind: str | None, lo: int, hi: int):
    conditions = [Occasion.message_id.is_(None), Occasion.arm == "coordinated", Occasion.customer_id.is_not(None),
                  Occasion.window_starts_on <= today, Occasion.window_ends_on >= today,
                  Occasion.id >= lo, Occasion.id <= hi]
    if kind is not None:
        conditions.append(Occasion.kind == kind)
    return conditions


def live_offers(*, session: Session, today: date) -> list[Offer]:
    return list(session.scalars(select(Offer).where(Offer.withdrawn_at.is_(None), Offer.valid_from <= today,
                                                    Offer.valid_until >= today).order_by(Offer.id)))


def _eligible(offer: Offer) -> list:
    rule = [Occasion.kind.in_(offer.occasion_kinds)]
    if offer.models:
        rule.append(Occasion.model_code.in_(offer.models))
    if offer.markets:
        rule.append(Occasion.market.in_(offer.markets))
    if offer.min_age_years is not None:
        rule.append(Occasion.car_age_years >= offer.min_age_years)
    if offer.max_age_years is not None:
        rule.append(Occasion.car_age_years <= offer.max_age_years)
    if offer.min_km is not None:
        rule.append(Occasion.odometer_km >= offer.min_km)
    if offer.max_km is not None:
        rule.append(Occasion.odometer_km <= offer.max_km)
    return rule


def compose_slice(*, session: Session, today: date, lo: int, hi: int, kind: str | None = None,
                  hold: timedelta = HOLD, offers: list[Offer] | None = None) -> dict:
    """Composes the pending occasions with ids in ``lo..hi``. Returns the counts."""
    moment = now()
    offers = live_offers(session=session, today=today) if offers is None else offers
    pending = _pending(today, kind, lo, hi)
    waiting = aliased(Message)
    # 1. a message per driver without one waiting: it names the driver's first pending occasion
    leads = (select(func.min(Occasion.id).label("occasion_id"), Occasion.customer_id)
             .where(*pending, ~exists().where(waiting.customer_id == Occasion.customer_id,
                                             waiting.status == "waiting"))
             .group_by(Occasion.customer_id)).subquery()
    session.execute(insert(Message).from_select(
        ["occasion_id", "customer_id", "legal", "status", "send_after", "composed_at", "channels"],
        select(leads.c.occasion_id, leads.c.customer_id, literal(False), literal("waiting"),
               literal(moment + hold, UTCDateTime()), literal(moment, UTCDateTime()), literal(""))))
    # (counted, not read from rowcount: a driver may say -1 for INSERT ... SELECT)
    created = session.scalar(select(func.count(Message.id)).where(Message.composed_at == moment)) or 0
    _fresh_statistics(session, "engagement_messages")
    # 2. every pending occasion joins its driver's waiting message (merging close occasions): one hash join
    # (only the slice's drivers: every waiting message of the network would be read again per slice)
    drivers = select(Occasion.customer_id).where(*pending)
    newest = (select(Message.customer_id, func.max(Message.id).label("message_id"))
              .where(Message.status == "waiting", Message.customer_id.in_(drivers))
              .group_by(Message.customer_id).subquery())
    linked = session.execute(update(Occasion).where(*pending, Occasion.customer_id == newest.c.customer_id)
                             .values(message_id=newest.c.message_id)
                             .execution_options(synchronize_session=False)).rowcount
    _fresh_statistics(session, "engagement_occasions")
    in_slice = [Occasion.id >= lo, Occasion.id <= hi, Occasion.message_id.is_not(None)]
    # a legal occasion makes its message legal, and it goes at once (no hold)
    session.execute(update(Message).where(Message.status == "waiting", exists().where(
        Occasion.message_id == Message.id, Occasion.legal.is_(True), *in_slice[:2]))
        .values(legal=True, send_after=case((Message.send_after < moment, Message.send_after),
                                          else_=literal(moment, UTCDateTime())))
        .execution_options(synchronize_session=False))
    # 3-4. the offers each driver allowed, ranked, in one statement for all offers
    items = _add_items(session, offers, in_slice, lo, hi)
    # 5. nothing to say: never sent
    session.execute(update(Message).where(Message.id.in_(select(Occasion.message_id).where(*in_slice)),
                                          Message.status == "waiting", Message.legal.is_(False),
                                          ~exists().where(MessageItem.message_id == Message.id))
                    .values(status="empty").execution_options(synchronize_session=False))
    return {"messages": created, "occasions": linked, "items": items}


def _fresh_statistics(session: Session, table: str) -> None:
    """PostgreSQL plans the next statements by the table's statistics; a table that just grew from
    nothing to a slice of rows would be planned as empty (a scan per row: quadratic). SQLite plans
    by its indexes and needs nothing."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {table}"))


def _add_items(session: Session, offers: list[Offer], in_slice: list, lo: int, hi: int) -> int:
    """Adds to each waiting message of the slice every live offer its occasions are eligible for and
    its driver granted, at its rank (most relevant first, then the older offer): one ``INSERT ...
    SELECT`` over a ``UNION ALL`` of the offers, so each row is written once with its final position
    (ranking afterwards rewrote every row). Returns how many items were added."""
    if not offers:
        return 0
    candidates = []
    for offer in offers:
        grants = consent_service.active_grants_select(session=session, purpose_codes=[offer.purpose],
                                                      organization_ids=[offer.organization_id]).subquery()
        candidates.append(
            select(Occasion.message_id.label("message_id"), func.min(Occasion.id).label("occasion_id"),
                   literal(offer.id).label("offer_id"), literal(offer.organization_id).label("sender_id"),
                   literal(offer.relevance).label("relevance"))
            .join(grants, grants.c.customer_id == Occasion.customer_id)
            .join(Message, and_(Message.id == Occasion.message_id, Message.status == "waiting"))
            .where(*in_slice, *_eligible(offer),
                   ~exists().where(MessageItem.message_id == Occasion.message_id, MessageItem.offer_id == offer.id))
            .group_by(Occasion.message_id))
    chosen = union_all(*candidates).subquery()
    ranked = select(chosen.c.message_id, chosen.c.offer_id, chosen.c.occasion_id, chosen.c.sender_id,
                    func.row_number().over(partition_by=chosen.c.message_id,
                                           order_by=(chosen.c.relevance.desc(), chosen.c.offer_id)))
    before = session.scalar(select(func.max(MessageItem.id))) or 0
    session.execute(insert(MessageItem).from_select(
        ["message_id", "offer_id", "occasion_id", "sender_id", "position"], ranked))
    _fresh_statistics(session, "engagement_message_items")
    added = session.scalar(select(func.count(MessageItem.id)).where(MessageItem.id > before)) or 0
    _rank_merged(session, before)
    return added


def _rank_merged(session: Session, before: int) -> None:
    """A message that already had offers (a close occasion merged into it) is ranked again as a whole:
    the new items were numbered among themselves only. One window function over those messages."""
    earlier = aliased(MessageItem)
    merged = (select(MessageItem.message_id).where(MessageItem.id > before, exists().where(
        earlier.message_id == MessageItem.message_id, earlier.id <= before)).distinct())
    ranked = (select(MessageItem.id, func.row_number().over(
        partition_by=MessageItem.message_id, order_by=(Offer.relevance.desc(), MessageItem.offer_id)).label("rank"))
        .join(Offer, Offer.id == MessageItem.offer_id)
        .where(MessageItem.message_id.in_(merged))
        .subquery())
    session.execute(update(MessageItem).where(MessageItem.id == ranked.c.id, MessageItem.position != ranked.c.rank)
                    .values(position=ranked.c.rank).execution_options(synchronize_session=False))


def bounds(*, session: Session, today: date, kind: str | None = None) -> tuple[int, int, int]:
    """(lowest id, highest id, count) of the pending occasions."""
    lo, hi, count = session.execute(select(func.min(Occasion.id), func.max(Occasion.id), func.count(Occasion.id))
                                    .where(*_pending(today, kind, 0, 2**31 - 1))).one()
    return lo or 0, hi or -1, count or 0


def compose(*, session: Session, today: date, kind: str | None = None, hold: timedelta = HOLD,
            slice_size: int = SLICE) -> dict:
    """Everything pending at once, in one transaction (the scheduled job; small networks)."""
    lo, hi, _count = bounds(session=session, today=today, kind=kind)
    totals = {"messages": 0, "occasions": 0, "items": 0}
    offers = live_offers(session=session, today=today)
    for start in range(lo, hi + 1, slice_size):
        found = compose_slice(session=session, today=today, lo=start, hi=min(hi, start + slice_size - 1), kind=kind,
                              hold=hold, offers=offers)
        totals = {k: totals[k] + found[k] for k in totals}
    return totals


# --- a composition as a background job with progress ---------------------------------------------

def start_run(*, session: Session, kind: str) -> ComposeRun:
    run = ComposeRun(kind=kind, status="queued")
    session.add(run)
    session.flush()
    return run


def get_run(*, session: Session, run_id: int) -> ComposeRun:
    from forecourt.core.errors import NotFound

    run = session.get(ComposeRun, run_id)
    if run is None:
        raise NotFound("Composition not found")
    return run


def runs(*, session: Session, limit: int = 20) -> list[ComposeRun]:
    return list(session.scalars(select(ComposeRun).order_by(ComposeRun.id.desc()).limit(limit)))


def queued_runs(*, session: Session) -> list[int]:
    return list(session.scalars(select(ComposeRun.id).where(ComposeRun.status == "queued").order_by(ComposeRun.id)))


def run_in_slices(sessions, *, run_id: int, today: date, hold: timedelta = HOLD, slice_size: int = SLICE,
                  on_progress=lambda done, total: None) -> ComposeRun:
    """Composes a run's occasions one slice per transaction, recording progress after each, so a page
    shows how far it is and a crash keeps what was done (a slice run again adds nothing twice)."""
    from forecourt.core.db import transaction

    with transaction(sessions, write=True) as session:
        run = get_run(session=session, run_id=run_id)
        kind = None if run.kind == "all" else run.kind
        lo, hi, count = bounds(session=session, today=today, kind=kind)
        run.status, run.started_at, run.total, run.done = "running", now(), count, 0
    done = messages = 0
    for start in range(lo, hi + 1, slice_size):
        end = min(hi, start + slice_size - 1)
        with transaction(sessions, write=True) as session:
            found = compose_slice(session=session, today=today, lo=start, hi=end, kind=kind, hold=hold)
            done += found["occasions"]
            messages += found["messages"]
            run = get_run(session=session, run_id=run_id)
            run.done, run.messages = done, messages
        on_progress(done, count)
    with transaction(sessions, write=True) as session:
        run = get_run(session=session, run_id=run_id)
        run.status, run.finished_at = "done", now()
        session.flush()
        session.expunge(run)
    return run
