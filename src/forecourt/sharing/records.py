"""What car sharing holds about one person, for "download my data" and erasure.

Export: the sharing profile, every booking with its trip events, inspections and photos (each with its
SHA-256 and the address that serves it to the person; a picture kept in its row before the photo store
existed comes as base64), and the bills. Erasure: the profile and the positions and words of
inspections go; bookings and their trip events stay with the hub's car, unlinked, because a bill must
stay reproducible from them; bills stay in the dealer's books (accounting law), no longer naming the
person. Photos stay with the car as the record of its condition and damage, unlinked from the person
like the bills; they never carried the phone's metadata (``sharing.photos``).
"""

from __future__ import annotations

import base64

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from forecourt.core.db import plain_row
from forecourt.sharing.models import Bill, Inspection, Photo, Reservation, SharingProfile, TripEvent


def _reservation(session: Session, reservation: Reservation) -> dict:
    inspections = list(session.scalars(select(Inspection).where(Inspection.reservation_id == reservation.id)
                                       .order_by(Inspection.id)))
    photos = list(session.scalars(select(Photo).where(Photo.reservation_id == reservation.id).order_by(Photo.id)))
    return plain_row(reservation) | {
        "trip_events": [plain_row(e) for e in session.scalars(select(TripEvent).where(
            TripEvent.reservation_id == reservation.id).order_by(TripEvent.at, TripEvent.id))],
        "inspections": [plain_row(i) for i in inspections],
        "photos": [_photo(p) for p in photos]}


def _photo(photo: Photo) -> dict:
    row = plain_row(photo, skip=("data",)) | {"sha256": photo.checksum, "url": f"/sharing/photos/{photo.id}"}
    if photo.data is not None:
        row["data_base64"] = base64.b64encode(photo.data).decode()
    return row


def export_of(*, session: Session, customer_id: int) -> dict[str, list[dict]]:
    reservations = session.scalars(select(Reservation).where(Reservation.customer_id == customer_id)
                                   .order_by(Reservation.id))
    return {
        "sharing_profiles": [plain_row(p) for p in session.scalars(select(SharingProfile).where(
            SharingProfile.customer_id == customer_id))],
        "sharing_reservations": [_reservation(session, r) for r in reservations],
        "sharing_bills": [plain_row(b) for b in session.scalars(select(Bill).where(Bill.customer_id == customer_id)
                                                                  .order_by(Bill.id))],
    }


def erase_customer(*, session: Session, customer_id: int) -> dict[str, int]:
    reservation_ids = list(session.scalars(select(Reservation.id).where(Reservation.customer_id == customer_id)))
    inspection_ids = list(session.scalars(select(Inspection.id).where(Inspection.reservation_id.in_(
        reservation_ids or [0]))))
    # Photos name the driver only through their booking, unlinked below: they stay with the car.
    photos = session.scalar(select(func.count(Photo.id)).where(Photo.reservation_id.in_(reservation_ids or [0])))
    session.execute(update(Inspection).where(Inspection.id.in_(inspection_ids or [0]))
                    .values(latitude=None, longitude=None, damage_declared=""))
    profile = session.execute(delete(SharingProfile).where(SharingProfile.customer_id == customer_id)).rowcount
    session.execute(update(Reservation).where(Reservation.id.in_(reservation_ids or [0]))
                    .values(customer_id=None, share_summary=False))
    bills = session.execute(update(Bill).where(Bill.customer_id == customer_id).values(customer_id=None)).rowcount
    session.flush()
    return {"sharing_profile": profile, "sharing_photos_unlinked": photos,
            "sharing_reservations_unlinked": len(reservation_ids), "sharing_bills_unlinked": bills}
