"""What anyone may read: the catalogue, the dealer network, the purposes and privacy notices."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from sqlalchemy import text

from forecourt import operations
from forecourt.consent import service as consent_service
from forecourt.consent.schemas import NoticeOut, PurposeOut
from forecourt.parties import service as parties_service
from forecourt.parties.schemas import NearbyDealer, OrganizationOut
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.schemas.cars import ModelOut
from forecourt.web.deps import DbSession

router = APIRouter(prefix="/api", tags=["public"])


@router.get("/catalogue/models", response_model=list[ModelOut])
def catalogue(session: DbSession):
    return vehicles_service.list_models(session=session)


@router.get("/dealers", response_model=list[OrganizationOut])
def dealers(session: DbSession):
    return parties_service.list_organizations(session=session, kind="dealer")


@router.get("/dealers/nearest", response_model=list[NearbyDealer])
def nearest_dealers(session: DbSession, lat: float = Query(ge=-90, le=90), lon: float = Query(ge=-180, le=180),
                    limit: int = Query(default=5, ge=1, le=50)):
    return [NearbyDealer(dealer=d, distance_km=round(km, 1))
            for d, km in parties_service.nearest_dealers(session=session, latitude=lat, longitude=lon, limit=limit)]


@router.get("/partners", response_model=list[OrganizationOut])
def partners(session: DbSession):
    return parties_service.list_organizations(session=session, kind="partner")


@router.get("/purposes", response_model=list[PurposeOut])
def purposes(session: DbSession):
    return consent_service.list_purposes(session=session)


@router.get("/notices/current", response_model=NoticeOut)
def current_notice(session: DbSession):
    """In the language of the request (its ``Accept-Language``), or English where the version has no text in it."""
    notice = consent_service.current_notice(session=session)
    read = consent_service.notice_text(session=session, version=notice.version)
    return NoticeOut(version=notice.version, language=read.language, title=read.title, body=read.body,
                     purposes=notice.purposes, published_at=notice.published_at)


@router.get("/health")
def health(request: Request, session: DbSession) -> dict:
    """The database answers; whether the worker and ingest processes beat lately (``alive``)."""
    session.execute(text("SELECT 1"))
    return operations.health(session=session, settings=request.app.state.settings)
