"""Log in, log out, sign up, and the front door that sends each person to their own home."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote_plus, urlparse

from fastapi import APIRouter, Form, Request

from forecourt.core.errors import Invalid, TooManyAttempts
from forecourt.core import i18n
from forecourt.core.i18n import _
from forecourt.customers import email_links
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.web.deps import (SESSION_COOKIE, AppSettings, DbSession, MaybePrincipal, ReadFirstSession,
                                client_address, cookie_secure)
from forecourt.web import viewer
from forecourt.web.logins import check_password
from forecourt.web.openapi import answers
from forecourt.web.views import form_guard
from forecourt.web.views.render import home_for, redirect, render

router = APIRouter(tags=["pages"])


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parsed = urlparse(target)
    return target if not parsed.scheme and not parsed.netloc and target.startswith("/") else None


@router.get("/")
def front_door(request: Request, principal: MaybePrincipal):
    if principal is None:
        return render(request, "home.html")
    return redirect(home_for(principal))


@router.get("/login")
def login_page(request: Request, principal: MaybePrincipal, next: str | None = None):
    if principal is not None:
        return redirect(_safe_next(next) or home_for(principal))
    return _guarded(request, "login.html", next=_safe_next(next) or "")


@router.post("/login", responses=answers(429))
def login(request: Request, session: ReadFirstSession, settings: AppSettings, email: str = Form(""),
          password: str = Form(""), next: str = Form(""), form_token: str = Form("")):
    form_guard.check(request, form_token)
    try:
        user = check_password(session, settings, email, password, client_address(request))
    except (Invalid, TooManyAttempts) as error:
        message = str(error) if isinstance(error, TooManyAttempts) else error.message
        return _guarded(request, "login.html", status_code=400 if isinstance(error, Invalid) else 429,
                      error=message, email=email, next=_safe_next(next) or "")
    token, row = parties_service.issue_token(session=session, user=user, kind="session",
                                             lifetime=timedelta(hours=settings.session_hours))
    response = redirect(_safe_next(next) or home_for(parties_service.principal_for(user)))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=cookie_secure(request),
                        max_age=settings.session_hours * 3600, path="/")
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession, principal: MaybePrincipal):
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        parties_service.revoke_token(session=session, token=token)
    response = redirect("/login?flash=" + quote_plus(_("You are logged out.")))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/signup")
def signup_page(request: Request):
    return _guarded(request, "signup.html", values={}, errors={})


@router.post("/signup")
def sign_up(request: Request, session: DbSession, email: str = Form(""), first_name: str = Form(""),
            last_name: str = Form(""), city: str = Form(""), form_token: str = Form("")):
    """Whether the address is new, already a customer's or already has a login, the page says the
    same: a link to set the password is on its way to the address (``email_links``)."""
    form_guard.check(request, form_token)
    values = dict(email=email, first_name=first_name, last_name=last_name, city=city)
    errors = {}
    if "@" not in email or len(email) > 254:
        errors["email"] = _("Enter your e-mail address.")
    if not first_name.strip():
        errors["first_name"] = _("Enter your given name(s).")
    if not last_name.strip():
        errors["last_name"] = _("Enter your family name.")
    if errors:
        return _guarded(request, "signup.html", status_code=422, values=values, errors=errors)
    email_links.request_account(session=session, email=email, profile=dict(
        first_name=first_name.strip()[:100], last_name=last_name.strip()[:100], city=city.strip()[:100] or None,
        market=viewer.market_of(request), language=i18n.current_locale()))  # the language they signed up in
    return render(request, "signup_sent.html", message=str(email_links.SIGNUP_ANSWER))


def _guarded(request: Request, template: str, status_code: int = 200, **context):
    """Render a form for visitors without a session, with its CSRF nonce cookie and signed token."""
    nonce, signed = form_guard.form_token(request)
    response = render(request, template, status_code=status_code, form_token=signed, **context)
    return form_guard.attach(request, response, nonce)


@router.post("/language")
def choose_language(request: Request, session: DbSession, principal: MaybePrincipal, language: str = Form(""),
                    next: str = Form("")):
    """The language switch of every page: saved to the reader's own setting when they are logged in,
    and in a cookie for everyone (a visitor's only memory of it). A language we do not speak changes
    nothing and says so."""
    target = _safe_next(next) or "/"
    chosen = i18n.supported(language)
    if chosen is None:
        message = _("%(code)s is not a language Forecourt speaks; choose one of %(known)s.",
                    code=repr(language[:35]), known=", ".join(i18n.LANGUAGES.values()))
        return redirect(f"{target}{'&' if '?' in target else '?'}flash={quote_plus(message)}")
    if principal is not None and principal.customer_id is not None:
        customers_service.set_language(session=session, customer_id=principal.customer_id, language=chosen)
    elif principal is not None:
        parties_service.set_language(session=session, user_id=principal.user_id, language=chosen)
    response = redirect(target)
    response.set_cookie(viewer.LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax",
                        secure=cookie_secure(request), path="/")
    return response
