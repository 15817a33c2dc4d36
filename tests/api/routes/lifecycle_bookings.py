"""Access-control classes of the owner's service pages (see tests/api/test_access_control.py).

All are the owner's own (SELF); "{number}" names one of customer A's proposals or bookings (see
lifecycle_workshop), so customer B gets a 404 on it.
"""

from __future__ import annotations

from tests.api.acl_rules import SELF, Rule
from tests.api.routes.lifecycle_workshop import booking_of_a, free_slot, proposal_of_a


def _book_form(w) -> dict:
    slot = free_slot(w)
    return {"job": "tyres", "dealer_id": str(w.dealer.id), "slot": f"{slot.bay}|{slot.starts_at.isoformat()}"}


def _move_form(w) -> dict:
    booking_of_a(w)
    slot = free_slot(w)
    return {"slot": f"{slot.bay}|{slot.starts_at.isoformat()}"}


ROUTES: dict = {
    ("GET", "/me/service"): Rule(SELF),
    ("POST", "/me/service/proposals/{number}/accept"): Rule(SELF, params=proposal_of_a,
                                                             form=lambda w: {"slot_index": "0"}, ok=(303,)),
    ("POST", "/me/service/proposals/{number}/decline"): Rule(SELF, params=proposal_of_a, ok=(303,)),
    ("POST", "/me/service/availability"): Rule(SELF, form=lambda w: {"from_0": "08:00", "to_0": "12:00"}, ok=(303,)),
    ("POST", "/me/service/bookings/{number}/cancel"): Rule(SELF, params=booking_of_a, ok=(303,)),
    ("POST", "/me/service/bookings/{number}/move"): Rule(SELF, params=booking_of_a, form=_move_form, ok=(303,)),
    ("POST", "/me/service/automatic-booking"): Rule(SELF, form=lambda w: {"dealer_id": str(w.dealer.id),
                                                                          "allow": "yes"}, ok=(303,)),
    ("GET", "/me/service/book"): Rule(SELF),
    ("POST", "/me/service/book/{vin}"): Rule(SELF, form=_book_form, ok=(303,)),
}
