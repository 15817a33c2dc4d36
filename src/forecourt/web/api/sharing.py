"""Car sharing for the app: find cars, reserve, open and close the car, pick up, return, the bill;
and the hub desk's JSON for the dealer's service staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Response, UploadFile, status

from forecourt.core.schemas import Id, Moment
from forecourt.sharing import access, desk, offers, photos, positions, profiles, reservations, trips
from forecourt.sharing.schemas import (CodeOut, CommandOut, DamageStatusIn, ExtendIn, HubOut, InspectionIn, LicenceIn,
                                       PhotoOut, ProfileOut, ReservationDetailOut, ReservationOut, ReserveIn, ServiceIn,
                                       StolenIn, UnlockIn)
from forecourt.web.deps import ApiPrincipal, DbSession, DealerStaff, Me, PaymentGateway, Photos

router = APIRouter(tags=["car sharing"])
Number = Annotated[str, Path(min_length=1, max_length=20)]  # a booking's number, "SH-7KQ2-M9XD"


def _hub_out(row: dict) -> dict:
    return row | {"cars": [car | {"currency": car["per_minute"].currency, **{
        k: car[k].amount for k in ("per_minute", "per_minute_parked", "unlock_fee", "deposit", "test_drive_price")}}
        for car in row["cars"]]}


@router.get("/api/sharing/hubs", response_model=list[HubOut])
def find_cars(session: DbSession, lat: float = Query(ge=-90, le=90), lon: float = Query(ge=-180, le=180),
              radius_km: float = Query(default=25, ge=0.5, le=100), starts_at: Moment | None = None,
              hours: float = Query(default=1, ge=0.25, le=72), model_id: Id | None = None):
    """Hubs near a point with the cars free for the whole window, nearest first."""
    return [_hub_out(row) for row in offers.nearby(session=session, latitude=lat, longitude=lon, radius_km=radius_km,
                                                  starts_at=starts_at, hours=hours, model_id=model_id)]


@router.get("/api/me/sharing", response_model=ProfileOut)
def my_sharing(me: Me, session: DbSession):
    view = offers.driver_view(session=session, customer_id=me.customer_id)
    return {"terms_accepted": "terms" not in view["missing"], "licence_checked": "licence" not in view["missing"],
            "missing": view["missing"], "reservations": view["reservations"]}


@router.post("/api/me/sharing/terms", response_model=ProfileOut)
def accept_terms(me: Me, session: DbSession):
    profiles.accept_terms(session=session, customer_id=me.customer_id)
    return my_sharing(me, session)


@router.post("/api/me/sharing/reservations", response_model=ReservationOut, status_code=status.HTTP_201_CREATED)
def reserve(body: ReserveIn, me: Me, session: DbSession, gateway: PaymentGateway):
    found = reservations.reserve(session=session, gateway=gateway, customer_id=me.customer_id, car_id=body.car_id,
                                 starts_at=body.starts_at, hours=body.hours, kind=body.kind,
                                 share_summary=body.share_summary, quoted_deposit=body.quoted_deposit)
    return offers.summary(session=session, reservation=found)


def _mine(session, me, number: str):
    return reservations.get_own(session=session, customer_id=me.customer_id, number=number)


def _detail(session, reservation) -> dict:
    view = offers.reservation_view(session=session, reservation=reservation)
    bill = view["bill"]
    view["bill"] = ({"number": bill.number, "currency": bill.currency, "total": bill.total, "lines": bill.lines}
                    if bill is not None else None)
    return view


@router.get("/api/me/sharing/reservations/{number}", response_model=ReservationDetailOut)
def my_reservation(number: Number, me: Me, session: DbSession):
    return _detail(session, _mine(session, me, number))


@router.post("/api/me/sharing/reservations/{number}/confirm", response_model=ReservationOut)
def confirm(number: Number, me: Me, session: DbSession):
    """The free hold becomes a booking."""
    found = reservations.confirm(session=session, reservation=_mine(session, me, number))
    return offers.summary(session=session, reservation=found)


@router.post("/api/me/sharing/reservations/{number}/cancel", response_model=ReservationOut)
def cancel(number: Number, me: Me, session: DbSession):
    found = reservations.cancel(session=session, reservation=_mine(session, me, number))
    return offers.summary(session=session, reservation=found)


@router.post("/api/me/sharing/reservations/{number}/extend", response_model=ReservationOut)
def extend(number: Number, body: ExtendIn, me: Me, session: DbSession):
    found = reservations.extend(session=session, reservation=_mine(session, me, number), minutes=body.minutes)
    return offers.summary(session=session, reservation=found)


@router.post("/api/me/sharing/reservations/{number}/code", response_model=CodeOut)
def unlock_code(number: Number, me: Me, session: DbSession):
    """A fresh one-time code for the booking window (an earlier unused one stops working)."""
    found = _mine(session, me, number)
    return {"code": access.issue_code(session=session, reservation=found), "valid_until": found.ends_at}


def _command(session, command_id: int) -> dict:
    from forecourt.telematics import commands as vehicle_commands

    return {"command_id": command_id, "status": vehicle_commands.status(session=session, command_id=command_id)}


@router.post("/api/me/sharing/reservations/{number}/unlock", response_model=CommandOut)
def unlock(number: Number, body: UnlockIn, me: Me, session: DbSession):
    found = _mine(session, me, number)
    if found.status == "active":
        return _command(session, access.unlock_again(session=session, reservation=found))
    return _command(session, access.unlock_with_code(session=session, reservation=found, vin=body.vin, code=body.code))


@router.post("/api/me/sharing/reservations/{number}/lock", response_model=CommandOut)
def lock(number: Number, me: Me, session: DbSession):
    return _command(session, access.lock(session=session, reservation=_mine(session, me, number)))


@router.post("/api/me/sharing/reservations/{number}/check-out", response_model=ReservationDetailOut)
def check_out(number: Number, body: InspectionIn, me: Me, session: DbSession):
    found = _mine(session, me, number)
    trips.check_out(session=session, reservation=found, damage=body.damage)
    return _detail(session, found)


@router.post("/api/me/sharing/reservations/{number}/return", response_model=ReservationDetailOut)
def return_car(number: Number, body: InspectionIn, me: Me, session: DbSession):
    """Inside the hub's area (or outside for a fee where the hub allows it); the bill comes with it."""
    from forecourt.sharing import billing

    found = _mine(session, me, number)
    trips.return_car(session=session, reservation=found, damage=body.damage)
    billing.bill(session=session, reservation=found)
    return _detail(session, found)


