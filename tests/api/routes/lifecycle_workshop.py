"""Access-control classes of the workshop JSON routes (see tests/api/test_access_control.py).

The owner's service routes are their own data (SELF). A path naming a proposal or a booking
("{number}") names one of customer A's, made once per test before the suite's snapshot: staff,
anonymous callers and customer B get nothing, A reaches it. A dealer's free times carry no
customer data (DEALER).
"""

from __future__ import annotations

from forecourt.core.clock import now
from forecourt.workshop import proposals
from forecourt.workshop.jobs import get_job
from forecourt.workshop.slots import free_slots
from tests.api.acl_rules import DEALER, SELF, Rule


def proposal_of_a(w) -> dict:
    """An open proposal for customer A's car (the same one for every call of a test)."""
    if not hasattr(w, "_proposal_of_a"):
        w._proposal_of_a = proposals.propose(session=w.session, vehicle_id=w.vehicle.id, job="diagnosis",
                                             reason="Engine misfire (fault code P0301)", cause=f"acl:{w.make.n()}",
                                             dtc_codes=("P0301",))
        w.session.commit()
    return {"number": w._proposal_of_a.id}


def free_slot(w):
    return free_slots(session=w.session, dealer=w.dealer, job=get_job("tyres"), after=now(), limit=1)[0]


def booking_of_a(w) -> dict:
    """A coming booking of customer A's car."""
    if not hasattr(w, "_booking_of_a"):
        slot = free_slot(w)
        w._booking_of_a = proposals.book_for_owner(session=w.session, customer_id=w.customer.id, vin=w.vehicle.vin,
                                                   job="tyres", dealer_id=w.dealer.id, bay=slot.bay,
                                                   starts_at=slot.starts_at)
        w.session.commit()
    return {"number": w._booking_of_a.id}


def _booking_json(w) -> dict:
    slot = free_slot(w)
    return {"job": "tyres", "dealer_id": w.dealer.id, "bay": slot.bay, "starts_at": slot.starts_at.isoformat()}


def _move_json(w) -> dict:
    booking_of_a(w)
    slot = free_slot(w)  # the next free time, now that A's booking holds the first
    return {"bay": slot.bay, "starts_at": slot.starts_at.isoformat()}


ROUTES: dict = {
    ("GET", "/api/me/service"): Rule(SELF),
    ("POST", "/api/me/service/proposals/{number}/accept"): Rule(SELF, params=proposal_of_a,
                                                                 json=lambda w: {"slot_index": 0}),
    ("POST", "/api/me/service/proposals/{number}/decline"): Rule(SELF, params=proposal_of_a),
    ("PUT", "/api/me/service/availability"): Rule(SELF, json=lambda w: {"windows": [
        {"weekday": 0, "from_time": "08:00", "to_time": "12:00"}]}),
    ("POST", "/api/me/service/bookings/{number}/cancel"): Rule(SELF, params=booking_of_a),
    ("POST", "/api/me/service/bookings/{number}/move"): Rule(SELF, params=booking_of_a, json=_move_json),
    # the owner's own standing permission, for a dealer the path names (customer B gives or withdraws theirs)
    ("PUT", "/api/me/service/automatic-booking/{dealer_id}"): Rule(SELF, params=lambda w: {"dealer_id": w.dealer.id}),
    ("DELETE", "/api/me/service/automatic-booking/{dealer_id}"): Rule(SELF,
                                                                      params=lambda w: {"dealer_id": w.dealer.id}),
    ("GET", "/api/me/service/vehicles/{vin}/slots"): Rule(SELF, query=lambda w: {"job": "tyres"}),
    ("POST", "/api/me/service/vehicles/{vin}/bookings"): Rule(SELF, json=_booking_json, ok=(201,)),
    # the dealer's own free times: bays, hours and claims, no customer
    ("GET", "/api/workshop/slots"): Rule(DEALER, query=lambda w: {"job": "inspection", "days": 14}),
}
