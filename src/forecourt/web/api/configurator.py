"""JSON routes: sales — configurator. Public: anyone may configure a car and open a configuration by its code.

A logged-in customer's configuration is linked to them, a dealer's to the dealership; what the code
opens never says who that was.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from forecourt.core.auth import Role
from forecourt.core.errors import Invalid, NotFound
from forecourt.sales import configurator
from forecourt.sales.schemas.configurator import (CheckOut, ConfigurationIn, ConfigurationOut, OptionGroup,
                                                  OptionOut, SavedOut, TrimOptionsOut)
from forecourt.vehicles import service as vehicles_service
from forecourt.web import viewer
from forecourt.web.deps import DbSession, MaybePrincipal

router = APIRouter(prefix="/api", tags=["sales: configurator"])

DEALER_ROLES = (Role.DEALER_SALES, Role.DEALER_SERVICE)


def trim_options(session, trim, market: str | None = None) -> TrimOptionsOut:
    """The trim's options priced in ``market``; options not offered there are left out."""
    where = configurator.market_for(session=session, code=market)
    notes = configurator.rules_in_words(session=session, trim_id=trim.id)
    groups = []
    for kind, options in configurator.options_of(session=session, trim_id=trim.id).items():
        priced = [(o, configurator.option_price(session=session, option=o, market=where)) for o in options]
        groups.append(OptionGroup(kind=kind, label=configurator.KIND_LABELS[kind], one_of=kind in configurator.ONE_OF,
                                  options=[OptionOut.model_validate(o).model_copy(update={
                                      "notes": notes.get(o.code, []), "price": float(price.amount)})
                                      for o, price in priced if price is not None]))
    base = vehicles_service.trim_price(session=session, trim=trim, market=where)
    return TrimOptionsOut(model=trim.model.name, trim=trim.name, trim_code=trim.code, propulsion=trim.propulsion,
                          base_price=float(base.amount) if base else 0.0, currency=where.currency,
                          groups=[g for g in groups if g.options])


def page_url(request: Request, code: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/c/{configurator.display_code(code)}"


def owner_of(principal) -> dict:
    """Who the saved configuration belongs to: the customer, or the dealership it was made at."""
    if principal is None:
        return {}
    if principal.is_customer:
        return {"customer_id": principal.customer_id}
    if principal.role in DEALER_ROLES:
        return {"dealer_id": principal.organization_id}
    return {}


def _trim_in_body(session, trim_code: str):
    try:
        return configurator.trim_by_code(session=session, trim_code=trim_code)
    except NotFound as error:
        raise Invalid(error.what, field="trim_code") from None


@router.get("/catalogue/trims/{trim_code}/options", response_model=TrimOptionsOut)
def options_of_trim(trim_code: str, request: Request, session: DbSession, market: str | None = None):
    return trim_options(session, configurator.trim_by_code(session=session, trim_code=trim_code),
                        market or viewer.market_of(request))


@router.post("/configurations/check", response_model=CheckOut)
def check_configuration(body: ConfigurationIn, request: Request, session: DbSession):
    """Always 200 for a known trim: ``valid`` and ``problems`` say whether and why it cannot be built."""
    trim = _trim_in_body(session, body.trim_code)
    result = configurator.check(session=session, trim_id=trim.id, option_codes=body.option_codes,
                                market=body.market or viewer.market_of(request))
    return CheckOut(trim_code=trim.code, valid=result.valid, problems=result.problems,
                    option_codes=result.option_codes, lines=result.lines, base_price=float(result.base_price),
                    total_price=float(result.total_price), currency=result.currency)


@router.post("/configurations", response_model=SavedOut, status_code=status.HTTP_201_CREATED)
def save_configuration(body: ConfigurationIn, request: Request, session: DbSession, principal: MaybePrincipal):
    trim = _trim_in_body(session, body.trim_code)
    saved = configurator.save(session=session, trim_id=trim.id, option_codes=body.option_codes,
                              market=body.market or viewer.market_of(request), **owner_of(principal))
    url = page_url(request, saved.code)
    return SavedOut(code=saved.code, display_code=configurator.display_code(saved.code), url=url,
                    qr_url=f"/api/configurations/{saved.code}/qr.svg", total_price=float(saved.total_price),
                    currency=saved.currency)


@router.get("/configurations/{code}", response_model=ConfigurationOut)
def configuration_by_code(code: str, request: Request, session: DbSession):
    saved = configurator.get_by_code(session=session, code=code)
    view = configurator.describe(session=session, configuration=saved)
    return ConfigurationOut(**view, url=page_url(request, saved.code),
                            qr_url=f"/api/configurations/{saved.code}/qr.svg")


@router.get("/configurations/{code}/qr.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
def configuration_qr(code: str, request: Request, session: DbSession):
    saved = configurator.get_by_code(session=session, code=code)
    return Response(configurator.qr_svg(url=page_url(request, saved.code)), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})
