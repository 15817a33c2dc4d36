"""Pages behind the links e-mailed to customers: set a password (claim), allow a dealer to make contact.

Opening a link changes nothing — mail scanners open links too — so each page asks for one more
click, a form protected like the login form (``form_guard``). A link that is used, expired or
unknown gets the same page, which says how to get a new one.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote_plus

from fastapi import APIRouter, Form, Request

from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import N_, _
from forecourt.customers import email_links
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.web.deps import SESSION_COOKIE, AppSettings, DbSession, cookie_secure
from forecourt.web.views import form_guard
from forecourt.web.views.render import home_for, redirect, render

router = APIRouter(tags=["pages"])


def _form(request: Request, template: str, status_code: int = 200, **context):
    nonce, signed = form_guard.form_token(request)
    response = render(request, template, status_code=status_code, form_token=signed, **context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link's token is in this page's address
    return form_guard.attach(request, response, nonce)


def _gone(request: Request):
    return render(request, "links/gone.html", status_code=404)


@router.get("/account/claim/{token}")
def claim_page(request: Request, token: str, session: DbSession):
    try:
        link = email_links.live(session=session, token=token, kind=email_links.CLAIM)
    except NotFound:
        return _gone(request)
    customer = customers_service.get(session=session, customer_id=link.customer_id)
    return _form(request, "links/claim.html", token=token, email=customer.email, errors={})


@router.post("/account/claim/{token}")
def claim(request: Request, token: str, session: DbSession, settings: AppSettings, password: str = Form(""),
          password_again: str = Form(""), form_token: str = Form("")):
    form_guard.check(request, form_token)
    try:
        link = email_links.live(session=session, token=token, kind=email_links.CLAIM)
    except NotFound:
        return _gone(request)
    email = customers_service.get(session=session, customer_id=link.customer_id).email
    if password != password_again:
        return _form(request, "links/claim.html", status_code=422, token=token, email=email,
                     errors={"password_again": _("The two passwords differ.")})
    try:
        with session.begin_nested():
            user = email_links.claim(session=session, token=token, password=password)
    except (Invalid, Conflict) as problem:
        return _form(request, "links/claim.html", status_code=422, token=token, email=email,
                     errors={"password": problem.message})
    # the person just proved they read the address's mail and chose the password: they are in
    user = parties_service.get_user(session=session, user_id=user.id)
    token, _row = parties_service.issue_token(session=session, user=user, kind="session",
                                              lifetime=timedelta(hours=settings.session_hours))
    response = redirect(home_for(parties_service.principal_for(user)) + "?flash="
                        + quote_plus(_("Your password is set, and you are logged in.")))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=cookie_secure(request),
                        max_age=settings.session_hours * 3600, path="/")
    return response


FORGOT_ANSWER = N_("If this address belongs to a Forecourt account, a link to choose a new password is on its way. "
                   "It works once, for 24 hours. Nothing arrived? Check the spam folder, or ask again in ten minutes.")


@router.get("/account/forgot")
def forgot_page(request: Request):
    return _form(request, "links/forgot.html", email="", sent=False)


@router.post("/account/forgot")
def forgot(request: Request, session: DbSession, email: str = Form(""), form_token: str = Form("")):
    """The same answer whether or not the address is known, so the form tells nobody who has an account."""
    form_guard.check(request, form_token)
    if "@" in email and len(email) <= 254:
        email_links.request_reset(session=session, email=email)
    return _form(request, "links/forgot.html", email=email, sent=True, answer=_(FORGOT_ANSWER))


@router.get("/contact/confirm/{token}")
def contact_page(request: Request, token: str, session: DbSession):
    try:
        _link, dealer = email_links.contact_request(session=session, token=token)
    except NotFound:
        return _gone(request)
    return _form(request, "links/contact.html", token=token, dealer=dealer)


@router.post("/contact/confirm/{token}")
def confirm_contact(request: Request, token: str, session: DbSession, form_token: str = Form("")):
    form_guard.check(request, form_token)
    try:
        _link, dealer = email_links.contact_request(session=session, token=token)
        email_links.confirm_contact(session=session, token=token)
    except NotFound:
        return _gone(request)
    return render(request, "links/contact_done.html", dealer=dealer)
