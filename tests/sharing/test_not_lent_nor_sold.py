"""A car of a sharing hub is never offered as a courtesy car nor sold from the dealer's stock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Invalid
from forecourt.sharing import hubs
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import loaners
from forecourt.workshop.models import Loaner

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_shared_cars_are_neither_loaner_candidates_nor_free_loaners(make, session):
    with frozen_at(NOON):
        dealer = make.dealer()
        advisor = make.principal(make.staff(dealer, Role.DEALER_SERVICE))
        hub = hubs.create_hub(session=session, dealer_id=dealer.id)
        shared = make.vehicle(selling_dealer_id=dealer.id)
        spare = make.vehicle(selling_dealer_id=dealer.id)
        # a courtesy car that was put into the sharing fleet afterwards
        lent = make.vehicle(selling_dealer_id=dealer.id)
        loaner = Loaner(dealer_id=dealer.id, vehicle_id=lent.id, is_active=True)
        session.add(loaner)
        session.flush()
        hubs.add_car(session=session, hub_id=hub.id, vehicle_id=shared.id)
        hubs.add_car(session=session, hub_id=hub.id, vehicle_id=lent.id)
        vins = {row["vin"] for row in loaners.stock_candidates(session=session, principal=advisor)}
        assert spare.vin in vins and shared.vin not in vins
        with pytest.raises(Invalid, match="car-sharing fleet"):
            loaners.add_to_fleet(session=session, principal=advisor, vin=shared.vin)
        free = loaners.free_loaners(session=session, dealer_id=dealer.id, start=NOON, end=NOON + timedelta(hours=3))
        assert loaner.id not in {row.id for row in free}
        assert hubs.is_shared(session=session, vehicle_id=shared.id)
        assert not hubs.is_shared(session=session, vehicle_id=spare.id)
        stock = vehicles_service.unsold_stock(session=session, dealer_id=dealer.id,
                                              excluding=hubs.shared_vehicle_ids(session=session))
        assert {v.vin for v in stock} == {spare.vin}
