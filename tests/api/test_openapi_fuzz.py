"""A bounded property-based run of the whole OpenAPI document (schemathesis).

Every operation the app publishes is called with requests generated from its own schema — valid ones
and invalid ones — by the callers it is for (the demo personas, classified by the access-control
suite's table; an unclassified operation by everyone), a fixed number of examples each, against a
demo network in a database of its own. No request may be answered with a server error, and every
answer must have a status code and a media type the document declares for that operation.

Generation is derandomized and unshrunk, so a run is repeatable and its length is bounded:
``EXAMPLES`` valid and ``EXAMPLES`` invalid requests per operation, each by one of its callers. Path
parameters are sometimes swapped for identifiers that exist (a car of the driver, a lead of the
dealer...), so the run gets past the 404s into the code behind them.
"""

from __future__ import annotations

import io
import os
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rich.console import Console
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance
from sqlalchemy import select, text

from forecourt.core.config import get_settings
from forecourt.customers.models import Customer
from forecourt.demo.network import build_demo_network, demo_logins
from forecourt.parties import service as parties_service
from forecourt.parties.models import User
from tests.api.acl_rules import ADMIN, AGENT, AUTH, CUSTOMER_DATA, CUSTOMER_LIST, DEALER, PUBLIC, SELF, SERVICE

EXAMPLES = int(os.environ.get("FORECOURT_FUZZ_EXAMPLES", 8))  # per operation and mode (valid, invalid)
ANONYMOUS = "anonymous"
PERSONAS = {"admin": "carmaker admin", "agent": "call-centre agent", "sales": "dealer sales",
            "service": "dealer service", "insurer": "insurance analyst", "driver": "customer"}
# The access-control suite's classes of route, and who each is for.
CALLERS = {SELF: ("driver",), ADMIN: ("admin",), AGENT: ("agent",), DEALER: ("sales", "service"),
           CUSTOMER_DATA: ("sales", "service", "insurer", "agent"), CUSTOMER_LIST: ("sales", "insurer"),
           PUBLIC: (ANONYMOUS, "driver"), AUTH: (ANONYMOUS, "driver"), "sales_figures": ("sales", "admin"),
           "nps_figures": ("sales", "service", "agent", "admin"),
           # A partner's own offers: a dealer's staff, the insurer's and the carmaker's each reach their own.
           "steward": ("sales", "service", "insurer", "admin"),
           # No demo persona is a finance partner's analyst: others try its contracts (and get 404).
           "lender": ("insurer", "sales", "driver"),
           # No demo persona is a tow company's staff or a till's cashier: strangers try those routes.
           "provider": (ANONYMOUS, "agent"), "cashier": ("sales", "admin"),
           # A courtesy car's hand-over and return: its dealer's service staff, and a salesperson refused.
           SERVICE: ("service", "sales"),
           # A photo of a shared car: its driver, the hub's service staff and the carmaker.
           "sharing_photo": ("driver", "service", "admin")}
# Erasing the caller or ending their login goes last, by a customer the rest of the run does not need.
LAST = ("erase", "logout")
# Identifiers that exist, by path parameter name: (SQL, for the values).
KNOWN = {
    "vin": "SELECT vin FROM vehicles ORDER BY id LIMIT 12",
    "customer_id": "SELECT id FROM customers ORDER BY id LIMIT 12",
    "organization_id": "SELECT id FROM organizations ORDER BY id LIMIT 8",
    "user_id": "SELECT id FROM users ORDER BY id DESC LIMIT 6",
    "lead_id": "SELECT id FROM sales_leads ORDER BY id DESC LIMIT 12",
    "opportunity_id": "SELECT id FROM sales_opportunities ORDER BY id DESC LIMIT 12",
    "appointment_id": "SELECT id FROM workshop_appointments ORDER BY id DESC LIMIT 12",
    "loaner_id": "SELECT id FROM workshop_loaners ORDER BY id LIMIT 6",
    "booking_id": "SELECT id FROM workshop_loaner_bookings ORDER BY id DESC LIMIT 6",
    "dispatch_id": "SELECT id FROM assist_dispatches ORDER BY id DESC LIMIT 6",
    "code": "SELECT code FROM sales_configurations ORDER BY id DESC LIMIT 6",
    "trim_code": "SELECT code FROM trims ORDER BY id LIMIT 6",
    "model_code": "SELECT code FROM vehicle_models ORDER BY id LIMIT 4",
    "purpose": "SELECT code FROM purposes ORDER BY code",
    "number": "SELECT number FROM assist_cases UNION SELECT number FROM sales_orders "
              "UNION SELECT CAST(id AS VARCHAR(20)) FROM workshop_proposals",
    "version": "SELECT DISTINCT version FROM sales_quotes",
}


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


@dataclass
class Demo:
    app: object
    schema: schemathesis.BaseSchema
    known: dict[str, list]

    def session(self):
        return self.app.state.sessionmaker()


