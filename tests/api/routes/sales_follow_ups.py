"""Access-control classes of the follow-up routes (see tests/api/test_access_control.py).

Adding and ticking off a follow-up names a customer, so both are CUSTOMER_DATA for dealer staff only:
adding reads ``?purpose=`` like the 360 it is made from; ticking one off is under the purpose the
follow-up was written with (sales contact here), by its own dealer. "My follow-ups" is the caller's own
list: dealer staff only.
"""

from __future__ import annotations

from datetime import date, timedelta

from forecourt.sales.models import FollowUp
from tests.api.acl_rules import CUSTOMER_DATA, DEALER, Rule


def _follow_up_of_a(w) -> dict:
    """A follow-up of the dealer about customer A under sales contact (written directly: no grant yet)."""
    if not hasattr(w, "_follow_up"):
        row = FollowUp(organization_id=w.dealer.id, customer_id=w.customer.id, purpose="sales_contact",
                       assigned_user_id=w.rep.user_id, title="Call about the test drive",
                       due_on=date.today() + timedelta(days=2))
        w.session.add(row)
        w.session.commit()
        w._follow_up = row
    return {"follow_up_id": w._follow_up.id}


ROUTES: dict = {
    ("POST", "/workspace/customers/{customer_id}/follow-ups"): Rule(
        CUSTOMER_DATA, purpose="sales_contact", dealers_only=True, ok=(303,),
        form=lambda w: {"title": "Send the lease offer", "due_on": (date.today() + timedelta(days=1)).isoformat()}),
    ("POST", "/workspace/follow-ups/{follow_up_id}/done"): Rule(
        CUSTOMER_DATA, purpose="sales_contact", reads_purpose=False, dealers_only=True, params=_follow_up_of_a,
        form=lambda w: {}, ok=(303,)),
    ("GET", "/workspace/follow-ups"): Rule(DEALER),
}
