"""Organizations, staff and customer accounts, logins, tokens and the admin audit trail."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forecourt.core import auth, i18n, zones
from forecourt.core.auth import Principal, Role
from forecourt.core.clock import now
from forecourt.core.errors import Conflict, Invalid, NotFound, TooManyAttempts
from forecourt.core.geo import distance_km
from forecourt.core.i18n import _
from forecourt.parties import markets
from forecourt.parties.models import AuditEntry, AuthToken, LoginAttempt, Organization, User

ORGANIZATION_KINDS = ("carmaker", "dealer", "partner")
PARTNER_KINDS = ("finance", "insurance", "roadside", "emergency")
# Partners the On Call desk dispatches to (their ``dispatch_capacity`` caps the cases they take at once).
DISPATCHED_KINDS = ("roadside", "emergency")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Which roles belong to which kind of organization.
ROLES_BY_KIND = {
    "carmaker": {Role.CARMAKER_ADMIN, Role.CALL_CENTRE_AGENT},
    "dealer": {Role.DEALER_SALES, Role.DEALER_SERVICE, Role.DEALER_CASHIER},
    "partner": {Role.PARTNER_ANALYST},
}


# --- organizations -------------------------------------------------------------------------------

def get_organization(*, session: Session, organization_id: int) -> Organization:
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("Organization not found")
    return organization


def organization_or_none(*, session: Session, organization_id: int) -> Organization | None:
    """For callers that answer a missing organization in their own words (a dealer that does not deliver,
    a tow company without an address)."""
    return session.get(Organization, organization_id)


def get_organization_by_code(*, session: Session, code: str) -> Organization:
    organization = session.scalars(select(Organization).where(Organization.code == code)).first()
    if organization is None:
        raise NotFound("Organization not found")
    return organization


def list_organizations(*, session: Session, kind: str | None = None, active_only: bool = True) -> list[Organization]:
    query = select(Organization).order_by(Organization.kind, Organization.name)
    if kind:
        query = query.where(Organization.kind == kind)
    if active_only:
        query = query.where(Organization.is_active.is_(True))
    return list(session.scalars(query))


def located_organizations(*, session: Session, kind: str, partner_kind: str | None = None,
                           with_service_bays: bool = False) -> list[Organization]:
    """Active organizations of a kind that stand on the map (one query): the candidates for help nearby."""
    query = select(Organization).where(Organization.is_active.is_(True), Organization.kind == kind,
                                       Organization.latitude.is_not(None), Organization.longitude.is_not(None))
    if partner_kind is not None:
        query = query.where(Organization.partner_kind == partner_kind)
    if with_service_bays:
        query = query.where(Organization.service_bays > 0)
    return list(session.scalars(query))


def names_of(*, session: Session, organization_ids) -> dict[int, str]:
    """Organization names by id, in one query (lists that name many providers or dealers)."""
    ids = {i for i in organization_ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids))).all())


def nearest_dealers(*, session: Session, latitude: float, longitude: float, limit: int = 5) -> list[tuple[Organization, float]]:
    dealers = [d for d in list_organizations(session=session, kind="dealer") if d.position is not None]
    ranked = sorted(((d, distance_km(latitude, longitude, d.latitude, d.longitude)) for d in dealers),
                    key=lambda pair: pair[1])
    return ranked[:limit]


def _check_organization(values: dict) -> None:
    if values.get("kind") not in ORGANIZATION_KINDS:
        raise Invalid(_("Kind must be one of %(values)s.", values=', '.join(ORGANIZATION_KINDS)), field="kind")
    if values["kind"] == "partner" and values.get("partner_kind") not in PARTNER_KINDS:
        raise Invalid(_("A partner needs a partner kind: %(values)s.", values=', '.join(PARTNER_KINDS)), field="partner_kind")
    if values["kind"] != "partner" and values.get("partner_kind"):
        raise Invalid(_("Only partners have a partner kind."), field="partner_kind")
    if values.get("dispatch_capacity") is not None and values.get("partner_kind") not in DISPATCHED_KINDS:
        raise Invalid(_("Only roadside and emergency partners take dispatches, so only they have a capacity."),
                      field="dispatch_capacity")
    if (values.get("latitude") is None) != (values.get("longitude") is None):
        missing = "longitude" if values.get("longitude") is None else "latitude"
        raise Invalid(_("Give the position as both latitude and longitude, or neither."), field=missing)
    for day, spans in (values.get("opening_hours") or {}).items():
        if day not in WEEKDAYS:
            raise Invalid(_("Unknown weekday '%(day)s'; use %(values)s.", day=day, values=', '.join(WEEKDAYS)), field="opening_hours")
        for span in spans:
            if len(span) != 2 or not span[0] < span[1]:
                raise Invalid(_("Opening hours on %(day)s must be [opens, closes] with opens first.", day=day),
                              field="opening_hours")


def _place(session: Session, values: dict, *, current: Organization | None = None) -> dict:
    """Market, time zone, phone and postcode of new or changed values, checked against the market.

    A new organization without a market belongs to its country's (else the default market) and,
    without a time zone, keeps its market's clock."""
    values = dict(values)
    if current is None or "market" in values:
        code = values.get("market") or (current.market if current else None)
        market = (markets.get_market(session=session, code=code) if code
                  else markets.market_for_country(session=session, country=values.get("country")))
        values["market"] = market.code
        if current is None and not values.get("time_zone"):
            values["time_zone"] = market.time_zone
    else:
        market = markets.market_or_default(session=session, code=current.market)
    if values.get("time_zone") is not None:
        values["time_zone"] = zones.check_zone(values["time_zone"])
    return markets.check_contact(market=market, values=values)