@pytest.fixture(scope="module")
def demo(fresh_database_url) -> Iterator[Demo]:
    from forecourt.web.app import create_app

    settings = get_settings(database_url=fresh_database_url("openapi"))
    build_demo_network(settings=settings, customers=40, dealers=3, seed=7, console=_quiet())
    app = create_app(settings)
    with app.state.sessionmaker() as session:
        known = {name: [row[0] for row in session.execute(text(sql))] for name, sql in KNOWN.items()}
    yield Demo(app=app, schema=schemathesis.openapi.from_asgi("/openapi.json", app),
               known={name: values for name, values in known.items() if values})
    app.state.sessionmaker.kw["bind"].dispose()


def headers_for(demo: Demo, callers: tuple[str, ...], *, spare_customer: bool) -> dict[str, dict[str, str]]:
    """A fresh bearer token per caller, with the account (and its organization) active again: an
    earlier operation may have deactivated it, logged it out or changed its password."""
    emails = {login.role: login.email for login in demo_logins()}
    found = {}
    with demo.session() as session, session.begin():
        for caller in callers:
            if caller == ANONYMOUS:
                found[caller] = {}
                continue
            if caller == "driver" and spare_customer:  # another customer each time: erasure is for good
                user = session.scalar(select(User).join(Customer, Customer.id == User.customer_id).where(
                    User.email != emails[PERSONAS["driver"]], Customer.erased_at.is_(None)).order_by(User.id))
            else:
                user = session.scalar(select(User).where(User.email == emails[PERSONAS[caller]]))
            if user is None:  # erased by an earlier operation: nobody left to log in as
                continue
            user.is_active = True
            if user.organization is not None:
                user.organization.is_active = True
            token, _ = parties_service.issue_token(session=session, user=user, kind="api",
                                                   lifetime=timedelta(hours=1))
            found[caller] = {"Authorization": f"Bearer {token}"}
    return found


def callers_of(method: str, path: str) -> tuple[str, ...]:
    from tests.api.test_access_control import ROUTES

    rule = ROUTES.get((method, path))
    if rule is None:
        return (ANONYMOUS, *PERSONAS)
    if rule.kind == CUSTOMER_DATA and rule.dealers_only:
        return ("sales", "service")
    return CALLERS[rule.kind]


def published_operations() -> list[tuple[str, str]]:
    """Read when the tests are collected, from an app that never connects (nothing here touches a database)."""
    from forecourt.web.app import create_app

    document = create_app(get_settings(database_url="sqlite://")).openapi()
    found = [(method.upper(), path) for path, item in document["paths"].items() for method in item]
    return sorted(found, key=lambda op: any(word in op[1] for word in LAST))


@dataclass
class Finding:
    caller: str
    mode: str
    request: str
    answer: str

    def __str__(self) -> str:
        return f"[{self.caller}, {self.mode}] {self.request}\n    -> {self.answer}"


def is_stream(operation) -> bool:
    """An event stream never ends by itself: the run listens to it for a moment only."""
    responses = operation.definition.raw.get("responses", {})
    return any("text/event-stream" in (answer.get("content") or {}) for answer in responses.values())


def exercise(operation, mode: GenerationMode, callers: dict[str, dict], known: dict) -> list[Finding]:
    """``EXAMPLES`` requests, each by one of the callers (drawn with the rest of the example)."""
    errors: list[Finding] = []
    timeout = 0.3 if is_stream(operation) else 60

    @hypothesis_settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case, data):
        caller = data.draw(st.sampled_from(sorted(callers)))
        for name in list(case.path_parameters or {}):
            if name in known and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(known[name]))
        request = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"[:600]
        try:
            response = case.call(headers=callers[caller], timeout=timeout)
        except Exception as error:  # the in-process transport re-raises what the app did not handle
            errors.append(Finding(caller, mode.value, request,
                                      "".join(traceback.format_exception_only(error)).strip()[:800]))
            return
        if response.status_code >= 500:
            errors.append(Finding(caller, mode.value, request, f"{response.status_code} {response.text[:300]}"))
            return
        try:  # the answer is one the document declares, in the media type it declares
            case.validate_response(response, checks=[status_code_conformance, content_type_conformance])
        except FailureGroup as failure:
            errors.append(Finding(caller, mode.value, request, "undeclared: " + " ".join(
                str(failure).split())[:300]))

    try:
        run()
    except Unsatisfiable:  # nothing invalid can be made for an operation without parameters or body
        pass
    return errors


@pytest.mark.parametrize(("method", "path"), published_operations(), ids=lambda value: value)
def test_every_generated_request_gets_a_declared_answer(demo, method, path):
    operation = demo.schema[path][method]
    callers = callers_of(method, path)
    tokens = headers_for(demo, callers, spare_customer=any(word in path for word in LAST))
    assert tokens, f"none of {callers} can log in any more"
    errors = [error for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
              for error in exercise(operation, mode, tokens, demo.known)]
    assert not errors, f"{len(errors)} wrong answer(s) for {method} {path}:\n" + "\n".join(map(str, errors[:8]))
