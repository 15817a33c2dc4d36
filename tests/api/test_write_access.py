"""Nobody acts on what isn't theirs: every write route with an id in its path, tried by outsiders.

The routes come from the OpenAPI document (``test_access_control.operations``): every POST, PUT, PATCH
and DELETE whose path names something (``{number}``, ``{vin}``, ``{lead_id}``...), so a new one is tried
without anyone remembering to add it. Each is called, on an object of customer A or of dealer A made
by the route's recipe in ``ROUTES``, by

* principals of other organizations — dealer B's sales rep and service advisor, and an insurer's
  analyst — all holding every consent customer A can give, so that only ownership can refuse them;
* another customer, B.

Each must be refused — 404 for an object they may not see (a device or an e-mailed link that proves
nothing: 401, 403 or 404) — and the database must be exactly as it was, row for row. Then the rightful
caller makes the same call and it works, so the refusals are about the caller, not a broken recipe.

A few paths name something public (a catalogue trim, an organization, a configuration's shareable
code): there a caller acts on their own data, so the check is that nothing of customer A's changes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forecourt.core.db import Base
from forecourt.models import load_all
from tests.api.acl_rules import ADMIN, AGENT, AUTH, CONSENT_PURPOSES, CUSTOMER_DATA, DEALER, PUBLIC, SELF, SERVICE
from tests.api.test_access_control import ROUTES, World, assert_no_leak, operations, status, w  # noqa: F401
from tests.customers.linked import rows_linked_to
from tests.factories import fast_password_hashing  # noqa: F401  (autouse: cheaper argon2id)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

# Paths whose id names something anyone may act on for themself; the reason is the test's documentation.
PUBLIC_IDS = {
    ("POST", "/configure/{trim_code}"): "a trim of the public catalogue: anyone saves their own configuration",
    ("POST", "/configure/{trim_code}/check"): "checking options against the public catalogue stores nothing",
    ("POST", "/c/{code}/order"): "a configuration's code is shared on purpose: the caller orders for themself",
    ("PUT", "/api/me/consents/{organization_id}/{purpose}"): "the caller's own consent to a public organization",
    ("DELETE", "/api/me/consents/{organization_id}/{purpose}"): "the caller's own consent to a public organization",
    ("POST", "/me/privacy/{organization_id}/{purpose}"): "the caller's own consent to a public organization",
    ("PUT", "/api/me/service/automatic-booking/{dealer_id}"): "the caller's own standing permission to a public dealer",
    ("DELETE", "/api/me/service/automatic-booking/{dealer_id}"): "the caller's own standing permission to a public "
                                                                 "dealer",
}

# Routes whose path token is the credential (a signed link sent to one person): outsiders try a forged
# token and must change nothing; whoever holds the real link may use it.
CAPABILITY_LINKS = {
    ("POST", "/unsubscribe/{token}"): "the signed one-click link e-mailed to the customer is the credential",
    ("POST", "/survey/{token}"): "the survey link e-mailed to the driver is the credential",
    ("POST", "/api/surveys/{token}"): "the survey link e-mailed to the driver is the credential",
}

# Routes where a dealer writes its own record about a customer who granted it the route's purpose (a
# follow-up in its own CRM). Dealer B holds every grant here, so its staff may write one: in dealer B's
# name, in that table only (and the customer's access log, which shows the read), nothing of dealer A's.
OWN_RECORDS_UNDER_GRANT = {
    ("POST", "/workspace/customers/{customer_id}/follow-ups"): "sales_follow_ups",
}

# Rows that record a refusal on purpose ("refusals are counted"); everything else must stay as it was.
REFUSAL_RECORDS = {"telematics_rejections", "login_attempts"}


def write_operations(app) -> list[tuple[str, str]]:
    return sorted(key for key in operations(app) if key[0] in UNSAFE and "{" in key[1])


@pytest.fixture(scope="module")
def writes(settings) -> list[tuple[str, str]]:
    from forecourt.web.app import create_app

    return write_operations(create_app(settings))


def test_the_write_routes_come_from_the_app_and_are_all_tried(writes):
    assert len(writes) > 80, "the OpenAPI document lists fewer write routes with an id than expected"
    assert set(PUBLIC_IDS) <= set(writes), "PUBLIC_IDS names a route the app no longer has"
    assert set(writes) <= set(ROUTES), "a write route has no recipe in ROUTES (test_every_route_is_classified)"
    assert set(WRITE_KEYS) == set(writes), "the parametrised list below is not the app's list"


def _all_write_keys() -> list[tuple[str, str]]:
    from forecourt.core.config import get_settings
    from forecourt.web.app import create_app

    # Only the route table is read (no database is touched building the app).
    return write_operations(create_app(get_settings(database_url="sqlite:///:memory:")))


WRITE_KEYS = _all_write_keys()


def snapshot(session) -> dict[str, list[tuple]]:
    """Every row of every table (but the refusal records), as plain sorted tuples."""
    load_all()
    session.expire_all()
    found = {}
    for table in Base.metadata.sorted_tables:
        if table.name in REFUSAL_RECORDS:
            continue
        rows = session.execute(select(table)).all()
        found[table.name] = sorted((tuple(repr(value) for value in row) for row in rows))
    return found


def changes(before: dict, after: dict) -> dict[str, dict]:
    diff = {}
    for name in before:
        gone, added = set(before[name]) - set(after[name]), set(after[name]) - set(before[name])
        if gone or added:
            diff[name] = {"before": sorted(gone)[:3], "after": sorted(added)[:3]}
    return diff


def outsiders(w: World) -> dict[str, object]:
    return {"dealer B's sales rep": w.rep_b, "dealer B's service advisor": w.advisor_b,
            "an insurer's analyst": w.analyst, "customer B": w.other_me}


def refusals(kind: str) -> set[int]:
    # A device or e-mailed link proves itself or nothing: the same answer as for anyone without it
    # (the visitor forms also refuse another browser's form token with 403).
    return {401, 403, 404} if kind == AUTH else {404}


def rightful(w: World, kind: str, rule):
    if kind == SELF:
        return w.me
    if kind == ADMIN:
        return w.admin
    if kind == AGENT:
        return w.agent
    if kind == CUSTOMER_DATA:  # the dealer's staff whose role reads for the purpose (sales or workshop)
        organization, reader = w.reader(rule.purpose)
        w.grant(organization, rule.purpose)
        return reader
    if kind == DEALER:
        return w.rep
    if kind == SERVICE:
        return w.advisor
    return None  # devices, links and public routes: checked in their own tests


def _param(key: tuple[str, str]):
    return pytest.param(key, id=f"{key[0]} {key[1]}")


@pytest.mark.parametrize("key", [_param(k) for k in WRITE_KEYS])
def test_outsiders_cannot_write_and_change_nothing(w, key):
    rule = ROUTES[key]
    # Dealer B and the insurer hold everything customer A can give: only ownership can refuse them.
    for purpose in CONSENT_PURPOSES:
        w.grant(w.dealer_b, purpose)
        w.grant(w.partner, purpose)
    callers = outsiders(w)
    for caller in callers.values():  # their logins happen before the snapshot
        if not key[1].startswith("/api/"):
            w.browser(caller)
    w.me  # noqa: B018 - customer A has a login
    prepared = w.prepare(key)
    tried = prepared
    if key in CAPABILITY_LINKS:
        token = prepared["params"]["token"]
        tried = prepared | {"params": prepared["params"] | {"token": token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")}}
    before = snapshot(w.session)
    a_before = rows_linked_to(w.session, w.customer.id)

    for name, caller in callers.items():
        response = w.call(key, caller, prepared=tried)
        if key in PUBLIC_IDS:
            w.session.expire_all()
            assert rows_linked_to(w.session, w.customer.id) == a_before, f"{name} changed customer A's data"
            continue
        if key in OWN_RECORDS_UNDER_GRANT and caller in (w.rep_b, w.advisor_b) and status(response) in rule.ok:
            after = snapshot(w.session)
            table = OWN_RECORDS_UNDER_GRANT[key]
            assert set(changes(before, after)) <= {table, "access_log"}, f"{name} changed more than its own record"
            owners = {row.organization_id for row in w.session.execute(select(Base.metadata.tables[table]))}
            assert owners <= {w.dealer_b.id}, f"{name} wrote in another organization's name"
            before = after
            continue
        assert status(response) in refusals(rule.kind), (name, status(response), response.text[:300])
        assert_no_leak(w, response)
        changed = changes(before, snapshot(w.session))
        assert not changed, f"{name}'s refused call changed the database: {changed}"

    owner = rightful(w, rule.kind, rule) if key not in PUBLIC_IDS else None
    if key in CAPABILITY_LINKS:
        owner = callers[next(iter(callers))]  # anyone holding the real link
    if owner is not None:
        response = w.call(key, owner, prepared=prepared)
        assert status(response) in rule.ok + (303,), (status(response), response.text[:300])


def test_the_checks_would_catch_a_change(w):
    """The snapshot sees a single changed column, so 'nothing changed' above means something."""
    before = snapshot(w.session)
    w.customer.city = "Anywhere else"
    w.session.commit()
    assert set(changes(before, snapshot(w.session))) == {"customers"}


def test_public_ids_are_few_and_explained():
    assert all(reason.strip() for reason in PUBLIC_IDS.values())
    assert {ROUTES[key].kind for key in PUBLIC_IDS} <= {PUBLIC, SELF}
