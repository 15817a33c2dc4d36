"""JSON routes: sales — configurator. Public: anyone may configure a car and open a configuration by its code.

A logged-in customer's configuration is linked to them, a dealer's to the dealership; what the code
opens never says who that was.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from forecourt.core.errors import Invalid, NotFound
from forecourt.sales import configurator
from forecourt.sales.schemas.configurator import CheckOut, ConfigurationIn, ConfigurationOut, SavedOut, TrimOptionsOut
from forecourt.web import viewer
from forecourt.web.deps import DbSession, MaybePrincipal
from forecourt.web.links import page_url

router = APIRouter(prefix="/api", tags=["sales: configurator"])

def _trim_in_body(session, trim_code: str):
    try:
        return configurator.trim_by_code(session=session, trim_code=trim_code)
    except NotFound as error:
        raise Invalid(error.what, field="trim_code") from None


@router.get("/catalogue/trims/{trim_code}/options", response_model=TrimOptionsOut)
def options_of_trim(trim_code: str, request: Request, session: DbSession, market: str | None = None):
    trim = configurator.trim_by_code(session=session, trim_code=trim_code)
    return configurator.trim_options(session=session, trim=trim, market=market or viewer.market_of(request))


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
                              market=body.market or viewer.market_of(request), **configurator.owner_of(principal))
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