def create_organization(*, session: Session, values: dict) -> Organization:
    _check_organization(values)
    values = _place(session, values)
    if session.scalars(select(Organization.id).where(Organization.code == values["code"])).first():
        raise Conflict(_("An organization with code '%(code)s' already exists.", code=values['code']), field="code")
    organization = Organization(**values)
    session.add(organization)
    session.flush()
    return organization


def update_organization(*, session: Session, organization_id: int, changes: dict) -> Organization:
    organization = get_organization(session=session, organization_id=organization_id)
    merged = {c: getattr(organization, c)
              for c in ("kind", "partner_kind", "opening_hours", "latitude", "longitude", "dispatch_capacity")} | changes
    _check_organization(merged)
    changes = _place(session, changes, current=organization)
    for key, value in changes.items():
        setattr(organization, key, value)
    session.flush()
    return organization


def carmaker(*, session: Session) -> Organization:
    """The carmaker that runs the network (the first one made); national importers are carmaker
    organizations of their own market, after it."""
    organization = session.scalars(select(Organization).where(Organization.kind == "carmaker")
                                   .order_by(Organization.id)).first()
    if organization is None:
        raise NotFound("No carmaker configured")
    return organization


# --- users ---------------------------------------------------------------------------------------

def get_user(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


def list_users(*, session: Session, organization_id: int | None = None, q: str | None = None,
               limit: int = 200, offset: int = 0) -> list[User]:
    query = select(User).where(User.role != Role.CUSTOMER.value).order_by(User.email)
    if organization_id:
        query = query.where(User.organization_id == organization_id)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(func.lower(User.email).like(like), func.lower(User.display_name).like(like)))
    return list(session.scalars(query.limit(limit).offset(offset)))


def email_taken(*, session: Session, email: str) -> bool:
    return session.scalars(select(User.id).where(func.lower(User.email) == email.lower())).first() is not None


