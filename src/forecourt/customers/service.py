"""Customers: profile, preferences, and opening one customer through the consent door (the customer 360
that composes the other domains is ``privacy.customer360``)."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.consent.catalogue import CONTACT, PREFERENCES, SERVICE_HISTORY, VEHICLES
from forecourt.core import i18n, zones
from forecourt.core.auth import Principal, Role
from forecourt.core.errors import Conflict, NotFound
from forecourt.core.i18n import _
from forecourt.customers.models import Customer, Preferences
from forecourt.parties import markets
from forecourt.parties import service as parties_service

PROFILE_FIELDS = ("first_name", "last_name", "phone", "street", "postcode", "city", "country",
                  "birth_date", "language", "market", "time_zone")


def get(*, session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.erased_at is not None:
        raise NotFound("Customer not found")
    return customer


def find_by_email(*, session: Session, email: str) -> Customer | None:
    """The living customer with this address (compared without case), if any."""
    return session.scalars(select(Customer).where(func.lower(Customer.email) == email.strip().lower(),
                                                  Customer.erased_at.is_(None))).first()


def with_last_name_and_phone(*, session: Session, last_name: str) -> list[Customer]:
    """Living customers with this last name (compared without case) and a phone number, oldest first: the
    candidates a lead form's phone number is matched against (``sales.intake``)."""
    return list(session.scalars(select(Customer).where(func.lower(Customer.last_name) == last_name.lower(),
                                                       Customer.phone.is_not(None),
                                                       Customer.erased_at.is_(None)).order_by(Customer.id)))


def get_or_none(*, session: Session, customer_id: int) -> Customer | None:
    customer = session.get(Customer, customer_id)
    return customer if customer is not None and customer.erased_at is None else None


def _email_in_use(session: Session, email: str, *, except_customer: int | None = None) -> bool:
    query = select(Customer.id).where(func.lower(Customer.email) == email.lower())
    if except_customer is not None:
        query = query.where(Customer.id != except_customer)
    return (session.scalars(query).first() is not None
            or (except_customer is None and parties_service.email_taken(session=session, email=email)))


def _place(session: Session, profile: dict, *, current: Customer | None = None) -> dict:
    """The market a profile belongs to, its time zone, phone (E.164) and postcode, checked in words.

    Without a market named, a new customer belongs to their country's market (else the default);
    a phone typed without a country code is read in the market's region."""
    profile = {k: v for k, v in profile.items() if k in PROFILE_FIELDS}
    code = profile.get("market") or (current.market if current else None)
    if profile.get("market"):
        market = markets.get_market(session=session, code=code)
    else:
        market = markets.market_for_country(session=session, country=code or profile.get("country")
                                            or (current.country if current else None))
    if current is None or profile.get("market") or current.market is None:
        profile["market"] = market.code
    if profile.get("language") is not None:
        profile["language"] = i18n.check_language(profile["language"])
    if profile.get("time_zone"):
        profile["time_zone"] = zones.check_zone(profile["time_zone"])
    elif "time_zone" in profile:
        profile["time_zone"] = None  # back to the market's clock
    return markets.check_contact(market=market, values=profile)


def zone_of(customer: Customer):
    """The customer's own clock, else their market's (a wrong stored name falls back with a warning)."""
    return zones.zone_or(customer.time_zone, markets.zone_of_market(customer.market or customer.country),
                         whose=f"Customer {customer.id}'s")


def create(*, session: Session, email: str, profile: dict) -> Customer:
    email = email.strip().lower()
    if _email_in_use(session, email):
        raise Conflict(_("A customer with this e-mail already exists."), field="email")
    customer = Customer(email=email, **_place(session, profile))
    session.add(customer)
    session.flush()
    session.add(Preferences(customer_id=customer.id))
    session.flush()
    return customer


def sign_up(*, session: Session, email: str, password: str, profile: dict) -> Customer:
    """The customer record and a login in one step, for callers who already know the address is the
    person's (the demo network, tests). A sign-up form goes through ``email_links.request_account``:
    the password is set only through the link sent to the address."""
    customer = create(session=session, email=email, profile=profile)
    parties_service.create_user(session=session, email=email, password=password,
                                display_name=customer.full_name or email, role=Role.CUSTOMER,
                                customer_id=customer.id)
    return customer


def update_profile(*, session: Session, customer_id: int, changes: dict) -> Customer:
    customer = get(session=session, customer_id=customer_id)
    for key, value in _place(session, changes, current=customer).items():
        if key in changes or key == "market":
            setattr(customer, key, value)
    session.flush()
    return customer


def get_preferences(*, session: Session, customer_id: int) -> Preferences:
    preferences = session.get(Preferences, customer_id)
    if preferences is None:
        preferences = Preferences(customer_id=customer_id, radio_presets=[], navigation_favourites=[],
                                  seat_position={})
        session.add(preferences)
        session.flush()
    return preferences


def set_language(*, session: Session, customer_id: int, language: str) -> Customer:
    """The language the customer reads pages and e-mails in (the language switch saves it here)."""
    customer = get(session=session, customer_id=customer_id)
    customer.language = i18n.check_language(language)
    session.flush()
    return customer


def update_preferences(*, session: Session, customer_id: int, changes: dict) -> Preferences:
    preferences = get_preferences(session=session, customer_id=customer_id)
    for key, value in changes.items():
        setattr(preferences, key, value)
    session.flush()
    return preferences


# --- reads by staff, through the consent door ----------------------------------------------------

