"""Logins for API clients: e-mail and password for a bearer token."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, status

from forecourt.core.errors import Invalid
from forecourt.customers import service as customers_service
from forecourt.customers.schemas import CustomerOut, SignUpIn
from forecourt.parties import service as parties_service
from forecourt.parties.schemas import LoginIn, TokenOut
from forecourt.web.deps import ApiPrincipal, AppSettings, DbSession, client_address
from forecourt.web.openapi import answers

router = APIRouter(prefix="/api/auth", tags=["auth"])


def check_password(session, settings, email: str, password: str, address: str):
    """A failed attempt must be kept even though the request fails, or rate limiting forgets it."""
    try:
        return parties_service.authenticate(session=session, email=email, password=password, address=address,
                                            max_failures=settings.login_max_failures,
                                            window_seconds=settings.login_window_seconds)
    except Invalid:
        session.commit()
        raise


@router.post("/token", response_model=TokenOut, responses=answers(429))
def login(body: LoginIn, request: Request, session: DbSession, settings: AppSettings):
    user = check_password(session, settings, body.email, body.password, client_address(request))
    token, row = parties_service.issue_token(session=session, user=user, kind="api",
                                             lifetime=timedelta(days=settings.api_token_days))
    return TokenOut(access_token=token, expires_at=row.expires_at, role=user.role)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, principal: ApiPrincipal, session: DbSession):
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        parties_service.revoke_token(session=session, token=header[7:].strip())


@router.post("/signup", response_model=CustomerOut, status_code=status.HTTP_201_CREATED)
def sign_up(body: SignUpIn, session: DbSession):
    return customers_service.sign_up(session=session, email=body.email, password=body.password,
                                     profile=body.model_dump(exclude={"email", "password"}))