def create_user(*, session: Session, email: str, password: str, display_name: str, role: Role,
                organization_id: int | None = None, customer_id: int | None = None) -> User:
    email = email.strip().lower()
    if len(password) < 10:
        raise Invalid(_("Use at least 10 characters for the password."), field="password")
    if email_taken(session=session, email=email):
        raise Conflict(_("An account with this e-mail already exists."), field="email")
    if role is Role.CUSTOMER:
        if customer_id is None or organization_id is not None:
            raise Invalid(_("A customer account belongs to a customer, not an organization."), field="role")
    else:
        if organization_id is None:
            raise Invalid(_("Staff belong to an organization."), field="organization_id")
        organization = get_organization(session=session, organization_id=organization_id)
        if role not in ROLES_BY_KIND[organization.kind]:
            raise Invalid(_("The role '%(label)s' does not exist at a %(kind)s.", label=role.label, kind=organization.kind), field="role")
    user = User(email=email, password_hash=auth.hash_password(password), display_name=display_name,
                role=role.value, organization_id=organization_id, customer_id=customer_id)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(_("An account with this e-mail already exists."), field="email") from None
    return user


def update_user(*, session: Session, user_id: int, changes: dict) -> User:
    user = get_user(session=session, user_id=user_id)
    if "password" in changes:
        password = changes.pop("password")
        if len(password) < 10:
            raise Invalid(_("Use at least 10 characters for the password."), field="password")
        user.password_hash = auth.hash_password(password)
        revoke_tokens(session=session, user_id=user.id)
    for key, value in changes.items():
        setattr(user, key, value)
    if changes.get("is_active") is False:
        revoke_tokens(session=session, user_id=user.id)
    session.flush()
    return user


def set_language(*, session: Session, user_id: int, language: str | None) -> User:
    """The language a staff member reads in; None goes back to their browser's."""
    user = get_user(session=session, user_id=user_id)
    user.language = i18n.check_language(language) if language else None
    session.flush()
    return user


def principal_for(user: User, *, via_token: bool = False) -> Principal:
    return Principal(user_id=user.id, role=Role(user.role), display_name=user.display_name,
                     organization_id=user.organization_id, customer_id=user.customer_id, via_token=via_token)


# --- login, sessions and tokens ------------------------------------------------------------------

@dataclass(frozen=True)
class LoginCheck:
    """What ``check_login`` found: whom the e-mail names, whether the password was right, and when."""

    email: str
    address: str
    user: User | None
    ok: bool
    moment: datetime


def authenticate(*, session: Session, email: str, password: str, address: str,
                 max_failures: int, window_seconds: int, backoff_seconds: int = 30) -> User:
    """Checks the password; a client address that keeps failing must wait longer and longer.

    Failures are counted per client address, never per account: a stranger who guesses at someone's
    e-mail slows down only themself, and the owner, from their own address, always gets in. After
    ``max_failures`` failures within the window the address waits ``backoff_seconds`` after its last
    failure, twice as long after each further one, at most the window."""
    check = check_login(session=session, email=email, password=password, address=address,
                        max_failures=max_failures, window_seconds=window_seconds, backoff_seconds=backoff_seconds)
    return record_login(session=session, check=check, password=password)


def check_login(*, session: Session, email: str, password: str, address: str,
                max_failures: int, window_seconds: int, backoff_seconds: int = 30) -> LoginCheck:
    """The reading half of ``authenticate``: the wait, the account, the password hash. It writes
    nothing, so a caller may run it before taking the database's write turn: the hash is slow on
    purpose, and nobody else's write should wait for it."""
    email = email.strip().lower()
    moment = now()
    failures, last = session.execute(select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(
        LoginAttempt.address == address, LoginAttempt.at >= moment - timedelta(seconds=window_seconds))).one()
    if failures >= max_failures:
        wait = min(window_seconds, backoff_seconds * 2 ** (failures - max_failures))
        ready = last + timedelta(seconds=wait)
        if moment < ready:
            raise TooManyAttempts(retry_after=math.ceil((ready - moment).total_seconds()))
    user = session.scalars(select(User).where(User.email == email)).first()
    # Hash even for unknown e-mails so timing does not reveal which accounts exist.
    ok = auth.verify_password(user.password_hash if user else _DUMMY_HASH(), password)
    return LoginCheck(email=email, address=address, user=user, ok=bool(ok and user and can_log_in(user)),
                      moment=moment)


