"""CSRF protection for the forms people fill in before they have a session (log in, sign up).

Logged-in forms carry the session's own token (``web.deps``). Before login there is no session, so
the page sets a random nonce cookie and puts the nonce, signed with the secret key, in the form:
another site can make a browser post the form, but it cannot read the signed value to send along.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from forecourt.core.auth import new_token
from forecourt.core.i18n import _
from forecourt.web.deps import cookie_secure

FORM_COOKIE = "fc_form"
MAX_AGE_SECONDS = 4 * 3600


def _signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.secret_key, salt="forecourt-anonymous-form")


def form_token(request: Request) -> tuple[str, str]:
    """(nonce for the cookie, signed value for the hidden field); reuses the visitor's nonce if any."""
    nonce = request.cookies.get(FORM_COOKIE) or new_token()
    return nonce, _signer(request).dumps(nonce)


def attach(request: Request, response: Response, nonce: str) -> Response:
    response.set_cookie(FORM_COOKIE, nonce, httponly=True, samesite="strict", max_age=MAX_AGE_SECONDS, path="/",
                        secure=cookie_secure(request))
    return response


def check(request: Request, signed: str) -> None:
    nonce = request.cookies.get(FORM_COOKIE, "")
    try:
        expected = _signer(request).loads(signed or "", max_age=MAX_AGE_SECONDS)
    except BadSignature:
        expected = None
    if not nonce or not isinstance(expected, str) or not hmac.compare_digest(expected, nonce):
        raise HTTPException(status_code=403, detail=_("The form has expired; reload the page and try again."))
