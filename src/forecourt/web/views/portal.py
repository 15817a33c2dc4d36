"""The driver's portal: my cars, my profile, who may see my data, who looked, export and erasure.

A customer reads only their own record, so these pages need no purpose; they call the same
service functions as ``/api/me``. Every form works without JavaScript; htmx only saves a reload.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from forecourt.consent import service as consent_service
from forecourt.core import i18n, zones
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _, Labels, lazy_gettext, N_
from forecourt.core.schemas import Id
from forecourt.customers import service as customers_service
from forecourt.customers.schemas import PreferencesIn, ProfileIn
from forecourt.parties import markets
from forecourt.parties import service as parties_service
from forecourt.privacy import customer360, rights
from forecourt.web.deps import SESSION_COOKIE, DbSession, MePage
from forecourt.web.serialise import export_response
from forecourt.web.views import contact_choice
from forecourt.web.views.forms import Form, text, texts, validate
from forecourt.web.views.render import redirect, render
from forecourt.web.views.roles import role_purpose_rows

router = APIRouter(tags=["pages"])

PROFILE_FIELDS = ("first_name", "last_name", "phone", "street", "postcode", "city", "country", "birth_date",
                  "language", "market", "time_zone")
PROFILE_MESSAGES = Labels({
    "phone": N_("Use digits, spaces and + ( ) / - only."),
    "country": N_("Use the two-letter country code, for example DE."),
    "birth_date": N_("Use the date format YYYY-MM-DD."),
})
LANGUAGES = tuple(i18n.LANGUAGES.items())  # the languages Forecourt speaks, each named in itself
CONTACT_CHANNELS = (("email", lazy_gettext("E-mail")), ("phone", lazy_gettext("Phone call")), ("sms", lazy_gettext("Text message")), ("app", lazy_gettext("In the app")))
RADIO_SLOTS = 6
SPARE_FAVOURITES = 2
PAGE_SIZE = 50


def _flash(url: str, message: str) -> Response:
    return redirect(f"{url}{'&' if '?' in url else '?'}flash={quote_plus(message)}")


# --- my cars -------------------------------------------------------------------------------------

@router.get("/me")
def my_cars(request: Request, me: MePage, session: DbSession):
    cars = customer360.cars_of(session=session, customer_id=me.customer_id, include_past=True)
    return render(request, "portal/cars.html", current=[c for c in cars if c["owned_until"] is None],
                  past=[c for c in cars if c["owned_until"] is not None])


# --- profile and preferences ---------------------------------------------------------------------

def _preferences_values(preferences) -> dict:
    return dict(radio_presets=list(preferences.radio_presets or []),
                navigation_favourites=[dict(f) for f in preferences.navigation_favourites or []],
                seat_position=dict(preferences.seat_position or {}),
                preferred_contact=preferences.preferred_contact or "email")


def _profile_page(request: Request, session, me, *, profile=None, profile_errors=None, preferences=None,
                  preference_errors=None, status_code: int = 200):
    customer = customers_service.get(session=session, customer_id=me.customer_id)
    if profile is None:
        profile = {name: getattr(customer, name) for name in PROFILE_FIELDS}
    if preferences is None:
        preferences = _preferences_values(customers_service.get_preferences(session=session,
                                                                            customer_id=me.customer_id))
    presets = preferences["radio_presets"] + [""] * max(0, RADIO_SLOTS - len(preferences["radio_presets"]))
    favourites = preferences["navigation_favourites"] + [{}] * SPARE_FAVOURITES
    return render(request, "portal/profile.html", status_code=status_code, email=customer.email,
                  profile=profile, profile_errors=profile_errors or {}, preferences=preferences,
                  presets=presets, favourites=favourites, preference_errors=preference_errors or {},
                  languages=LANGUAGES, channels=CONTACT_CHANNELS,
                  markets=[(m.code, m.name) for m in markets.list_markets(session=session)],
                  zone_names=zones.common_zones(), market_zone=markets.zone_of_market(customer.market).key)


@router.get("/me/profile")
def profile_page(request: Request, me: MePage, session: DbSession):
    return _profile_page(request, session, me)


@router.post("/me/profile")
def save_profile(request: Request, me: MePage, session: DbSession, form: Form):
    values = texts(form, *PROFILE_FIELDS)
    if values["country"]:
        values["country"] = values["country"].upper()
    body, errors = validate(ProfileIn, {k: v for k, v in values.items()
                                        if v is not None or k not in ("language", "market")})
    for name, message in (("first_name", _("Enter your given name(s).")),
                          ("last_name", _("Enter your family name."))):
        if not values[name]:
            errors[name] = message
    errors = {key: PROFILE_MESSAGES.get(key, message) for key, message in errors.items()}
    if errors:
        return _profile_page(request, session, me, profile=values, profile_errors=errors, status_code=422)
    changes = body.model_dump(exclude_unset=True)
    try:
        with session.begin_nested():
            customers_service.update_profile(session=session, customer_id=me.customer_id, changes=changes)
    except Invalid as problem:  # a phone, postcode or time zone its market refuses, said in words
        return _profile_page(request, session, me, profile=values, status_code=422,
                             profile_errors={problem.field or "phone": problem.message})
    return _flash("/me/profile", _("Your profile is saved."))


def _submitted_preferences(form) -> dict:
    favourites = []
    for label, address, lat, lon in zip(form.getlist("favourite_label"), form.getlist("favourite_address"),
                                        form.getlist("favourite_latitude"), form.getlist("favourite_longitude")):
        if str(label).strip() or str(address).strip():
            favourites.append({"label": str(label).strip(), "address": str(address).strip(),
                               "latitude": str(lat).strip() or None, "longitude": str(lon).strip() or None})
    seat = {axis: text(form, f"seat_{axis}") for axis in ("height", "distance", "recline")}
    return dict(radio_presets=[str(p).strip() for p in form.getlist("radio_preset") if str(p).strip()],
                navigation_favourites=favourites, seat_position=seat,
                preferred_contact=text(form, "preferred_contact") or "email")


@router.post("/me/preferences")
def save_preferences(request: Request, me: MePage, session: DbSession, form: Form):
    submitted = _submitted_preferences(form)
    seat = submitted["seat_position"]
    values = dict(submitted)
    errors: dict[str, str] = {}
    if not any(seat.values()):
        values["seat_position"] = None  # the seat was never set: leave it as it is
    elif not all(seat.values()):
        errors["seat_position"] = "Fill in height, distance and recline, or leave all three empty."
    else:
        current = customers_service.get_preferences(session=session, customer_id=me.customer_id)
        values["seat_position"] = seat | {"lumbar": (current.seat_position or {}).get("lumbar", 0)}
    body, schema_errors = validate(PreferencesIn, {k: v for k, v in values.items() if v is not None})
    errors = schema_errors | errors
    if errors:
        return _profile_page(request, session, me, preferences=submitted, preference_errors=errors,
                             status_code=422)
    customers_service.update_preferences(session=session, customer_id=me.customer_id,
                                         changes=body.model_dump(exclude_unset=True))
    return _flash("/me/profile#preferences", _("Your preferences are saved; a loaner will be set up this way."))


# --- who can see my data -------------------------------------------------------------------------

def _by_organization(rows: list[dict]) -> list[dict]:
    organizations: dict[int, dict] = {}
    for row in rows:
        organizations.setdefault(row["organization_id"], dict(id=row["organization_id"],
                                                              name=row["organization_name"],
                                                              kind=row["organization_kind"], cells=[]))
        organizations[row["organization_id"]]["cells"].append(row)
    return list(organizations.values())


@router.get("/me/privacy")
def privacy_page(request: Request, me: MePage, session: DbSession, add: list[Id] = Query(default=[], max_length=50)):
    rows = customer360.consent_matrix(session=session, customer_id=me.customer_id,
                                      extra_organization_ids=tuple(add))
    purposes = consent_service.list_purposes(session=session)
    organizations = _by_organization(rows)
    shown = {o["id"] for o in organizations}
    addable = [o for o in parties_service.list_organizations(session=session)
               if o.kind != "carmaker" and o.id not in shown]
    roles: dict[str, list[dict]] = {}
    for row in role_purpose_rows(session):
        roles.setdefault(row["purpose_code"], []).append(row)
    notice = consent_service.current_notice(session=session)
    return render(request, "portal/privacy.html", organizations=organizations,
                  consent_purposes=[p for p in purposes if p.needs_consent],
                  other_purposes=[p for p in purposes if not p.needs_consent], notice=notice,
                  read=consent_service.notice_text(session=session, version=notice.version), addable=addable,
                  roles=roles, contact=contact_choice.shown(session=session, customer_id=me.customer_id),
                  contact_error=request.query_params.get("error"))


def _notice_read(form) -> tuple[int | None, str | None]:
    """The notice version and language the page showed beside the switch: what the customer read."""
    version = (form.get("notice_version") or "").strip()
    return (int(version) if version.isdigit() and len(version) < 9 else None), (form.get("notice_language") or None)


@router.post("/me/privacy/{organization_id}/{purpose}")
def toggle_consent(request: Request, organization_id: Id, purpose: str, me: MePage, session: DbSession,
                   form: Form):
    """One cell of the matrix: htmx swaps the cell in place, a plain form post comes back to the page."""
    allow = form.get("allow") == "yes"
    error = None
    try:
        if allow:
            version, language = _notice_read(form)
            consent_service.give(session=session, customer_id=me.customer_id, organization_id=organization_id,
                                 purpose_code=purpose, method="web-portal", recorded_by=me.user_id,
                                 notice_version=version, language=language)
        else:
            consent_service.withdraw(session=session, customer_id=me.customer_id,
                                     organization_id=organization_id, purpose_code=purpose,
                                     method="web-portal", recorded_by=me.user_id)
    except Invalid as problem:
        error = problem.message
    rows = customer360.consent_matrix(session=session, customer_id=me.customer_id,
                                      extra_organization_ids=(organization_id,))
    cell = next((r for r in rows if r["organization_id"] == organization_id and r["purpose_code"] == purpose),
                None)
    if request.headers.get("hx-request") and cell is not None:
        notice = consent_service.current_notice(session=session)
        return render(request, "portal/_consent_cell.html", cell=cell, error=error,
                      read=consent_service.notice_text(session=session, version=notice.version))
    if error or cell is None:
        return _flash("/me/privacy", error or _("There is no such purpose."))
    return _flash(f"/me/privacy?add={organization_id}",
                  (_("%(organization)s is now allowed to use your data for “%(purpose)s”.",
                     organization=cell['organization_name'], purpose=cell['purpose_name']) if cell["granted"] else
                   _("%(organization)s is no longer allowed to use your data for “%(purpose)s”.",
                     organization=cell['organization_name'], purpose=cell['purpose_name'])))


# --- who looked ----------------------------------------------------------------------------------

@router.get("/me/access-log")
def access_log_page(request: Request, me: MePage, session: DbSession, page: int = Query(default=1, ge=1, le=100_000)):
    entries = customers_service.access_log(session=session, customer_id=me.customer_id, limit=PAGE_SIZE + 1,
                                           offset=(page - 1) * PAGE_SIZE)
    purposes = {p.code: p for p in consent_service.list_purposes(session=session)}
    return render(request, "portal/access_log.html", entries=customers_service.summarise_access_log(entries[:PAGE_SIZE]),
                  purposes=purposes, page=page,
                  has_next=len(entries) > PAGE_SIZE)


# --- my data: export and erasure -----------------------------------------------------------------

@router.get("/me/data")
def my_data_page(request: Request, me: MePage):
    return render(request, "portal/data.html")


@router.get("/me/data/export", response_class=Response,
            responses={200: {"description": "Everything linked to the customer, as a JSON file",
                             "content": {"application/json": {"schema": {"type": "object"}}}}})
def download_my_data(me: MePage, session: DbSession) -> Response:
    return export_response(rights.export(session=session, customer_id=me.customer_id), me.customer_id)


@router.get("/me/data/erase")
def confirm_erasure(request: Request, me: MePage, session: DbSession):
    customer = customers_service.get(session=session, customer_id=me.customer_id)
    return render(request, "portal/erase.html", email=customer.email, error=None, labels=ERASED,
                  kept=rights.kept_reasons_for(session=session, customer_id=me.customer_id))


# What an erasure report counts, as its reader says it (the report names each by code).
ERASED = Labels({
    "profile": N_("Your profile"), "preferences": N_("Your preferences"), "account": N_("Your login"),
    "consent_grants": N_("Consents given"), "access_log": N_("Access log entries"),
    "telemetry_positions": N_("Car positions"), "telemetry_samples": N_("Car readings"),
    "telemetry_trips": N_("Trips"), "telemetry_twin": N_("Your car's latest state"),
    "telemetry_vehicle_events": N_("Car events (warning lights, alerts)"),
    "telemetry_commands": N_("Remote commands to your car"),
    "warranty_offers": N_("Warranty offers"), "ownership_transfers_unlinked": N_("Car sales between owners (unlinked)"),
    "workshop_appointments": N_("Workshop appointments"), "workshop_availability": N_("Times you can be reached"),
    "workshop_loaner_presets": N_("Courtesy-car wishes"), "workshop_proposals": N_("Workshop proposals"),
    "assist_cases_unlinked": N_("On Call cases (unlinked)"), "assist_emergency_contacts": N_("Emergency contacts"),
    "assist_subscriptions_unlinked": N_("On Call subscriptions (unlinked)"), "messages": N_("Messages to you"),
    "email_links": N_("Links e-mailed to you"),
    "engagement_responses": N_("Your answers to offers"), "engagement_message_items": N_("Offers in your messages"),
    "engagement_messages": N_("Offer messages"), "engagement_occasions": N_("Occasions found for your cars"),
    "engagement_contacts": N_("Contacts counted toward your limit"),
    "engagement_contact_choices": N_("Your choice of channels"), "sales_configurations_unlinked": N_("Configurations (unlinked)"),
    "sales_lead_contact_details": N_("Contact details in enquiries"), "sales_activity_notes": N_("Sales notes about you"),
    "sales_finance_contracts": N_("Finance contracts"),
    "consent_ledger": N_("Consent receipts"), "service_records": N_("Service records"),
    "ownerships": N_("Ownership periods"), "warranty_contracts": N_("Extended warranties"),
    "data_requests": N_("Data requests"), "orders": N_("Orders"), "payments": N_("Payments"),
    "opportunities": N_("Deals"), "follow_ups": N_("Dealers' follow-ups with you"),
    "nps_surveys_unlinked": N_("Satisfaction surveys (unlinked)"), "nps_answer_texts": N_("Your survey answers' words"),
    "nps_topics": N_("Topics of your survey answers"), "nps_follow_up_notes": N_("Notes on follow-ups of your answers"),
    "satisfaction_surveys": N_("Satisfaction surveys"),
    "sharing_profile": N_("Your car-sharing profile and licence check"), "sharing_photos": N_("Car-sharing photos"),
    "sharing_reservations_unlinked": N_("Car-sharing bookings and trips (unlinked)"),
    "sharing_bills": N_("Car-sharing bills"),
})


@router.post("/me/data/erase")
def erase_me(request: Request, me: MePage, session: DbSession, form: Form):
    if form.get("confirm") != "erase":
        customer = customers_service.get(session=session, customer_id=me.customer_id)
        return render(request, "portal/erase.html", status_code=422, email=customer.email, labels=ERASED,
                      kept=rights.kept_reasons_for(session=session, customer_id=me.customer_id),
                      error=_("Tick the box to confirm that you want to be erased."))
    report = rights.erase(session=session, customer_id=me.customer_id)
    # The account is gone with the person: the page is rendered for nobody, and the cookie goes too.
    response = render(request, "portal/erased.html", principal=None, csrf_token="", report=report, labels=ERASED)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
