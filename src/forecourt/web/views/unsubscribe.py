"""Pages: one-click unsubscribe (RFC 8058) from an e-mail that rested on the reader's consent.

``GET`` only shows what the link would stop and a button, because mail scanners open links; the
``POST`` (the button, or the mail provider's own "Unsubscribe" sending ``List-Unsubscribe=One-Click``
without cookies) withdraws the grants the link names — one sender's purpose from a link in the text, or
every sender of the e-mail from its List-Unsubscribe header. The link itself is the credential
(``consent.unsubscribe``); a link we did not sign, another person's link opened while logged in, or a
link used again changes nothing and says so.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from forecourt.consent import unsubscribe
from forecourt.core.errors import NotFound
from forecourt.core.i18n import _
from forecourt.web.deps import AppSettings, DbSession, MaybePrincipal
from forecourt.web.views.render import render

router = APIRouter(tags=["pages"])


def _visitor(principal) -> int | None:
    return principal.customer_id if principal is not None and principal.is_customer else None


def _refused(request: Request, error: NotFound):
    return render(request, "unsubscribe/page.html", status_code=404, problem=error.what,
                  outcome=None, token=None, about=None)


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str, session: DbSession, settings: AppSettings,
                     principal: MaybePrincipal):
    try:
        named = unsubscribe.read(secret_key=settings.secret_key, token=token)
        if _visitor(principal) not in (None, named.customer_id):
            raise NotFound(_("This unsubscribe link was sent to someone else."))
        about = unsubscribe.describe(session=session, request=named)
    except NotFound as error:
        return _refused(request, error)
    return render(request, "unsubscribe/page.html", problem=None, outcome=None, token=token, about=about)


@router.post("/unsubscribe/{token}")
def unsubscribe_now(request: Request, token: str, session: DbSession, settings: AppSettings,
                    principal: MaybePrincipal):
    try:
        outcome = unsubscribe.withdraw(session=session, secret_key=settings.secret_key, token=token,
                                       visitor_customer_id=_visitor(principal))
    except NotFound as error:
        return _refused(request, error)
    return render(request, "unsubscribe/page.html", problem=None, outcome=outcome, token=token, about=outcome)
