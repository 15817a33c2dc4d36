"""Surveys after touchpoints: each handler is small, runs after its cause committed, and is idempotent
(the survey's ``subject_key`` names the cause, so a redelivered event finds its survey and adds nothing).

A test drive logged as done by a sales rep and a shared car given back (by the minute or after a
day-long test drive at a hub) are both a "sharing or test-drive return".
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.assist.events import CaseClosed
from forecourt.core import events
from forecourt.core.errors import NotFound
from forecourt.engagement.nps import surveys
from forecourt.engagement.nps.policy import Policy
from forecourt.parties import service as parties_service
from forecourt.sales.events import CarDelivered, TestDriveReturned
from forecourt.sharing.events import SharedCarReturned
from forecourt.workshop.events import VisitClosed


def on_visit_closed(event: VisitClosed, *, session: Session, policy: Policy) -> None:
    surveys.invite(session=session, touchpoint="service_visit", subject_key=f"service_record:{event.service_record_id}",
                   customer_id=event.customer_id, vehicle_id=event.vehicle_id, organization_id=event.dealer_id,
                   policy=policy)


def on_car_delivered(event: CarDelivered, *, session: Session, policy: Policy) -> None:
    surveys.invite(session=session, touchpoint="delivery", subject_key=f"order:{event.order_id}",
                   customer_id=event.customer_id, vehicle_id=event.vehicle_id, organization_id=event.dealer_id,
                   policy=policy)


def on_test_drive_returned(event: TestDriveReturned, *, session: Session, policy: Policy) -> None:
    surveys.invite(session=session, touchpoint="sharing_return", subject_key=f"test_drive:{event.activity_id}",
                   customer_id=event.customer_id, vehicle_id=None, organization_id=event.dealer_id, policy=policy)


def on_shared_car_returned(event: SharedCarReturned, *, session: Session, policy: Policy) -> None:
    # The car is the hub's, not the driver's: the survey names no vehicle, as after a test drive.
    surveys.invite(session=session, touchpoint="sharing_return", subject_key=f"sharing:{event.reservation_id}",
                   customer_id=event.customer_id, vehicle_id=None, organization_id=event.dealer_id, policy=policy)


def on_case_closed(event: CaseClosed, *, session: Session, policy: Policy) -> None:
    try:
        carmaker = parties_service.carmaker(session=session)
    except NotFound:
        return
    surveys.invite(session=session, touchpoint="on_call_case", subject_key=f"on_call_case:{event.case_id}",
                   customer_id=event.customer_id, vehicle_id=event.vehicle_id, organization_id=carmaker.id,
                   policy=policy)


def subscribe_handlers(registry: events.Handlers, policy: Policy | None = None) -> None:
    policy = policy or Policy()

    def bound(function):
        def handle(event, *, session: Session) -> None:
            function(event, session=session, policy=policy)
        handle.__name__ = function.__name__
        return handle

    registry.subscribe(VisitClosed, "engagement.nps.visit_closed", bound(on_visit_closed))
    registry.subscribe(CarDelivered, "engagement.nps.car_delivered", bound(on_car_delivered))
    registry.subscribe(CaseClosed, "engagement.nps.case_closed", bound(on_case_closed))
    registry.subscribe(TestDriveReturned, "engagement.nps.test_drive_returned", bound(on_test_drive_returned))
    registry.subscribe(SharedCarReturned, "engagement.nps.shared_car_returned", bound(on_shared_car_returned))
