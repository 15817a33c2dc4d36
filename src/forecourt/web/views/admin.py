"""Carmaker administration pages: the dealer network, staff accounts, and the trail of every change.

The forms validate with the API's own input schemas, and every change is audited as the API does.
"""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from fastapi import APIRouter, Query, Request

from forecourt.core.auth import Role
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import _, Labels, lazy_gettext, N_
from forecourt.core.schemas import Id
from forecourt.parties import audit_trail
from forecourt.parties import service as parties_service
from forecourt.parties.schemas import OrganizationIn, OrganizationUpdate, StaffUserIn
from forecourt.web.deps import AdminPage, DbSession
from forecourt.web.views.forms import Form, text, texts, validate
from forecourt.web.views.render import redirect, render
from forecourt.web.views.roles import role_purpose_rows

router = APIRouter(prefix="/admin", tags=["pages"])

KINDS = (("carmaker", lazy_gettext("Carmaker")), ("dealer", lazy_gettext("Dealer")), ("partner", lazy_gettext("Partner")))
# The same kinds as headings over a list of them.
KIND_GROUPS = (("carmaker", lazy_gettext("Carmakers")), ("dealer", lazy_gettext("Dealers")),
               ("partner", lazy_gettext("Partners")))
# The kinds' names are in the catalogues (web.formats marks them); each is translated when the form is shown.
PARTNER_KINDS = [(k, lazy_gettext(k.capitalize())) for k in parties_service.PARTNER_KINDS]
DAYS = (("mon", lazy_gettext("Monday")), ("tue", lazy_gettext("Tuesday")), ("wed", lazy_gettext("Wednesday")), ("thu", lazy_gettext("Thursday")), ("fri", lazy_gettext("Friday")),
        ("sat", lazy_gettext("Saturday")), ("sun", lazy_gettext("Sunday")))
ADDRESS_FIELDS = ("name", "street", "postcode", "city", "latitude", "longitude", "phone", "email")
ORGANIZATION_MESSAGES = Labels({
    "code": N_("Use capital letters, digits and dashes, e.g. DLR-HAM-01."),
    "latitude": N_("A latitude between -90 and 90."),
    "longitude": N_("A longitude between -180 and 180."),
    "email": N_("Enter a valid e-mail address."),
    "service_bays": N_("A whole number from 0 to 200."),
    "dispatch_capacity": N_("A whole number from 1 to 500, or empty for no limit."),
})
USER_MESSAGES = Labels({
    "email": N_("Enter a valid e-mail address."),
    "display_name": N_("Enter a name of at least 2 characters."),
    "password": N_("Use at least 10 characters."),
    "role": N_("Choose a role."),
    "organization_id": N_("Choose an organization."),
})
PAGE_SIZE = 50
_SPAN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _flash(url: str, message: str):
    return redirect(f"{url}{'&' if '?' in url else '?'}flash={quote_plus(message)}")


def _friendly(errors: dict[str, str]) -> dict[str, str]:
    return {key: ORGANIZATION_MESSAGES.get(key.split(".")[0], message) for key, message in errors.items()}


def _hours_text(opening_hours: dict | None) -> dict[str, str]:
    return {day: ", ".join(f"{opens}–{closes}" for opens, closes in (opening_hours or {}).get(day, []))
            for day, _ in DAYS}


def _parse_hours(form) -> tuple[dict, dict[str, str]]:
    """``08:00–12:00, 13:00–18:00`` per weekday; empty means closed."""
    hours, errors = {}, {}
    for day, label in DAYS:
        spans = []
        for part in filter(None, (p.strip() for p in (text(form, f"hours_{day}") or "").split(","))):
            bounds = [b.strip() for b in re.split(r"[-–]", part)]
            if len(bounds) != 2 or not all(_SPAN.match(b) for b in bounds):
                errors[f"hours_{day}"] = f"Write {label}'s hours as 08:00–18:00, several separated by commas."
                break
            spans.append(bounds)
        hours[day] = spans
    return hours, errors


# --- organizations -------------------------------------------------------------------------------

