"""The dealer's unsold cars a rep can pick for a sale, so a VIN is chosen rather than typed.

Offering is a convenience only: the write (``orders.assign_vehicle``) checks the VIN again, and refuses a
car that is owned, of another trim, promised to another order or another dealer's stock.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.auth import Principal
from forecourt.sales.models import Configuration, Order
from forecourt.sharing import hubs as sharing_fleet
from forecourt.vehicles import service as vehicles_service


def for_order(*, session: Session, principal: Principal, order: Order) -> list:
    """This dealer's unsold cars of the order's trim that no other open order has taken and no sharing hub lends."""
    if principal.organization_id is None or order.dealer_id != principal.organization_id:
        return []
    configuration = session.get(Configuration, order.configuration_id)
    promised = select(Order.vehicle_id).where(Order.vehicle_id.is_not(None), Order.status != "cancelled").union(
        sharing_fleet.shared_vehicle_ids(session=session))  # a car-sharing hub's cars are not for sale
    return vehicles_service.unsold_stock(session=session, dealer_id=principal.organization_id,
                                         trim_id=configuration.trim_id, excluding=promised)
