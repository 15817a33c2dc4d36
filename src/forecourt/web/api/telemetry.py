"""Telemetry over HTTP: the batch endpoint for embedded cars that cannot use MQTT, and the OsmAnd
protocol spoken by the Traccar Client phone app. Both answer 2xx only after the commit.

Both are authenticated by the device's secret: an embedded car's as a bearer token, a phone's as
the last segment of the URL its app reports to (``/osmand/<token>``; the Traccar Client keeps the
path of its server URL and appends its query). Whatever was wrong — no secret, a wrong one, an
unknown or removed device, a phone id other than the paired one — the answer is the same 401 with
the same body. Refusals are counted per client address; a client past the limit is answered 429
until the window passes, but a right secret is always accepted, so a phone behind a shared address
still reports, and its SOS still opens a case.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from forecourt.core.clock import now
from forecourt.core.db import claim_write
from forecourt.core.errors import NotFound
from forecourt.telematics import devices, insights
from forecourt.telematics import ingest as pipeline
from forecourt.telematics.decoders import osmand, vss_json
from forecourt.telematics.readings import DecodeError, Source
from forecourt.web.deps import AppSettings, DbSession, client_address
from forecourt.web.openapi import WHY, answers

router = APIRouter(tags=["telemetry"])
# The reason is JSON when the report cannot be read, plain text when the app's reading was refused.
PHONE_REFUSALS = {400: {"description": WHY[400], "content": {"text/plain": {"schema": {"type": "string"}}}},
                  **answers(401, 429)}

def _refuse(session, channel: str, device_id: str | None, reason: str, excerpt: bytes | str | None, status: int,
            address: str | None = None):
    """Record the refusal (it must survive the failed request) and answer with the reason."""
    pipeline.reject(session=session, channel=channel, device_id=device_id, reason=reason, excerpt=excerpt,
                    address=address)
    return JSONResponse(status_code=status, content={"detail": reason})


def _unknown_device(request: Request, session, settings, channel: str, device_id: str | None):
    """One answer for every report we cannot vouch for; a client that keeps failing waits."""
    address = client_address(request)
    since = now() - timedelta(seconds=settings.device_window_seconds)
    if devices.failed_attempts(session=session, address=address, since=since) >= settings.device_max_failures:
        return JSONResponse(status_code=429, content={"detail": "Too many refused reports; try again later."},
                            headers={"Retry-After": str(settings.device_window_seconds)})
    return _refuse(session, channel, device_id, devices.UNKNOWN_DEVICE, None, 401, address=address)


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


@router.post("/api/telemetry/{vin}", status_code=202, responses=answers(400, 401, 429),
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "description": "One VSS sample ({'timestamp': ..., 'Vehicle.Speed': 52.3}), "
                                "{'samples': [...]} or a list of samples"}}}}})
def embedded_batch(vin: str, request: Request, session: DbSession, settings: AppSettings,
                   body: bytes = Depends(raw_body)):
    """An embedded car posts VSS samples; its device secret is the bearer token."""
    claim_write(session)
    header = request.headers.get("authorization", "")
    secret = header[7:].strip() if header.lower().startswith("bearer ") else ""
    try:
        device = devices.authenticate(session=session, kind=Source.EMBEDDED, identifier=vin.strip().upper(),
                                      secret=secret)
    except NotFound:
        return _unknown_device(request, session, settings, "http", vin[:64])
    insights.own_cars(session=session, vehicle_ids=[device.vehicle_id])
    try:
        readings = vss_json.decode(vin, body)
    except DecodeError as error:
        return _refuse(session, "http", vin, str(error), body, 400)
    report = pipeline.ingest(session=session, readings=readings, channel="http")
    insights.refresh_now(session=session, vehicle_ids=report.vehicle_ids)
    return {"stored": report.stored, "duplicates": report.duplicates, "rejected": len(report.rejected)}


@router.get("/osmand", response_class=PlainTextResponse, responses=PHONE_REFUSALS)
def osmand_without_token(request: Request, session: DbSession, settings: AppSettings,
                         params: dict = Depends(osmand_parameters)):
    """A phone set up without its token (or before phones had one) is refused like an unknown one."""
    return _osmand(request, session, settings, "", b"", params)


@router.post("/osmand", response_class=PlainTextResponse, responses=PHONE_REFUSALS)
def osmand_without_token_posted(request: Request, session: DbSession, settings: AppSettings,
                                params: dict = Depends(osmand_parameters)):
    return _osmand(request, session, settings, "", b"", params)


@router.get("/osmand/{token}", response_class=PlainTextResponse, responses=PHONE_REFUSALS)
def osmand_position(token: str, request: Request, session: DbSession, settings: AppSettings,
                    params: dict = Depends(osmand_parameters)):
    """Traccar Client: a position as query parameters, to the URL shown when the phone was paired."""
    return _osmand(request, session, settings, token, b"", params)


@router.post("/osmand/{token}", response_class=PlainTextResponse, responses=PHONE_REFUSALS)
def osmand_positions(token: str, request: Request, session: DbSession, settings: AppSettings,
                     body: bytes = Depends(raw_body), params: dict = Depends(osmand_parameters)):
    """Traccar Client: query or form parameters, or a JSON body (newer versions of the app)."""
    return _osmand(request, session, settings, token, body, params)


def _osmand(request: Request, session, settings, token: str, body: bytes, params: dict[str, str]):
    claim_write(session)
    claimed = params.get("id") or params.get("deviceid")
    phone = devices.phone_by_token(session=session, token=token)
    if phone is None:
        return _unknown_device(request, session, settings, "osmand", claimed)
    insights.own_cars(session=session, vehicle_ids=[phone.vehicle_id])
    try:
        if body[:1] in (b"{", b"["):
            readings = osmand.decode_json(body)
        else:
            readings = [osmand.decode_query(params)]
    except DecodeError as error:
        return _refuse(session, "osmand", claimed, str(error), body or str(request.url.query), 400)
    if any(reading.device_id != phone.identifier for reading in readings):
        # the URL of one phone with another phone's id: nothing is stored for either
        return _unknown_device(request, session, settings, "osmand", claimed)
    report = pipeline.ingest(session=session, readings=readings, channel="osmand")
    insights.refresh_now(session=session, vehicle_ids=report.vehicle_ids)
    if report.rejected and not report.stored and not report.duplicates:
        return PlainTextResponse(report.rejected[0][1], status_code=400)
    return PlainTextResponse("OK")
