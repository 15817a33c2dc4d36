"""Pages: sales — configurator. Choose a model and trim, choose options with the price and any problem
shown as you go, save, and get a code and a page that anyone holding the code can open.

The forms work without JavaScript ("Update price" re-renders the page); with htmx the summary is
refreshed on every change through the ``/check`` fragment. Visitors without a session protect their
forms with the signed nonce of ``form_guard`` (as login and signup do); logged-in users' forms carry
the session's CSRF token, which ``web.deps`` checks.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request

from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.sales import configurator
from forecourt.sales.models import Configuration
from forecourt.web import viewer
from forecourt.web.deps import DbSession, MaybePrincipal
from forecourt.web.links import page_url
from forecourt.web.views import form_guard
from forecourt.web.views.render import redirect, render

router = APIRouter(tags=["pages"])


def _page(request: Request, principal, template: str, status_code: int = 200, **context):
    """Renders; visitors without a session get the nonce cookie and signed token their form posts back."""
    if principal is not None:
        return render(request, template, status_code=status_code, form_token="", **context)
    nonce, signed = form_guard.form_token(request)
    response = render(request, template, status_code=status_code, form_token=signed, **context)
    return form_guard.attach(request, response, nonce)


def _guard(request: Request, principal, form_token: str) -> None:
    if principal is None:  # with a session, web.deps has already checked the CSRF token
        form_guard.check(request, form_token)


def _chosen_options(option: list[str] = Form(default=[]), option_colour: str = Form(""),
                    option_wheels: str = Form(""), option_interior: str = Form("")) -> list[str]:
    """The form's choices: each kind a car has exactly one of (colour, wheels, interior) is its own radio
    group, so choosing the wheels leaves the colour as it was; packages and features are ticked freely."""
    return [*option, *(code for code in (option_colour, option_wheels, option_interior) if code)]


ChosenOptions = Annotated[list[str], Depends(_chosen_options)]


def _current_trim(session, trim_code: str):
    trim = configurator.trim_by_code(session=session, trim_code=trim_code)
    if trim.year_to is not None:
        raise NotFound(f"The {trim.model.name} {trim.name} is no longer built.")
    return trim


def _form(request: Request, principal, session, trim, chosen: list[str], status_code: int = 200,
          result=None):
    market = viewer.market_of(request)
    result = result or configurator.check(session=session, trim_id=trim.id, option_codes=chosen, market=market)
    return _page(request, principal, "configurator/form.html", status_code=status_code, trim=trim,
                 offer=configurator.trim_options(session=session, trim=trim, market=market), result=result,
                 chosen=set(result.option_codes) | set(chosen))


@router.get("/configure")
def choose_model(request: Request, session: DbSession, principal: MaybePrincipal):
    return render(request, "configurator/index.html",
                  catalogue=configurator.catalogue(session=session, market=viewer.market_of(request)))


@router.get("/configure/{trim_code}")
def configure(trim_code: str, request: Request, session: DbSession, principal: MaybePrincipal,
              option: list[str] = Query(default=[])):
    """``?option=`` pre-selects options, so a saved configuration can be the start of a new one."""
    return _form(request, principal, session, _current_trim(session, trim_code), option)


@router.post("/configure/{trim_code}/check")
def check_fragment(trim_code: str, request: Request, session: DbSession, principal: MaybePrincipal,
                   option: ChosenOptions, form_token: str = Form("")):
    """The live summary (htmx): problems in words and the running total."""
    _guard(request, principal, form_token)
    trim = _current_trim(session, trim_code)
    result = configurator.check(session=session, trim_id=trim.id, option_codes=option,
                                market=viewer.market_of(request))
    return render(request, "configurator/_summary.html", trim=trim, result=result)


@router.post("/configure/{trim_code}")
def save(trim_code: str, request: Request, session: DbSession, principal: MaybePrincipal,
         option: ChosenOptions, action: str = Form("save"), form_token: str = Form("")):
    _guard(request, principal, form_token)
    trim = _current_trim(session, trim_code)
    result = configurator.check(session=session, trim_id=trim.id, option_codes=option,
                                market=viewer.market_of(request))
    if action != "save":
        return _form(request, principal, session, trim, option, result=result)
    if not result.valid:
        return _form(request, principal, session, trim, option, status_code=422, result=result)
    saved = configurator.save(session=session, trim_id=trim.id, option_codes=option, market=result.market,
                              **configurator.owner_of(principal))
    return redirect(f"/c/{configurator.display_code(saved.code)}")


@router.get("/c")
def find_by_code(request: Request, session: DbSession, principal: MaybePrincipal, code: str | None = None):
    if code is None:
        return render(request, "configurator/lookup.html", code="", error=None)
    saved = configuration_or_explanation(request, session, code)
    if not isinstance(saved, Configuration):
        return saved
    return redirect(f"/c/{configurator.display_code(saved.code)}")


def configuration_or_explanation(request: Request, session, code: str):
    """The configuration, or the lookup page saying what is wrong with the code (mistyped or unknown)."""
    try:
        return configurator.get_by_code(session=session, code=code)
    except Invalid as error:
        return render(request, "configurator/lookup.html", status_code=422, code=code, error=error.message)
    except NotFound:
        return render(request, "configurator/lookup.html", status_code=404, code=code,
                      error=_("No configuration has this code. Please check it, or configure a car anew."))


@router.get("/c/{code}")
def configuration_page(code: str, request: Request, session: DbSession, principal: MaybePrincipal):
    """What anyone holding the code sees; deliberately nothing about who made it."""
    saved = configuration_or_explanation(request, session, code)
    if not isinstance(saved, Configuration):
        return saved
    view = configurator.describe(session=session, configuration=saved)
    return render(request, "configurator/configuration.html", c=view, url=page_url(request, saved.code))
