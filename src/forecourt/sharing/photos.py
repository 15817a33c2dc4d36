"""Photos of a shared car at pick-up and return, and of the damage declared with them.

A photo is checked before anything is kept: its first bytes must say JPEG, PNG or WebP (what a phone
browser uploads; Safari turns an iPhone's HEIC into JPEG for a web form, and a HEIC that arrives is
refused with a word on how to send it), it must not be larger than ``MAX_PHOTO_BYTES``, and Pillow
must decode it whole, within a pixel budget (a "decompression bomb" is refused). It is then written
again without its metadata: a phone's EXIF says where the picture was taken and on which phone,
which the hub does not need. The picture turned the right way up, and a small JPEG thumbnail, go to
the ``PhotoStore``: files named by their SHA-256, so the same picture twice is one file and a file
never changes. A refused batch keeps nothing: every photo is checked before the first is stored.

Who sees a photo: the driver of the booking, the service staff of the hub's dealer, and the carmaker's
admins; anyone else is told it does not exist.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core.auth import Principal, Role
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.sharing import hubs
from forecourt.sharing.models import CONTRACT_PURPOSE, DamageReport, Inspection, Photo, Reservation

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 6
MAX_PIXELS = 50_000_000  # a 48-megapixel phone camera; a larger picture is refused before it is decoded
THUMBNAIL = (320, 320)
# The most one request carrying photos may send: every photo at its largest, and the form around them.
BODY_LIMIT = MAX_PHOTOS * MAX_PHOTO_BYTES + 64 * 1024
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Picture:
    """A photo that passed every check, ready to store: its bytes without metadata, and its thumbnail."""

    content_type: str
    data: bytes
    thumbnail: bytes
    width: int
    height: int

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class PhotoStore:
    """Files under one directory, ``ab/<sha256>`` and ``ab/<sha256>.thumb``; written once, by rename."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)

    def _path(self, checksum: str, thumbnail: bool = False) -> Path:
        if len(checksum) != 64 or any(c not in "0123456789abcdef" for c in checksum):
            raise NotFound(_("Photo not found"))
        return self.directory / checksum[:2] / (checksum + (".thumb" if thumbnail else ""))

    def _write(self, path: Path, data: bytes) -> None:
        if path.exists():
            return  # the same picture again: its file is already there, and never changes
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def put(self, picture: Picture) -> str:
        checksum = picture.checksum
        self._write(self._path(checksum), picture.data)
        self._write(self._path(checksum, thumbnail=True), picture.thumbnail)
        return checksum

    def read(self, checksum: str, *, thumbnail: bool = False) -> bytes:
        try:
            return self._path(checksum, thumbnail).read_bytes()
        except FileNotFoundError:
            raise NotFound(_("Photo not found")) from None


