"""The classes of the access-control suite and the ``Rule`` that says how to call one operation.

Kept apart from the suite so each area of the site can list its routes in ``tests/api/routes/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from forecourt.consent.catalogue import PURPOSES, ROLE_PURPOSES

if TYPE_CHECKING:
    from tests.api.test_access_control import World

CUSTOMER_DATA, CUSTOMER_LIST, SELF, ADMIN, DEALER, PUBLIC, AUTH = (
    "customer_data", "customer_list", "self", "admin", "dealer", "public", "auth")
# Figures for a dealer's sales reps (their own dealer) and the carmaker's administrators (the network);
# checked by tests/sales/test_pipeline_access.py.
SALES_FIGURES = "sales_figures"
# On Call: the carmaker's call-centre agents only (everybody else 404); customer data inside is read
# under emergency assistance with the case number, checked by tests/assist/.
AGENT = "agent"
# A tow or emergency provider answering a dispatch made to it: its own staff (token) only, everybody else 404.
PROVIDER = "provider"
# A dealer's till: only the cashiers of the order's delivering dealer (everybody else 404); it shows no
# buyer, so no consent is involved. Checked by tests/api/test_access_control_money.py.
CASHIER = "cashier"
# A dealer's courtesy cars going out and coming back: only the loaner's own dealer's service staff (a
# salesperson of the same dealer, another dealer's advisor and everybody else get 404).
SERVICE = "service"
# NPS figures and follow-up lists: a dealer's sales and service staff (their own dealer), the call centre (its
# own surveys) and the carmaker's administrators (the network); checked by tests/engagement/test_nps_web.py.
NPS_FIGURES = "nps_figures"
# A partner's own offers (engagement): staff of any organization reach their own organization's offers; another
# organization's offer is 404, customers get 404 and anonymous callers 401.
STEWARD = "steward"
# A finance partner's own loans and leases: its analysts only, for owners who granted it its purpose; every
# other caller (another partner, a dealer, the carmaker, a customer) gets 404 and anonymous callers 401.
LENDER = "lender"
# A photo of a shared car: the driver of its booking, the hub dealer's service staff and the carmaker's
# administrators; everybody else 404. Checked by tests/sharing/test_photos.py.
SHARING_PHOTO = "sharing_photo"
KINDS = {LENDER, SHARING_PHOTO, NPS_FIGURES, STEWARD, CUSTOMER_DATA, CUSTOMER_LIST, SELF, ADMIN, DEALER, PUBLIC, AUTH, SALES_FIGURES, AGENT, PROVIDER, CASHIER,
         SERVICE}
# The consent purposes somebody reads data for. A standing instruction such as automatic booking is a
# consent too, but no role reads under it, so it opens no door and is checked by its own tests.
CONSENT_PURPOSES = [p["code"] for p in PURPOSES if p["legal_basis"] == "consent"
                    and any(purpose == p["code"] for _role, _kind, purpose, _why in ROLE_PURPOSES)]
OTHER_BASIS_PURPOSES = [p["code"] for p in PURPOSES if p["legal_basis"] != "consent"]


@dataclass(frozen=True)
class Rule:
    """How to call one operation and what each kind of caller must get."""

    kind: str
    # customer_data / customer_list: a consent purpose whose data categories cover what the route returns.
    purpose: str | None = None
    # customer_data: a consent purpose that does NOT cover the route's data category (granted alone: 404).
    not_covering: str | None = None
    # The route reads ``?purpose=`` (otherwise its purpose is fixed by the route itself).
    reads_purpose: bool = True
    # Only dealer staff may call it, even with a grant.
    dealers_only: bool = False
    # Path values beyond the defaults (customer_id, vin, organization_id, purpose, user_id).
    params: Callable[[World], dict] | None = None
    query: Callable[[World], dict] | None = None
    json: Callable[[World], dict] | None = None
    form: Callable[[World], dict] | None = None
    # Files sent with the form or as a multipart body: [(field, (name, bytes, type)), ...].
    files: Callable[[World], list] | None = None
    ok: tuple[int, ...] = (200,)
    # public / auth: what an anonymous caller gets.
    anonymous: tuple[int, ...] = (200,)