def record_login(*, session: Session, check: LoginCheck, password: str) -> User:
    """The writing half of ``authenticate``: a failure is kept (``Invalid``), a success forgives."""
    user, email, address, moment = check.user, check.email, check.address, check.moment
    if not check.ok or user is None:
        session.add(LoginAttempt(email=email, address=address, at=moment))
        session.flush()
        raise Invalid(_("Wrong e-mail or password."), field="password")
    if auth.needs_rehash(user.password_hash):
        user.password_hash = auth.hash_password(password)
    user.last_login_at = moment
    # This client's typos on this account are forgiven; its failures on other accounts still count.
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.address == address))
    return user


_dummy: list[str] = []


def _DUMMY_HASH() -> str:
    if not _dummy:
        _dummy.append(auth.hash_password("not-a-real-password"))
    return _dummy[0]


def issue_token(*, session: Session, user: User, kind: str, lifetime: timedelta) -> tuple[str, AuthToken]:
    token = auth.new_token()
    row = AuthToken(digest=auth.token_digest(token), kind=kind, user_id=user.id,
                    csrf_token=auth.new_token() if kind == "session" else None,
                    created_at=now(), expires_at=now() + lifetime)
    session.add(row)
    session.flush()
    return token, row


def resolve_token(*, session: Session, token: str, kind: str) -> tuple[User, AuthToken] | None:
    # One round trip: token, user and organization together (this runs on every request).
    found = session.execute(select(AuthToken, User).join(User, User.id == AuthToken.user_id)
                            .where(AuthToken.digest == auth.token_digest(token), AuthToken.kind == kind)).first()
    if found is None:
        return None
    row, user = found
    if row.expires_at <= now() or not can_log_in(user):
        return None
    return user, row


def can_log_in(user: User) -> bool:
    """A deactivated account, or any account of a deactivated organization, is locked out at once."""
    return user.is_active and (user.organization is None or user.organization.is_active)


def revoke_token(*, session: Session, token: str) -> None:
    session.execute(delete(AuthToken).where(AuthToken.digest == auth.token_digest(token)))


def revoke_tokens(*, session: Session, user_id: int) -> None:
    session.execute(delete(AuthToken).where(AuthToken.user_id == user_id))


# --- audit ---------------------------------------------------------------------------------------

SECRET_FIELDS = frozenset({"password", "password_hash"})


def snapshot(obj, fields) -> dict:
    """The stored values of ``fields`` as the audit trail keeps them (plain JSON; secrets never)."""
    return {f: json.loads(json.dumps(getattr(obj, f, None), default=str)) for f in fields if f not in SECRET_FIELDS}


def audit(*, session: Session, actor: Principal, action: str, target: str, details: dict | None = None,
          before: dict | None = None, after: dict | None = None) -> None:
    """One row of the admin audit trail. With ``before`` and ``after`` (``snapshot``s) it keeps what
    each changed field was and became, so a reader sees the change itself, not only its name."""
    details = dict(details or {})
    if before is not None and after is not None:
        details["changes"] = {k: [before.get(k), after[k]] for k in sorted(after) if before.get(k) != after[k]}
    session.add(AuditEntry(actor_user_id=actor.user_id, action=action, target=target, details=details, at=now()))


def list_audit(*, session: Session, limit: int = 200, offset: int = 0) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                .limit(limit).offset(offset)))


def customer_account(*, session: Session, customer_id: int) -> User | None:
    return session.scalars(select(User).where(User.customer_id == customer_id)).first()


def tokens_of(*, session: Session, user_id: int) -> list[AuthToken]:
    return list(session.scalars(select(AuthToken).where(AuthToken.user_id == user_id)))


def close_account(*, session: Session, user_id: int) -> None:
    """Remove a login entirely (erasure): its sessions, tokens and the account row."""
    revoke_tokens(session=session, user_id=user_id)
    session.delete(get_user(session=session, user_id=user_id))
    session.flush()