def _organizations_page(request: Request, session, *, values=None, errors=None, status_code: int = 200):
    organizations = parties_service.list_organizations(session=session, active_only=False)
    located = sum(1 for o in organizations
                  if o.kind == "dealer" and o.latitude is not None and o.longitude is not None)
    return render(request, "admin/organizations.html", status_code=status_code,
                  groups=[(label, [o for o in organizations if o.kind == kind]) for kind, label in KIND_GROUPS],
                  located=located, kinds=KINDS, partner_kinds=PARTNER_KINDS,
                  values=values or {"kind": "dealer", "country": "DE"}, errors=errors or {})


@router.get("/organizations")
def organizations_page(request: Request, admin: AdminPage, session: DbSession):
    return _organizations_page(request, session)


@router.post("/organizations")
def create_organization(request: Request, admin: AdminPage, session: DbSession, form: Form):
    values = texts(form, "kind", "partner_kind", "code", "country", "service_bays", *ADDRESS_FIELDS)
    values = {k: v for k, v in values.items() if v is not None}
    if "code" in values:
        values["code"] = values["code"].upper()
    if "country" in values:
        values["country"] = values["country"].upper()
    body, errors = validate(OrganizationIn, values)
    errors = _friendly(errors)
    if body is not None:
        try:
            organization = parties_service.create_organization(session=session, values=body.model_dump())
        except (Invalid, Conflict) as error:
            errors = {error.field or "form": error.message}
        else:
            parties_service.audit(session=session, actor=admin, action="organization.create",
                                  target=f"organization:{organization.id}", details={"code": organization.code})
            return _flash(f"/admin/organizations/{organization.id}", _("%(name)s is created.", name=organization.name))
    return _organizations_page(request, session, values=values, errors=errors, status_code=422)


def _organization_page(request: Request, organization, *, values=None, errors=None, status_code: int = 200):
    if values is None:
        values = {name: getattr(organization, name)
                  for name in (*ADDRESS_FIELDS, "service_bays", "dispatch_capacity", "is_active")}
        values |= {f"hours_{day}": spans for day, spans in _hours_text(organization.opening_hours).items()}
    return render(request, "admin/organization.html", status_code=status_code, organization=organization,
                  values=values, errors=errors or {}, days=DAYS,
                  dispatched=organization.partner_kind in parties_service.DISPATCHED_KINDS)


@router.get("/organizations/{organization_id}")
def organization_page(request: Request, organization_id: Id, admin: AdminPage, session: DbSession):
    return _organization_page(request, parties_service.get_organization(session=session,
                                                                        organization_id=organization_id))


@router.post("/organizations/{organization_id}")
def update_organization(request: Request, organization_id: Id, admin: AdminPage, session: DbSession,
                        form: Form):
    organization = parties_service.get_organization(session=session, organization_id=organization_id)
    values = texts(form, "service_bays", "dispatch_capacity", *ADDRESS_FIELDS) | {
        "is_active": form.get("is_active") == "yes"}
    values |= {f"hours_{day}": text(form, f"hours_{day}") or "" for day, _ in DAYS}
    opening_hours, errors = _parse_hours(form)
    if not any(opening_hours.values()) and not any((organization.opening_hours or {}).values()):
        opening_hours = organization.opening_hours  # no hours either way: not a change to audit
    changes = {k: values[k] for k in (*ADDRESS_FIELDS, "is_active")} | {"opening_hours": opening_hours,
                                                                        "service_bays": values["service_bays"] or 0}
    if organization.partner_kind in parties_service.DISPATCHED_KINDS:  # empty: takes every case offered
        changes["dispatch_capacity"] = values["dispatch_capacity"] or None
    if changes["name"] is None:
        errors["name"] = "An organization needs a name."
        changes.pop("name")
    body, schema_errors = validate(OrganizationUpdate, changes)
    errors = _friendly(schema_errors) | errors
    if not errors:
        changes = body.model_dump(mode="json", exclude_unset=True)
        changed = sorted(k for k, v in changes.items() if getattr(organization, k) != v)
        before = parties_service.snapshot(organization, changed)
        try:
            parties_service.update_organization(session=session, organization_id=organization.id, changes=changes)
        except Invalid as error:
            errors = {error.field or "form": error.message}
        else:
            parties_service.audit(session=session, actor=admin, action="organization.update",
                                  target=f"organization:{organization.id}", details={"fields": changed},
                                  before=before, after=parties_service.snapshot(organization, changed))
            return _flash(f"/admin/organizations/{organization.id}",
                          "Saved." if changed else "Nothing changed.")
    return _organization_page(request, organization, values=values, errors=errors, status_code=422)