def _kind(data: bytes) -> str | None:
    """The format the first bytes announce, whatever the upload's name or declared type claims."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif"):
        return "HEIF"
    return None


def _encode(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
    elif kind == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=90)
    return out.getvalue()


def check(data: bytes) -> Picture:
    """One upload, or ``Invalid`` saying what is wrong with it."""
    if not data:
        raise Invalid(_("The photo is empty."), field="photos")
    if len(data) > MAX_PHOTO_BYTES:
        raise Invalid(_("A photo may be at most %(size)s MB.", size=MAX_PHOTO_BYTES // (1024 * 1024)), field="photos")
    kind = _kind(data)
    if kind == "HEIF":
        raise Invalid(_("HEIC photos are not taken here: choose the photo from the camera in the browser, or set "
                        "the camera to “Most compatible” (JPEG)."), field="photos")
    if kind is None:
        raise Invalid(_("This file is not a photo: send JPEG, PNG or WebP pictures."), field="photos")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise Invalid(_("This photo has too many pixels; send a smaller one."), field="photos")
                image.load()
                upright = ImageOps.exif_transpose(image)
                if upright.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                    upright = upright.convert("RGB")
                if upright.mode == "P":
                    upright = upright.convert("RGBA")
                clean = _encode(upright, kind)
                small = upright.convert("RGB")
                small.thumbnail(THUMBNAIL)
                thumb = io.BytesIO()
                small.save(thumb, "JPEG", quality=80)
                width, height = upright.size
    except Invalid:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            EOFError):
        raise Invalid(_("This photo could not be read (it is damaged or not a picture)."), field="photos") from None
    return Picture(content_type=FORMATS[kind], data=clean, thumbnail=thumb.getvalue(), width=width, height=height)


def check_all(uploads) -> list[Picture]:
    """Every upload of a form or request checked, before any is stored; empty file fields are skipped."""
    uploads = [data for data in (uploads or ()) if data]
    if len(uploads) > MAX_PHOTOS:
        raise Invalid(_("At most %(count)s photos at a time.", count=MAX_PHOTOS), field="photos")
    return [check(data) for data in uploads]


def attach(*, session: Session, store: PhotoStore, reservation: Reservation, pictures: list[Picture],
           inspection: Inspection | None = None, damage: DamageReport | None = None) -> list[Photo]:
    stored = []
    for picture in pictures:
        photo = Photo(reservation_id=reservation.id,
                      inspection_id=inspection.id if inspection is not None else None,
                      damage_id=damage.id if damage is not None else None, content_type=picture.content_type,
                      checksum=store.put(picture), size_bytes=len(picture.data), width=picture.width,
                      height=picture.height)
        session.add(photo)
        stored.append(photo)
    session.flush()
    return stored


def add_to_trip(*, session: Session, store: PhotoStore, reservation: Reservation, uploads) -> list[Photo]:
    """More photos for the booking's latest inspection (pick-up while driving, the return once back),
    and for the damage declared with it."""
    pictures = check_all(uploads)
    if not pictures:
        raise Invalid(_("Choose at least one photo."), field="photos")
    kind = {"active": "check_out", "returned": "return"}.get(reservation.status)
    if kind is None:
        raise Conflict(_("Photos are added at pick-up and at the return."), field="status")
    inspection = session.scalars(select(Inspection).where(Inspection.reservation_id == reservation.id,
                                                          Inspection.kind == kind)).first()
    damage = session.scalars(select(DamageReport).where(DamageReport.reservation_id == reservation.id)
                             .order_by(DamageReport.id.desc())).first()
    if damage is not None and inspection is not None and not inspection.damage_declared:
        damage = None
    return attach(session=session, store=store, reservation=reservation, pictures=pictures,
                  inspection=inspection, damage=damage)


def of_reservation(*, session: Session, reservation_id: int) -> list[Photo]:
    return list(session.scalars(select(Photo).where(Photo.reservation_id == reservation_id).order_by(Photo.id)))


def of_damage(*, session: Session, damage_ids: list[int]) -> dict[int, list[Photo]]:
    found: dict[int, list[Photo]] = {damage_id: [] for damage_id in damage_ids}
    if damage_ids:
        for photo in session.scalars(select(Photo).where(Photo.damage_id.in_(damage_ids)).order_by(Photo.id)):
            found[photo.damage_id].append(photo)
    return found


def stage_of(*, session: Session, photo: Photo) -> str:
    """check_out | return | damage: what the photo shows, for its caption."""
    if photo.inspection_id is not None:
        inspection = session.get(Inspection, photo.inspection_id)
        if inspection is not None:
            return inspection.kind
    return "damage"


def readable(*, session: Session, principal: Principal | None, photo_id: int) -> Photo:
    """The photo, for the driver who took it on their booking, the hub's service staff or the carmaker's
    admins; ``NotFound`` for anyone else, as for a photo that does not exist."""
    photo = session.get(Photo, photo_id)
    if photo is None or principal is None:
        raise NotFound(_("Photo not found"))
    reservation = session.get(Reservation, photo.reservation_id) if photo.reservation_id is not None else None
    if principal.is_customer:
        if reservation is None or reservation.customer_id is None or reservation.customer_id != principal.customer_id:
            raise NotFound(_("Photo not found"))
        return photo
    if principal.role is Role.CARMAKER_ADMIN:
        return _logged(session, principal, photo, reservation)
    if principal.role is Role.DEALER_SERVICE and principal.organization_id is not None:
        hub_id = reservation.hub_id if reservation is not None else _hub_of_damage(session, photo)
        hub = hubs.get_hub(session=session, hub_id=hub_id) if hub_id is not None else None
        if hub is not None and hub.dealer_id == principal.organization_id:
            return _logged(session, principal, photo, reservation)
    raise NotFound(_("Photo not found"))


def _logged(session: Session, principal: Principal, photo: Photo, reservation: Reservation | None) -> Photo:
    """A photo taken on a driver's booking shows their trip (the car, the place, perhaps themselves): a
    member of staff looking at it is written to that driver's access log, under the sharing contract
    the photo was taken for, as a read of their position on the hub's map is."""
    if reservation is not None and reservation.customer_id is not None:
        consent_service.log_access(session=session, principal=principal, customer_ids=[reservation.customer_id],
                                   purpose=consent_service.get_purpose(session=session, code=CONTRACT_PURPOSE),
                                   what=f"sharing photo {reservation.number}", reference=reservation.number)
    return photo


def _hub_of_damage(session: Session, photo: Photo) -> int | None:
    report = session.get(DamageReport, photo.damage_id) if photo.damage_id is not None else None
    return hubs.get_car(session=session, car_id=report.car_id).hub_id if report is not None else None


def content(*, store: PhotoStore, photo: Photo, thumbnail: bool = False) -> tuple[bytes, str]:
    """The picture's bytes and type (a thumbnail is always JPEG); pictures kept in the row before the
    store existed are served as they are."""
    if photo.checksum is not None and photo.data is None:
        return store.read(photo.checksum, thumbnail=thumbnail), "image/jpeg" if thumbnail else photo.content_type
    if photo.data is not None:
        return photo.data, photo.content_type
    raise NotFound(_("Photo not found"))