def _photo_out(session, photo) -> dict:
    return {"id": photo.id, "stage": photos.stage_of(session=session, photo=photo), "content_type": photo.content_type,
            "width": photo.width, "height": photo.height, "size_bytes": photo.size_bytes, "taken_at": photo.taken_at,
            "url": f"/api/sharing/photos/{photo.id}", "thumbnail_url": f"/api/sharing/photos/{photo.id}?thumbnail=true"}


@router.get("/api/me/sharing/reservations/{number}/photos", response_model=list[PhotoOut])
def trip_photos(number: Number, me: Me, session: DbSession):
    found = _mine(session, me, number)
    return [_photo_out(session, p) for p in photos.of_reservation(session=session, reservation_id=found.id)]


@router.post("/api/me/sharing/reservations/{number}/photos", response_model=list[PhotoOut],
             status_code=status.HTTP_201_CREATED)
def add_photos(number: Number, me: Me, session: DbSession, store: Photos,
               photos_taken: list[UploadFile] | None = File(default=None, alias="photos",
                                                            description="JPEG, PNG or WebP pictures")):
    """Photos for the trip's pick-up (while driving) or its return (once back), and the damage declared
    with it. Every picture is checked before any is kept."""
    found = _mine(session, me, number)
    added = photos.add_to_trip(session=session, store=store, reservation=found,
                               uploads=[part.file.read() for part in photos_taken or ()])
    return [_photo_out(session, p) for p in added]


@router.get("/api/sharing/photos/{photo_id}", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})
def photo(photo_id: Id, principal: ApiPrincipal, session: DbSession, store: Photos, thumbnail: bool = False):
    """A photo of a shared car, for its driver, the hub's service staff and the carmaker's admins."""
    found = photos.readable(session=session, principal=principal, photo_id=photo_id)
    data, media_type = photos.content(store=store, photo=found, thumbnail=thumbnail)
    return Response(content=data, media_type=media_type,
                    headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@router.post("/api/me/sharing/reservations/{number}/stolen", response_model=ReservationOut)
def report_stolen(number: Number, me: Me, session: DbSession):
    found = positions.report_stolen(session=session, principal=me, reservation=_mine(session, me, number))
    return offers.summary(session=session, reservation=found)


@router.put("/api/me/sharing/reservations/{number}/position", status_code=status.HTTP_204_NO_CONTENT)
def allow_position(number: Number, me: Me, session: DbSession):
    """The hub's staff may see where the car is during this booking (a location-services grant to the
    hub's dealer)."""
    positions.set_allowed(session=session, reservation=_mine(session, me, number), allowed=True)


@router.delete("/api/me/sharing/reservations/{number}/position", status_code=status.HTTP_204_NO_CONTENT)
def forbid_position(number: Number, me: Me, session: DbSession):
    positions.set_allowed(session=session, reservation=_mine(session, me, number), allowed=False)


# --- the hub desk (the dealer's service staff) -------------------------------------------------------

@router.get("/api/hub/board")
def hub_board(principal: DealerStaff, session: DbSession) -> dict:
    board = desk.board(session=session, principal=principal)
    hub = board.pop("hub")
    return board | {"hub": {"id": hub.id, "name": hub.name, "latitude": hub.latitude, "longitude": hub.longitude}}


@router.post("/api/hub/reservations/{number}/licence", status_code=status.HTTP_204_NO_CONTENT)
def check_licence(number: Number, body: LicenceIn, principal: DealerStaff, session: DbSession):
    desk.check_licence(session=session, principal=principal, number=number, licence_number=body.number,
                       expires_on=body.expires_on, note=body.note)


@router.post("/api/hub/reservations/{number}/close")
def close_trip(number: Number, principal: DealerStaff, session: DbSession, gateway: PaymentGateway) -> dict:
    bill = desk.close(session=session, gateway=gateway, principal=principal, number=number)
    return {"number": bill.number, "currency": bill.currency, "total": str(bill.total), "lines": bill.lines}


@router.post("/api/hub/cars/{car_id}/service", status_code=status.HTTP_204_NO_CONTENT)
def car_service(car_id: Id, body: ServiceIn, principal: DealerStaff, session: DbSession):
    desk.set_out_of_service(session=session, principal=principal, car_id=car_id, out=body.out_of_service,
                            note=body.note)


@router.post("/api/hub/damage/{damage_id}/status", status_code=status.HTTP_204_NO_CONTENT)
def damage_status(damage_id: Id, body: DamageStatusIn, principal: DealerStaff, session: DbSession):
    desk.set_damage_status(session=session, principal=principal, damage_id=damage_id, status=body.status)


@router.post("/api/hub/reservations/{number}/stolen", status_code=status.HTTP_204_NO_CONTENT)
def desk_stolen(number: Number, body: StolenIn, principal: DealerStaff, session: DbSession):
    desk.stolen(session=session, principal=principal, number=number, reported=body.stolen)
