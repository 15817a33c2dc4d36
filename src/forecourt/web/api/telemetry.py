"""Telemetry over HTTP: the batch endpoint for embedded cars that cannot use MQTT, and the OsmAnd
protocol spoken by the Traccar Client phone app. Both answer 2xx only after the commit."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from forecourt.core.db import claim_write
from forecourt.core.errors import NotFound
from forecourt.telematics import devices, insights
from forecourt.telematics import ingest as pipeline
from forecourt.telematics.decoders import osmand, vss_json
from forecourt.telematics.readings import DecodeError, Source
from forecourt.web.deps import DbSession
from forecourt.web.openapi import WHY, answers

router = APIRouter(tags=["telemetry"])
# The reason is JSON when the report cannot be read, plain text when the app's reading was refused.
PHONE_REFUSALS = {400: {"description": WHY[400], "content": {"text/plain": {"schema": {"type": "string"}}}}}

def _refuse(session, channel: str, device_id: str | None, reason: str, excerpt: bytes | str | None, status: int):
    """Record the refusal (it must survive the failed request) and answer with the reason."""
    pipeline.reject(session=session, channel=channel, device_id=device_id, reason=reason, excerpt=excerpt)
    return JSONResponse(status_code=status, content={"detail": reason})


async def raw_body(request: Request) -> bytes:
    """Read the body on the event loop, so the route itself can be a plain function: its database
    work (which may wait for SQLite's write lock) then runs in a worker thread, not on the loop."""
    return await request.body()


async def osmand_parameters(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        params |= {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return params


@router.post("/api/telemetry/{vin}", status_code=202, responses=answers(400, 401),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "description": "One VSS sample ({'timestamp': ..., 'Vehicle.Speed': 52.3}), "
                                "{'samples': [...]} or a list of samples"}}}}})
def embedded_batch(vin: str, request: Request, session: DbSession, body: bytes = Depends(raw_body)):
    """An embedded car posts VSS samples; its device secret is the bearer token."""
    claim_write(session)
    header = request.headers.get("authorization", "")
    secret = header[7:].strip() if header.lower().startswith("bearer ") else ""
    try:
        devices.authenticate(session=session, kind=Source.EMBEDDED, identifier=vin.strip().upper(), secret=secret)
    except NotFound:
        return _refuse(session, "http", vin[:64], "unknown device or wrong secret", None, 401)
    try:
        readings = vss_json.decode(vin, body)
    except DecodeError as error:
        return _refuse(session, "http", vin, str(error), body, 400)
    report = pipeline.ingest(session=session, readings=readings, channel="http")
    insights.refresh_now(session=session, vehicle_ids=report.vehicle_ids)
    return {"stored": report.stored, "duplicates": report.duplicates, "rejected": len(report.rejected)}


@router.get("/osmand", response_class=PlainTextResponse, responses=PHONE_REFUSALS)
def osmand_position(request: Request, session: DbSession, params: dict = Depends(osmand_parameters)):
    """Traccar Client: a position as query parameters."""
    return _osmand(request, session, b"", params)


@router.post("/osmand", response_class=PlainTextResponse, responses=PHONE_REFUSALS)
def osmand_positions(request: Request, session: DbSession, body: bytes = Depends(raw_body),
                     params: dict = Depends(osmand_parameters)):
    """Traccar Client: query or form parameters, or a JSON body (newer versions of the app)."""
    return _osmand(request, session, body, params)


def _osmand(request: Request, session, body: bytes, params: dict[str, str]):
    claim_write(session)
    try:
        if body[:1] in (b"{", b"["):
            readings = osmand.decode_json(body)
        else:
            readings = [osmand.decode_query(params)]
    except DecodeError as error:
        return _refuse(session, "osmand", request.query_params.get("id"), str(error),
                       body or str(request.url.query), 400)
    report = pipeline.ingest(session=session, readings=readings, channel="osmand")
    insights.refresh_now(session=session, vehicle_ids=report.vehicle_ids)
    if report.rejected and not report.stored and not report.duplicates:
        return PlainTextResponse(report.rejected[0][1], status_code=400)
    return PlainTextResponse("OK")
