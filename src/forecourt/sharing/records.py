"""What car sharing holds about one person, for "download my data" and erasure.

Export: the sharing profile, every booking with its trip events, inspections and photos (as base64),
and the bills. Erasure: the profile, photos and the positions of inspections go; bookings and their trip
events stay with the hub's car, unlinked, because a bill must stay reproducible from them; bills stay in
the dealer's books (accounting law), no longer naming the person.
"""

from __future__ import annotations

import base64

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from forecourt.core.db import plain_row
from forecourt.sharing.models import Bill, Inspection, Photo, Reservation, SharingProfile, TripEvent


def _reservation(session: Session, reservation: Reservation) -> dict:
    inspections = list(session.scalars(select(Inspection).where(Inspection.reservation_id == reservation.id)
                                       .order_by(Inspection.id)))
    photos = list(session.scalars(select(Photo).where(Photo.inspection_id.in_([i.id for i in inspections] or [0]))
                                  .order_by(Photo.id)))
    return plain_row(reservation) | {
        "trip_events": [plain_row(e) for e in session.scalars(select(TripEvent).where(
            TripEvent.reservation_id == reservation.id).order_by(TripEvent.at, TripEvent.id))],
        "inspections": [plain_row(i) for i in inspections],
        "photos": [plain_row(p, skip=("data",)) | {"data_base64": base64.b64encode(p.data).decode()}
                   for p in photos]}


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
    photos = session.execute(delete(Photo).where(Photo.inspection_id.in_(inspection_ids or [0]))).rowcount
    session.execute(update(Inspection).where(Inspection.id.in_(inspection_ids or [0]))
                    .values(latitude=None, longitude=None, damage_declared=""))
    profile = session.execute(delete(SharingProfile).where(SharingProfile.customer_id == customer_id)).rowcount
    session.execute(update(Reservation).where(Reservation.id.in_(reservation_ids or [0]))
                    .values(customer_id=None, share_summary=False))
    bills = session.execute(update(Bill).where(Bill.customer_id == customer_id).values(customer_id=None)).rowcount
    session.flush()
    return {"sharing_profile": profile, "sharing_photos": photos, "sharing_reservations_unlinked": len(reservation_ids),
            "sharing_bills_unlinked": bills}
