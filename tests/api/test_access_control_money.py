"""The access-control suite's class for a dealer's till (``cashier`` in tests/api/acl_rules.py).

Only a cashier of the delivering dealer reaches its till; every other caller — the same dealer's
sales rep and service advisor, another dealer's cashier, the carmaker, partners, customers — gets
the same 404 and changes nothing; anonymous callers must log in.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forecourt.core.auth import Role
from forecourt.payments.models import PaymentEntry
from tests.api.acl_rules import CASHIER
from tests.api.test_access_control import ROUTES, assert_present, keys_of, published, status, w  # noqa: F401
from tests.factories import fast_password_hashing  # noqa: F401  (autouse fixture)


@pytest.mark.parametrize("key", keys_of(CASHIER))
def test_the_till_is_for_the_delivering_dealers_cashiers_only(published, w, key):  # noqa: F811
    assert_present(published, key)
    rule = ROUTES[key]
    number = rule.params(w)["number"]  # the order the path names (or the list shows) exists first
    entries = w.session.scalar(select(func.count(PaymentEntry.id)))
    for caller in (w.rep, w.rep_b, w.analyst, w.agent, w.admin, w.me, w.other_me,
                   w.make.staff(w.dealer, Role.DEALER_SERVICE)):
        response = w.call(key, caller)
        assert status(response) == 404, (caller.email, response.text)
    elsewhere = w.call(key, w.make.staff(w.dealer_b, Role.DEALER_CASHIER))  # another dealer's cashier
    if "{number}" in key[1]:
        assert status(elsewhere) == 404, elsewhere.text
    else:
        assert status(elsewhere) == 200 and number not in elsewhere.text
    assert status(w.call(key, None)) in (401, 303)
    w.session.expire_all()
    assert w.session.scalar(select(func.count(PaymentEntry.id))) == entries, "a refused call moved money"
    cashier = w.make.staff(w.dealer, Role.DEALER_CASHIER)
    response = w.call(key, cashier)
    assert status(response) in rule.ok, response.text
    if key[1].startswith("/till") and key[0] == "POST":
        assert "error=" not in response.headers["location"], response.headers["location"]
    assert w.customer.email not in response.text, "the till shows no buyer"
    if key[0] == "GET":
        assert number in response.text
