"""A new car's On Call starts with its sale, in the same transaction as the keys.

``sales`` and ``vehicles`` sit below ``assist`` and cannot start a subscription themselves, so the
routes that sell a car call these instead. Not an after-commit handler: a handler that fails after
the commit would leave a delivered car without the cover it was sold with, and nobody would notice.
Only a car's first sale includes On Call; a used car's buyer renews or takes the phone app plan.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from forecourt.assist import subscriptions
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc
from forecourt.sales import orders, transfers
from forecourt.vehicles import service as vehicles_service

if TYPE_CHECKING:  # annotations only: the objects come from the other domain's service
    from forecourt.sales.models import Order
    from forecourt.vehicles.models import Ownership


def hand_over_order(*, session: Session, principal: Principal, number: str) -> Order:
    """The dealer hands over an online order: the car is the buyer's, with its included On Call."""
    order = orders.hand_over(session=session, principal=principal, number=number)
    _include_if_new(session, order.vehicle_id, order.customer_id, order.handed_over_at)
    return order


def record_sale(*, session: Session, principal: Principal, vehicle_id: int, customer_id: int) -> Ownership:
    """A dealer sells a car from its own stock, now; a car sold new gets its included On Call."""
    ownership = transfers.sell_from_stock(session=session, principal=principal, vehicle_id=vehicle_id,
                                          customer_id=customer_id)
    _include_if_new(session, vehicle_id, customer_id, ownership.started_at)
    return ownership


def _include_if_new(session: Session, vehicle_id: int, customer_id: int, sold_at: datetime) -> None:
    if len(vehicles_service.ownership_history(session=session, vehicle_id=vehicle_id)) != 1:
        return  # a resale: the first owner had the included years
    subscriptions.included_on_sale(session=session, vehicle_id=vehicle_id, customer_id=customer_id,
                                   sold_on=as_utc(sold_at).astimezone(UTC).date())  # the day as today() counts it
