"""Occasions opened by events, right after their cause commits, instead of at the next daily run.

A recall campaign that takes in cars, a car that reports its own service due, a car handed over to
its buyer and a finance contract recorded for a car each run detection for the cars they name (of
the kinds they concern). Detection is idempotent per car, owner, kind and window
(``occasions.detect``), so a redelivered event, or the daily job finding the same occasion later,
adds nothing. The daily job stays the safety net for whatever no event announces (a warranty
nearing its end, a birthday) and for an event that was lost.
"""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from forecourt.core import events
from forecourt.core.clock import today
from forecourt.core.errors import NotFound
from forecourt.engagement import kinds, occasions
from forecourt.sales.events import CarDelivered, FinanceContractRecorded
from forecourt.telematics.health import ServiceDue
from forecourt.vehicles import recalls
from forecourt.vehicles.events import RecallMatched

# A campaign taking in more cars than this is left to the daily job (the same day): delivery runs in
# the process that committed, and a request must not wait while a hundred thousand cars are read.
RECALL_AT_ONCE = 1000


class Detection:
    """Runs detection for an event's cars with the control share the daily job uses."""

    def __init__(self, control_share: float = 0.0, rng: random.Random | None = None):
        self.control_share, self.rng = control_share, rng

    def run(self, session: Session, vehicle_ids: list[int], *, only=None, extra=None) -> dict:
        return occasions.detect(session=session, today=today(), control_share=self.control_share, rng=self.rng,
                                vehicle_ids=vehicle_ids, only=only, extra=extra)

    def on_recall_matched(self, event: RecallMatched, *, session: Session) -> None:
        try:
            campaign = recalls.get_campaign(session=session, code=event.code)
        except NotFound:
            return
        owners = recalls.owners_to_notify(session=session, campaign=campaign)["owners"]
        if len(owners) > RECALL_AT_ONCE:
            return
        self.run(session, sorted({vehicle_id for vehicle_id, _vin, _owner in owners}),
                 only=frozenset({kinds.RECALL_OPEN}))

    def on_service_due(self, event: ServiceDue, *, session: Session) -> None:
        day = today()
        self.run(session, [event.vehicle_id], only=frozenset({kinds.SERVICE_DUE}),
                 extra={event.vehicle_id: [occasions.reported_service(today=day, level=event.level)]})

    def on_car_delivered(self, event: CarDelivered, *, session: Session) -> None:
        # A new car opens nothing yet, a used one may (a birthday, a warranty near its end); the
        # anniversary is found by the daily job when its window opens.
        self.run(session, [event.vehicle_id])

    def on_finance_contract_recorded(self, event: FinanceContractRecorded, *, session: Session) -> None:
        self.run(session, [event.vehicle_id], only=frozenset({kinds.FINANCE_ENDS}))


def subscribe_handlers(registry: events.Handlers, control_share: float = 0.0) -> Detection:
    detection = Detection(control_share)
    registry.subscribe(RecallMatched, "engagement.occasions.recall_matched", detection.on_recall_matched)
    registry.subscribe(ServiceDue, "engagement.occasions.service_due", detection.on_service_due)
    registry.subscribe(CarDelivered, "engagement.occasions.car_delivered", detection.on_car_delivered)
    registry.subscribe(FinanceContractRecorded, "engagement.occasions.finance_contract",
                       detection.on_finance_contract_recorded)
    return detection
