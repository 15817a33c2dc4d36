"""The purposes Forecourt knows and the notices that announced them.

Reference data, written idempotently by ``ensure_catalogue`` so every database — fresh, migrated
or demo — agrees on what each purpose means.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent.models import Notice, NoticeText, Purpose, RolePurpose
from forecourt.core.i18n import LANGUAGES, N_, gettext, lazy_gettext, use_locale

CONSENT = "consent"
VITAL_INTEREST = "vital_interest"
LEGAL_OBLIGATION = "legal_obligation"
CONTRACT = "contract"

# Data categories a reader may see under a purpose (customer 360 shows only these sections).
CONTACT, VEHICLES, SERVICE_HISTORY, PREFERENCES = "contact", "vehicles", "service_history", "preferences"
LOCATION, VEHICLE_HEALTH, DRIVING_BEHAVIOUR = "location", "vehicle_health", "driving_behaviour"
# What a customer did with a dealer's sales team: configurations, test drives, visits, deals, orders, purchases.
SALES_HISTORY = "sales_history"

PURPOSES: list[dict] = [
    dict(code="sales_contact", name=N_("Sales contact"), legal_basis=CONSENT,
         categories=[CONTACT, VEHICLES, PREFERENCES, SALES_HISTORY],
         description=N_("A dealer may contact you about buying or replacing a car, see the cars you own and "
                     "what you configured, test-drove, ordered and bought.")),
    dict(code="service_reminders", name=N_("Service reminders"), legal_basis=CONSENT,
         categories=[CONTACT, VEHICLES, SERVICE_HISTORY, PREFERENCES],
         description=N_("A workshop may see your cars and their service history to remind you of due work.")),
    dict(code="marketing_offers", name=N_("Marketing offers"), legal_basis=CONSENT,
         categories=[CONTACT, VEHICLES],
         description=N_("Offers from this organization about products and services for your car.")),
    dict(code="location_services", name=N_("Location services"), legal_basis=CONSENT,
         categories=[VEHICLES, LOCATION],
         description=N_("Your car's position, for finding it, trips and help on the road.")),
    dict(code="vehicle_health_sharing", name=N_("Vehicle health sharing"), legal_basis=CONSENT,
         categories=[CONTACT, VEHICLES, VEHICLE_HEALTH, SERVICE_HISTORY],
         description=N_("Warning lights, fault codes and battery state, so a workshop can act before you ask.")),
    dict(code="driving_behaviour_insurance", name=N_("Driving behaviour for insurance"), legal_basis=CONSENT,
         categories=[VEHICLES, DRIVING_BEHAVIOUR],
         description=N_("Your driving score (braking, speeding, night driving) for usage-based insurance.")),
    dict(code="automatic_booking", name=N_("Automatic service booking"), legal_basis=CONSENT,
         categories=[VEHICLES, VEHICLE_HEALTH],
         description=N_("When your car reports a fault or its service comes due, this workshop books the earliest "
                     "time within your availability and tells you after; you move or cancel it in one click.")),
    dict(code="emergency_assistance", name=N_("Emergency assistance"), legal_basis=VITAL_INTEREST,
         categories=[CONTACT, VEHICLES, LOCATION, VEHICLE_HEALTH],
         description=N_("When you press SOS or your car detects a crash, the call centre sees what it needs to help.")),
    dict(code="safety_recalls", name=N_("Safety recalls"), legal_basis=LEGAL_OBLIGATION,
         categories=[CONTACT, VEHICLES],
         description=N_("The law requires the carmaker to reach every owner of a car under a safety recall.")),
    dict(code="warranty_work", name=N_("Warranty work"), legal_basis=CONTRACT,
         categories=[VEHICLES, SERVICE_HISTORY],
         description=N_("Repairs under your warranty need your car's records; this is part of your contract.")),
    dict(code="car_sharing", name=N_("Car sharing"), legal_basis=CONTRACT,
         categories=[VEHICLES, LOCATION],
         description=N_("The hub that lends you a car sees where it is while your trip is late, the car is reported "
                        "stolen or it was in a crash; this is part of the rental contract.")),
]

NOTICES: list[dict] = [
    dict(version=1, title=N_("Forecourt privacy notice v1"),
         purposes=["sales_contact", "service_reminders", "marketing_offers", "location_services",
                   "vehicle_health_sharing"],
         body=N_("How the carmaker, dealers and partners may use your data, and only with your consent.")),
    dict(version=2, title=N_("Forecourt privacy notice v2"),
         purposes=["sales_contact", "service_reminders", "marketing_offers", "location_services",
                   "vehicle_health_sharing", "driving_behaviour_insurance"],
         body=N_("Adds usage-based insurance: an insurer may see your driving score if you allow it.")),
    dict(version=3, title=N_("Forecourt privacy notice v3"),
         purposes=["sales_contact", "service_reminders", "marketing_offers", "location_services",
                   "vehicle_health_sharing", "driving_behaviour_insurance", "automatic_booking"],
         body=N_("Adds automatic service booking: a workshop you choose may book your car's service by itself "
                 "and tell you after.")),
]


# Who may state which purpose: each role reads a customer's data only for the purposes of its work, so
# a sales rep cannot read for service reminders and a call-centre agent cannot read for marketing.
# (role, partner kind or None, purpose, why). A partner's analyst is told apart by the partner's kind.
ROLE_PURPOSES: list[tuple[str, str | None, str, str]] = [
    ("dealer_sales", None, "sales_contact",
     lazy_gettext("A dealer's sales team contacts you about buying or replacing a car.")),
    ("dealer_sales", None, "marketing_offers",
     lazy_gettext("A dealer's sales team sends you the dealer's offers.")),
    ("dealer_service", None, "service_reminders",
     lazy_gettext("A workshop's service advisors remind you of due work and prepare your visit.")),
    ("dealer_service", None, "vehicle_health_sharing",
     lazy_gettext("A workshop's service advisors see warning lights and fault codes before you arrive.")),
    ("dealer_service", None, "location_services",
     lazy_gettext("A workshop's service advisors see how far your booked car is from the workshop.")),
    ("dealer_service", None, "warranty_work",
     lazy_gettext("A workshop's service advisors read your warranty for work on a visit you booked.")),
    ("dealer_service", None, "car_sharing",
     lazy_gettext("A car-sharing hub's staff see where its car is while your trip is late, the car is reported "
                  "stolen or it was in a crash.")),
    ("call_centre_agent", None, "emergency_assistance",
     lazy_gettext("The carmaker's call centre helps when you press SOS or your car detects a crash.")),
    ("carmaker_admin", None, "marketing_offers",
     lazy_gettext("The carmaker's staff send you the carmaker's offers.")),
    ("carmaker_admin", None, "location_services",
     lazy_gettext("The carmaker runs the connected services that find your car and record your trips.")),
    ("carmaker_admin", None, "vehicle_health_sharing",
     lazy_gettext("The carmaker's staff watch the health of the fleet.")),
    ("carmaker_admin", None, "safety_recalls",
     lazy_gettext("The carmaker's staff reach every owner of a car under a safety recall.")),
    ("partner_analyst", "insurance", "driving_behaviour_insurance",
     lazy_gettext("An insurer sees your driving score for usage-based insurance.")),
    ("partner_analyst", "finance", "marketing_offers",
     lazy_gettext("A finance partner sends you its offers for your car.")),
    ("partner_analyst", "roadside", "location_services",
     lazy_gettext("A roadside service sees where your car is to reach it.")),
]


def ensure_catalogue(session: Session) -> None:
    known = {p.code: p for p in session.scalars(select(Purpose))}
    for position, spec in enumerate(PURPOSES):
        purpose = known.get(spec["code"]) or Purpose(code=spec["code"])
        purpose.name, purpose.description = spec["name"], spec["description"]
        purpose.legal_basis, purpose.data_categories, purpose.position = (
            spec["legal_basis"], spec["categories"], position)
        session.add(purpose)
    session.flush()
    versions = set(session.scalars(select(Notice.version)))
    for spec in NOTICES:
        if spec["version"] not in versions:
            session.add(Notice(**spec))
    session.flush()
    _ensure_notice_texts(session)
    _ensure_role_purposes(session)


def _ensure_notice_texts(session: Session) -> None:
    """Each notice version in each language we speak. A text already published stays as it is (the
    customer agreed to those words); only a missing language is added, in the catalogue's words. The
    English text is the notice's own."""
    present = {(version, language) for version, language in
               session.execute(select(NoticeText.notice_version, NoticeText.language))}
    for notice in session.scalars(select(Notice).order_by(Notice.version)):
        for language in LANGUAGES:
            if (notice.version, language) in present:
                continue
            with use_locale(language):
                title, body = ((notice.title, notice.body) if language == "en"
                               else (gettext(notice.title), gettext(notice.body)))
            session.add(NoticeText(notice_version=notice.version, language=language, title=title, body=body))
    session.flush()


def _ensure_role_purposes(session: Session) -> None:
    """The table says exactly what ``ROLE_PURPOSES`` says: rows added, explained anew, or removed."""
    wanted = {(role, kind, purpose): str(why.message) for role, kind, purpose, why in ROLE_PURPOSES}
    for row in session.scalars(select(RolePurpose)):
        key = (row.role, row.partner_kind, row.purpose_code)
        if key not in wanted:
            session.delete(row)
        else:
            row.explanation = wanted.pop(key)
    session.add_all(RolePurpose(role=role, partner_kind=kind, purpose_code=purpose, explanation=why)
                    for (role, kind, purpose), why in wanted.items())
    session.flush()