# --- staff users ---------------------------------------------------------------------------------

def _roles() -> list[dict]:
    return [dict(value=role.value, label=role.label, kind=kind)
            for kind, _ in KINDS for role in sorted(parties_service.ROLES_BY_KIND[kind], key=lambda r: r.label)]


def _users_page(request: Request, session, *, q=None, organization_id=None, values=None, errors=None,
                status_code: int = 200):
    users = parties_service.list_users(session=session, organization_id=organization_id, q=q, limit=500)
    return render(request, "admin/users.html", status_code=status_code, users=users, q=q or "",
                  organization_id=organization_id, roles=_roles(), kinds=KIND_GROUPS,
                  organizations=parties_service.list_organizations(session=session),
                  values=values or {}, errors=errors or {})


@router.get("/users")
def users_page(request: Request, admin: AdminPage, session: DbSession, q: str | None = None,
               organization_id: Id | None = None):
    return _users_page(request, session, q=(q or "").strip() or None, organization_id=organization_id)


@router.post("/users")
def create_user(request: Request, admin: AdminPage, session: DbSession, form: Form):
    values = texts(form, "email", "display_name", "role", "organization_id")
    body, errors = validate(StaffUserIn, values | {"password": str(form.get("password") or "")})
    errors = {key: USER_MESSAGES.get(key, message) for key, message in errors.items()}
    if body is not None:
        try:
            user = parties_service.create_user(session=session, email=body.email, password=body.password,
                                               display_name=body.display_name, role=body.role,
                                               organization_id=body.organization_id)
        except (Invalid, Conflict) as error:
            errors = {error.field or "form": error.message}
        else:
            parties_service.audit(session=session, actor=admin, action="user.create", target=f"user:{user.id}",
                                  details={"role": user.role, "organization_id": user.organization_id})
            return _flash("/admin/users", _("%(display_name)s can now log in as “%(role)s”.", display_name=user.display_name,
                                                    role=Role(user.role).label))
    return _users_page(request, session, values=values, errors=errors, status_code=422)


@router.post("/users/{user_id}/active")
def set_user_active(request: Request, user_id: Id, admin: AdminPage, session: DbSession, form: Form):
    active = form.get("active") == "yes"
    if user_id == admin.user_id and not active:
        return _flash("/admin/users", _("You cannot deactivate your own account."))
    before = parties_service.snapshot(parties_service.get_user(session=session, user_id=user_id), ["is_active"])
    user = parties_service.update_user(session=session, user_id=user_id, changes={"is_active": active})
    parties_service.audit(session=session, actor=admin, action="user.update", target=f"user:{user.id}",
                          details={"fields": ["is_active"], "is_active": active}, before=before,
                          after=parties_service.snapshot(user, ["is_active"]))
    return _flash("/admin/users", _("%(name)s is active.", name=user.display_name) if active
                          else _("%(name)s is deactivated.", name=user.display_name))


# --- audit ---------------------------------------------------------------------------------------

@router.get("/audit")
def audit_page(request: Request, admin: AdminPage, session: DbSession, page: int = Query(default=1, ge=1, le=100_000)):
    entries = audit_trail.entries(session=session, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render(request, "admin/audit.html", entries=entries[:PAGE_SIZE], page=page,
                  has_next=len(entries) > PAGE_SIZE)


# --- who may read for which purpose ------------------------------------------------------------------

@router.get("/purposes")
def purposes_page(request: Request, admin: AdminPage, session: DbSession):
    """What each role may state as the purpose of a read: anything else is a 404 like a missing grant."""
    return render(request, "admin/purposes.html", rows=role_purpose_rows(session))
