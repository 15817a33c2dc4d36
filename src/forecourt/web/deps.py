"""Request dependencies: the transaction, the caller, the purpose they read for, CSRF."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from forecourt.core.auth import Principal, Role
from forecourt.core.config import Settings
from forecourt.consent import service as consent_service
from forecourt.core.db import claim_write, transaction
from forecourt.core.i18n import _
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.payments.providers import Gateway
from forecourt.sharing.photos import PhotoStore
from forecourt.web import connections, viewer
from forecourt.web import writes as writes_module

SESSION_COOKIE = "fc_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


async def connection_turn(request: Request) -> AsyncIterator[None]:
    """The request's turn at the database, waited for on the event loop (``web.connections``); held
    until its session is closed, which is when the route returns (a stream's pushes take their own)."""
    try:
        async with request.app.state.connection_gate.turn():
            yield
    except connections.Overloaded:
        request.app.state.write_stats.add("refused_busy")
        raise HTTPException(status_code=503, headers={"Retry-After": str(writes_module.RETRY_AFTER_SECONDS)},
                            detail=_("The service is very busy at this moment. Please try again in a few seconds.")) \
            from None


ConnectionTurn = Annotated[None, Depends(connection_turn, scope="function")]


def get_session(request: Request, _turn: ConnectionTurn) -> Iterator[Session]:
    """The request owns the transaction: commit when the route returns, roll back if it raises.

    A request that may write (POST, PUT, PATCH, DELETE, or a read run again as a writer) takes the
    database's write turn before it begins, waiting at most ``FORECOURT_WRITE_WAIT_SECONDS``; a read
    never waits, and on SQLite its access-log rows are written, batched, just before the answer (``web.writes``)."""
    yield from _session(request, writes=request.method in UNSAFE)


def get_read_first_session(request: Request, _turn: ConnectionTurn) -> Iterator[Session]:
    """For a route that does slow reading work before it writes (a login hashes the password): it
    begins as a read and calls ``begin_writing`` before its first write."""
    yield from _session(request, writes=False)


def get_replica_session(request: Request, _turn: ConnectionTurn) -> Iterator[Session]:
    """For the heavy dashboards (pipeline, network benchmark): a session on the read replica
    (``FORECOURT_DATABASE_REPLICA_URL``; the primary when unset), so a network's analysts do not
    slow down the people writing. It only reads: nothing is committed, whatever the route did."""
    state = request.app.state
    session = (state.replica_sessionmaker or state.sessionmaker)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def begin_writing(session: Session, settings: Settings) -> None:
    """Ends the reading part of a read-first request (nothing was written) and takes the write turn
    for the rest: a transaction that read cannot become a writer on SQLite once another has committed."""
    session.commit()
    claim_write(session, wait=settings.write_wait_seconds)


def _session(request: Request, *, writes: bool) -> Iterator[Session]:
    state = request.app.state
    writes = writes or bool(request.scope.get(writes_module.WRITER))
    with transaction(state.sessionmaker, write=writes, wait=state.settings.write_wait_seconds) as session:
        later = None
        if not writes and session.get_bind().dialect.name == "sqlite":
            later = session.info[consent_service.ACCESS_LOG_LATER] = []
        yield session
    if later:  # committed: the reads happened, so they are logged
        request.scope.setdefault(writes_module.LATER, []).extend(later)


DbSession = Annotated[Session, Depends(get_session, scope="function")]
ReplicaSession = Annotated[Session, Depends(get_replica_session, scope="function")]
ReadFirstSession = Annotated[Session, Depends(get_read_first_session, scope="function")]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


AppSettings = Annotated[Settings, Depends(get_settings)]


def get_gateway(request: Request) -> Gateway:
    """The payment providers, built once per app from the settings."""
    return request.app.state.payment_gateway


PaymentGateway = Annotated[Gateway, Depends(get_gateway)]


def get_photo_store(request: Request) -> PhotoStore:
    """Photos of shared cars, in the directory the settings name (every web process shares it)."""
    return PhotoStore(request.app.state.settings.photos_dir)


Photos = Annotated[PhotoStore, Depends(get_photo_store)]


class LoginRequired(Exception):
    """Raised by page routes; the app turns it into a redirect to the login page."""


async def _look_up(request: Request, session: Session, token: str, kind: str):
    """(user, token row) for a token, or None, with the viewer's language and zone placed. The token is
    read in a worker thread: the request's first statement waits for a pooled connection, and waiting
    on the event loop would stop every other request of the process (open streams included) until one
    came free. The rest runs on the loop, where the viewer's context lives, on the connection the
    session now holds."""
    found = await run_in_threadpool(lambda: parties_service.resolve_token(session=session, token=token, kind=kind))
    if found is not None:
        viewer.place(request, session, found[0])
    return found


async def _resolve(request: Request, session: Session) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        found = await _look_up(request, session, header[7:].strip(), "api")
        if found is None:
            raise HTTPException(status_code=401, detail=_("Invalid or expired token"),
                                headers={"WWW-Authenticate": "Bearer"})
        return parties_service.principal_for(found[0], via_token=True)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = await _look_up(request, session, cookie, "session")
    if found is None:
        return None
    user, token_row = found
    request.state.csrf_token = token_row.csrf_token
    if request.method in UNSAFE:
        sent = request.headers.get("x-csrf-token")
        if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = (await request.form()).get("csrf_token")
        if not sent or not secrets.compare_digest(str(sent), token_row.csrf_token or ""):
            raise HTTPException(status_code=403, detail=_("The form has expired; reload the page and try again."))
    return parties_service.principal_for(user)


async def api_principal(request: Request, session: DbSession) -> Principal:
    principal = await _resolve(request, session)
    if principal is None:
        raise HTTPException(status_code=401, detail=_("Log in first"), headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = principal
    return principal


async def page_principal(request: Request, session: DbSession) -> Principal:
    principal = await _resolve(request, session)
    if principal is None:
        raise LoginRequired()
    request.state.principal = principal
    return principal


async def optional_principal(request: Request, session: DbSession) -> Principal | None:
    principal = await _resolve(request, session)
    request.state.principal = principal
    return principal


ApiPrincipal = Annotated[Principal, Depends(api_principal)]
PagePrincipal = Annotated[Principal, Depends(page_principal)]
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def _only(*roles: Role):
    def check(principal: Principal) -> Principal:
        if principal.role not in roles:
            # Staff routes do not exist for customers and vice versa.
            raise HTTPException(status_code=404, detail="Not found")
        return principal
    return check


# A dealer's cashier is not among them: the till needs no customer's data, so it reaches none.
STAFF_ROLES = (Role.CARMAKER_ADMIN, Role.CALL_CENTRE_AGENT, Role.DEALER_SALES, Role.DEALER_SERVICE,
               Role.PARTNER_ANALYST)


def api_staff(principal: ApiPrincipal) -> Principal:
    return _only(*STAFF_ROLES)(principal)


DEALER_ROLES = (Role.DEALER_SALES, Role.DEALER_SERVICE)


def api_dealer(principal: ApiPrincipal) -> Principal:
    """Dealer staff only: taking cars into stock and selling them is a dealer's act."""
    return _only(*DEALER_ROLES)(principal)


def api_customer(principal: ApiPrincipal) -> Principal:
    return _only(Role.CUSTOMER)(principal)


def api_admin(principal: ApiPrincipal) -> Principal:
    return _only(Role.CARMAKER_ADMIN)(principal)


def page_staff(principal: PagePrincipal) -> Principal:
    return _only(*STAFF_ROLES)(principal)


def page_customer(principal: PagePrincipal) -> Principal:
    return _only(Role.CUSTOMER)(principal)


def page_admin(principal: PagePrincipal) -> Principal:
    return _only(Role.CARMAKER_ADMIN)(principal)


# Sales: reps work their own dealer's leads and deals; the carmaker reads the network's pipeline.
PIPELINE_ROLES = (Role.DEALER_SALES, Role.CARMAKER_ADMIN)


def api_sales(principal: ApiPrincipal) -> Principal:
    return _only(Role.DEALER_SALES)(principal)


def page_dealer(principal: PagePrincipal) -> Principal:
    """A dealer's own staff (sales and service): follow-ups are the dealership's work."""
    return _only(*DEALER_ROLES)(principal)


def page_sales(principal: PagePrincipal) -> Principal:
    return _only(Role.DEALER_SALES)(principal)


def api_pipeline(principal: ApiPrincipal) -> Principal:
    return _only(*PIPELINE_ROLES)(principal)


def page_pipeline(principal: PagePrincipal) -> Principal:
    return _only(*PIPELINE_ROLES)(principal)


def api_cashier(principal: ApiPrincipal) -> Principal:
    """A dealer's till: its cashiers only (the service checks the order is their dealer's)."""
    return _only(Role.DEALER_CASHIER)(principal)


def page_cashier(principal: PagePrincipal) -> Principal:
    return _only(Role.DEALER_CASHIER)(principal)


def api_agent(principal: ApiPrincipal) -> Principal:
    """On Call: the carmaker's call-centre agents only; the cases do not exist for anyone else."""
    return _only(Role.CALL_CENTRE_AGENT)(principal)


def page_agent(principal: PagePrincipal) -> Principal:
    return _only(Role.CALL_CENTRE_AGENT)(principal)


Cashier = Annotated[Principal, Depends(api_cashier)]
CashierPage = Annotated[Principal, Depends(page_cashier)]
Agent = Annotated[Principal, Depends(api_agent)]
AgentPage = Annotated[Principal, Depends(page_agent)]
Staff = Annotated[Principal, Depends(api_staff)]
SalesStaff = Annotated[Principal, Depends(api_sales)]
SalesPage = Annotated[Principal, Depends(page_sales)]
DealerPage = Annotated[Principal, Depends(page_dealer)]
PipelineViewer = Annotated[Principal, Depends(api_pipeline)]
PipelinePage = Annotated[Principal, Depends(page_pipeline)]
DealerStaff = Annotated[Principal, Depends(api_dealer)]
Me = Annotated[Principal, Depends(api_customer)]
Admin = Annotated[Principal, Depends(api_admin)]
StaffPage = Annotated[Principal, Depends(page_staff)]
MePage = Annotated[Principal, Depends(page_customer)]
AdminPage = Annotated[Principal, Depends(page_admin)]


def stated_purpose(session: Session, principal: Principal, purpose: str | None) -> str:
    """The purpose the caller reads for: stated in the request, or the usual one for their role."""
    return customers_service.stated_purpose(session=session, principal=principal, purpose=purpose)


def client_address(request: Request) -> str:
    """The client, as ``forecourt serve`` sees it: behind a proxy listed in FORECOURT_FORWARDED_ALLOW_IPS,
    the address that proxy forwarded (uvicorn rewrites the client from X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cookie_secure(request: Request) -> bool:
    """Cookies are ``Secure`` unless FORECOURT_COOKIE_SECURE says otherwise or the site is served on
    this machine over plain HTTP (``make run``): a deployment that forgets the setting still keeps
    its session cookies off unencrypted connections."""
    configured = request.app.state.settings.cookie_secure
    if configured is not None:
        return configured
    return not (request.url.scheme == "http" and _is_local(request.url.hostname or ""))
