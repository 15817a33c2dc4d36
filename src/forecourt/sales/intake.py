"""Taking a lead: find out who is asking (or make them a customer), pick the dealer, record the request.

The lead is ``sales`` work; matching the request to a person asks ``customers`` (through its service),
which knows nothing of sales. A known person's profile is never changed by a form: the lead keeps what they typed.
Permission is explicit: only a ticked "Allow <dealer> to contact me" gives the dealer ``sales_contact``, and
only when it provably comes from the customer: at once when they are logged in, otherwise once they
follow the link that is e-mailed to the customer's address (``email_links``, double opt-in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core import phones
from forecourt.core.auth import Principal
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.customers import email_links
from forecourt.customers import service as customers_service
from forecourt.parties import markets
from forecourt.parties import service as parties_service
from forecourt.sales import configurator, leads, routing, scoring
from forecourt.sales.codes import display_code
from forecourt.vehicles import service as vehicles_service


@dataclass
class TakenLead:
    lead: object  # sales Lead
    dealer: object  # parties Organization
    joined: bool
    contact_allowed: bool
    # "allow contact" was ticked on an anonymous form: the answer is a link e-mailed to the customer
    confirmation_requested: bool = False


def match_customer(*, session: Session, email: str | None, phone: str | None, last_name: str | None):
    """The same person by e-mail, else by phone number and last name together (a phone alone is shared
    by households)."""
    if email and (found := customers_service.find_by_email(session=session, email=email)):
        return found
    if phone and last_name:
        for candidate in customers_service.with_last_name_and_phone(session=session, last_name=last_name):
            if leads.normalise_phone(candidate.phone) == leads.normalise_phone(phone):
                return candidate
    return None


def _phone(session: Session, typed: str | None, *, principal: Principal | None, dealer_id: int | None) -> str | None:
    """E.164, read in the asker's market (a customer's own, else the chosen dealer's, else the default);
    a number that is not valid in its country is refused in words."""
    market = None
    if principal is not None and principal.is_customer:
        customer = customers_service.get(session=session, customer_id=principal.customer_id)
        market = customer.market or customer.country
    elif dealer_id is not None:
        try:
            market = parties_service.get_organization(session=session, organization_id=dealer_id).market
        except NotFound:
            market = None  # routing says the dealer is unknown, in its own words
    return phones.normalise(typed, region=markets.region_of(market))


def _configuration(session: Session, code: str | None):
    if not code:
        return None
    try:
        return configurator.get_by_code(session=session, code=code)
    except Invalid as error:
        raise Invalid(error.message, field="configuration_code") from None
    except NotFound:
        raise Invalid(_("There is no configuration with this code; check it, or leave it empty."),
                      field="configuration_code") from None


def take_lead(*, session: Session, source: str | None, first_name: str | None, last_name: str | None,
              email: str | None, phone: str | None, postcode: str | None = None, city: str | None = None,
              dealer_id: int | None = None, configuration_code: str | None = None, model_id: int | None = None,
              preferred_date: date | None = None, event_name: str | None = None, message: str = "",
              wants: str = "call", allow_contact: bool, principal: Principal | None = None) -> TakenLead:
    """Record one request from a form, a configuration, a test-drive booking or an event."""
    email, phone = leads.normalise_email(email), _phone(session, phone, principal=principal, dealer_id=dealer_id)
    first_name, last_name = (first_name or "").strip() or None, (last_name or "").strip() or None
    configuration = _configuration(session, configuration_code)
    models = {m.id: m for m in vehicles_service.list_models(session=session)}
    if configuration is not None:
        model_id = vehicles_service.get_trim(session=session, trim_id=configuration.trim_id).model_id
    elif model_id is not None and model_id not in models:
        raise Invalid(_("Choose one of our models, or leave the model empty."), field="model_id")
    source = source or leads.source_for(wants=wants, configuration_code=configuration_code, event_name=event_name)

    if principal is not None and principal.is_customer:
        customer = customers_service.get(session=session, customer_id=principal.customer_id)
    else:
        customer = match_customer(session=session, email=email, phone=phone, last_name=last_name)
    if customer is None:
        if not email:
            raise Invalid(_("Give us your e-mail address so the dealer can answer you."), field="email")
        try:
            customer = customers_service.create(session=session, email=email, profile=dict(
                first_name=first_name, last_name=last_name, phone=phone, postcode=postcode, city=city))
        except Conflict:
            raise Invalid(_("This e-mail address cannot be used for a request; please use another one."),
                          field="email") from None
    if principal is not None and principal.is_customer and not (postcode or city):
        postcode, city = customer.postcode, customer.city  # their own profile, for their own request

    if dealer_id is None and (earlier := leads.recent_open_lead(session=session, customer_id=customer.id)):
        dealer_id = earlier.dealer_id  # a follow-up goes where the first request went
    routed = routing.route(session=session, dealer_id=dealer_id, postcode=postcode, city=city)
    model_name = models[model_id].name if model_id in models else None
    line = leads.describe_request(source=source, wants=wants, preferred_date=preferred_date, model_name=model_name,
                                  configuration_code=display_code(configuration.code) if configuration else None,
                                  event_name=event_name, message=message)
    recorded = leads.record(
        session=session, customer_id=customer.id, dealer_id=routed.dealer.id, routed_by=routed.routed_by,
        routing_facts=routed.facts, source=source, configuration=configuration, model_id=model_id,
        preferred_date=preferred_date, event_name=event_name, message=message, request_line=line,
        contact=dict(first_name=first_name, last_name=last_name, email=email, phone=phone, postcode=postcode,
                     city=city))
    # Only a logged-in customer provably speaks for themself. A tick on an anonymous form, even one
    # that just created the customer, may have been typed by anyone: the customer's address gets a
    # link, and the dealer gets the grant only when it is followed.
    logged_in = principal is not None and principal.is_customer
    if allow_contact and logged_in:
        consent_service.give(session=session, customer_id=customer.id, organization_id=routed.dealer.id,
                             purpose_code=leads.PURPOSE, method="lead_form")
    elif allow_contact:
        email_links.ask_contact(session=session, customer=customer, organization=routed.dealer)
    scoring.score_lead(session=session, lead=recorded.lead)
    # Only the person themself learns whether an earlier permission stands; a visitor typing someone's
    # e-mail must not find out what that customer allowed.
    allowed = logged_in and consent_service.active_grant(
        session=session, customer_id=customer.id, organization_id=routed.dealer.id,
        purpose_code=leads.PURPOSE) is not None
    return TakenLead(recorded.lead, routed.dealer, recorded.joined, allowed,
                     confirmation_requested=allow_contact and not logged_in)
