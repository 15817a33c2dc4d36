"""Access-control classes of the messages routes (see tests/api/test_access_control.py).

The inbox is the customer's own (SELF). A path naming a message ("{number}") names one of customer A's
messages: staff, anonymous callers and customer B get nothing, A marks it read.
"""

from __future__ import annotations

from forecourt.core import outbox
from tests.api.acl_rules import SELF, Rule


def _message_of_a(w) -> dict:
    if not hasattr(w, "_message_of_a"):
        w._message_of_a = outbox.enqueue(session=w.session, customer_id=w.customer.id, channel="in_app",
                                         topic="recall", subject="Safety recall for your car", body="Book it.",
                                         basis="legal_obligation", dedupe_key=f"acl:message:{w.make.n()}",
                                         link=f"/me/vehicles/{w.vehicle.vin}")
        w.session.commit()
    return {"number": w._message_of_a.id}


ROUTES: dict = {
    ("GET", "/api/me/messages"): Rule(SELF),
    ("POST", "/api/me/messages/{number}/read"): Rule(SELF, params=_message_of_a),
    ("GET", "/me/messages"): Rule(SELF),
    ("POST", "/me/messages/{number}/read"): Rule(SELF, params=_message_of_a, ok=(303,)),
}
