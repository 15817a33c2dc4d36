"""Logins for API clients: e-mail and password for a bearer token."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, status

from forecourt.customers import email_links
from forecourt.customers.schemas import SignUpIn, SignUpReceived
from forecourt.parties import service as parties_service
from forecourt.parties.schemas import LoginIn, TokenOut
from forecourt.web.deps import ApiPrincipal, AppSettings, DbSession, ReadFirstSession, client_address
from forecourt.web.logins import check_password
from forecourt.web.openapi import answers

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut, responses=answers(429))
def login(body: LoginIn, request: Request, session: ReadFirstSession, settings: AppSettings):
    user = check_password(session, settings, body.email, body.password, client_address(request))
    token, row = parties_service.issue_token(session=session, user=user, kind="api",
                                             lifetime=timedelta(days=settings.api_token_days))
    return TokenOut(access_token=token, expires_at=row.expires_at, role=user.role)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, principal: ApiPrincipal, session: DbSession):
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        parties_service.revoke_token(session=session, token=header[7:].strip())


@router.post("/signup", response_model=SignUpReceived, status_code=status.HTTP_202_ACCEPTED)
def sign_up(body: SignUpIn, session: DbSession):
    """The same answer whether or not the address is known: the link goes to the address either way."""
    email_links.request_account(session=session, email=str(body.email), profile=body.model_dump(exclude={"email"}))
    return SignUpReceived(detail=str(email_links.SIGNUP_ANSWER))