def default_purpose(principal: Principal, *, partner_kind: str | None = None) -> str:
    """The purpose a role usually reads for; callers may state another of their role's purposes
    (``consent.service.purposes_of_role``)."""
    if principal.role is Role.DEALER_SERVICE:
        return "service_reminders"
    if principal.role is Role.PARTNER_ANALYST:
        return {"insurance": "driving_behaviour_insurance", "roadside": "location_services"}.get(
            partner_kind or "", "marketing_offers")
    if principal.role is Role.CALL_CENTRE_AGENT:
        return "emergency_assistance"
    if principal.role is Role.CARMAKER_ADMIN:
        return "marketing_offers"
    return "sales_contact"


def stated_purpose(*, session: Session, principal: Principal, purpose: str | None) -> str:
    """The purpose the caller reads for: stated in the request, or the usual one for their role."""
    if purpose:
        return purpose
    partner_kind = None
    if principal.organization_id is not None and principal.role is Role.PARTNER_ANALYST:
        # Only a partner's default depends on its kind; skipping the lookup saves a query per read.
        partner_kind = parties_service.get_organization(session=session,
                                                        organization_id=principal.organization_id).partner_kind
    return default_purpose(principal, partner_kind=partner_kind)


def list_visible(*, session: Session, principal: Principal, purpose: str, q: str | None = None,
                 limit: int = 50, offset: int = 0) -> tuple[list[Customer], int]:
    """Only customers who granted this principal's organization the purpose exist in the list."""
    purpose_row = consent_service.get_purpose(session=session, code=purpose)
    if not purpose_row.needs_consent:
        return [], 0  # a list is never justified by a case or campaign; open those by reference
    visible = consent_service.visible_customers(session=session, principal=principal, purpose=purpose)
    query = select(Customer).where(Customer.id.in_(visible), Customer.erased_at.is_(None))
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(Customer.last_name).like(like), func.lower(Customer.first_name).like(like),
                                func.lower(Customer.email).like(like), func.lower(Customer.city).like(like)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    customers = list(session.scalars(query.order_by(Customer.last_name, Customer.first_name, Customer.id)
                                      .limit(limit).offset(offset)))
    consent_service.log_access(session=session, principal=principal, customer_ids=[c.id for c in customers],
                               purpose=purpose_row, what="customer list")
    return customers, total


def open_for(*, session: Session, principal: Principal, customer_id: int, purpose: str, what: str,
             reference: consent_service.Reference | None = None) -> tuple[Customer, list[str]]:
    """Consent check, access log, then the customer and the data categories the purpose allows."""
    purpose_row = consent_service.require(session=session, principal=principal, customer_id=customer_id,
                                          purpose=purpose, what=what, reference=reference)
    customer = get(session=session, customer_id=customer_id)
    categories = list(purpose_row.data_categories) if not principal.is_customer else [
        CONTACT, VEHICLES, SERVICE_HISTORY, PREFERENCES]
    return customer, categories


def home_position(*, session: Session, customer_id: int) -> tuple[float, float] | None:
    """Where the customer lives, as far as we know: their "Home" navigation favourite, else the middle of
    the dealers in their home city. ``None`` when neither says."""
    preferences = session.get(Preferences, customer_id)
    for favourite in (preferences.navigation_favourites or []) if preferences else []:
        if (str(favourite.get("label", "")).strip().lower() == "home"
                and favourite.get("latitude") is not None and favourite.get("longitude") is not None):
            return float(favourite["latitude"]), float(favourite["longitude"])
    customer = get(session=session, customer_id=customer_id)
    if not customer.city:
        return None
    places = [(d.latitude, d.longitude) for d in parties_service.list_organizations(session=session, kind="dealer")
              if d.city and d.city.strip().lower() == customer.city.strip().lower() and d.position is not None]
    if not places:
        return None
    return sum(p[0] for p in places) / len(places), sum(p[1] for p in places) / len(places)


def access_log(*, session: Session, customer_id: int, limit: int = 200, offset: int = 0) -> list[dict]:
    """The customer's view of who looked: organization names rather than ids."""
    entries = consent_service.access_log_of(session=session, customer_id=customer_id, limit=limit, offset=offset)
    names: dict[int, str] = {}
    rows = []
    for entry in entries:
        if entry.organization_id is not None and entry.organization_id not in names:
            names[entry.organization_id] = parties_service.get_organization(
                session=session, organization_id=entry.organization_id).name
        rows.append(dict(id=entry.id, organization_id=entry.organization_id, user_id=entry.user_id,
                         organization_name=names.get(entry.organization_id), role=entry.role,
                         purpose_code=entry.purpose_code, legal_basis=entry.legal_basis, what=entry.what,
                         reference=entry.reference, at=entry.at))
    return rows


LIST_READ = "customer list"


def summarise_access_log(rows: list[dict]) -> list[dict]:
    """``access_log`` rows as the customer reads them: every appearance in one person's list of customers,
    for one purpose on one day (in the reader's zone), becomes one row with a count and all its reads
    (``reads``), in the place of the newest; every other read stays a row of its own (``reads`` is
    itself). Nothing is dropped: a rep who pages through a list forty times a day is one line the
    customer can open, and the opening of their file beside it is not buried under forty."""
    summary: list[dict] = []
    groups: dict[tuple, dict] = {}
    for row in rows:  # newest first
        if row["what"] != LIST_READ:
            summary.append(row | {"reads": [row], "count": 1})
            continue
        key = (row["organization_id"], row["user_id"], row["role"], row["purpose_code"],
               zones.to_viewer(row["at"]).date() if row["at"] else None)
        if key in groups:
            group = groups[key]
            group["reads"].append(row)
            group["count"] += 1
            group["first_at"] = row["at"]
        else:
            groups[key] = group = row | {"reads": [row], "count": 1, "first_at": row["at"]}
            summary.append(group)
    return summary
