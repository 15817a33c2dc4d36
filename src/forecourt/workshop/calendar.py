"""The service advisor's calendar: one dealer's appointments by bay and time, and the door to one of them.

The calendar is the dealer's own book — which car is in which bay when, for what job — so it opens
without the owner's consent and never names the person; everything about the person is in the brief,
behind the consent door (``workshop.brief``). An appointment of another dealer does not exist for the
caller: ``NotFound``, and nothing is logged.

The calendar is the dealer's: its days and rows are the dealer's own clock (``Organization.time_zone``:
Europe/Berlin, Asia/Seoul), a day may be 23 or 25 hours long where clocks change, and appointments
are stored in UTC.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core import zones
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc
from forecourt.core.errors import Conflict, NotFound
from forecourt.core.i18n import _, Labels, N_
from forecourt.parties import service as parties_service
from forecourt.parties.markets import zone_of
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import jobs, symptoms
from forecourt.workshop.models import SLOT_MINUTES, Appointment

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# When a dealer has no opening hours for a day, the grid still spans a working day.
DEFAULT_DAY = ("07:00", "19:00")
STATUS_LABELS = Labels({"confirmed": N_("Booked"), "checked_in": N_("Checked in"), "done": N_("Done"), "cancelled": N_("Cancelled")})


def job_label(job: str) -> str:
    known = jobs.CATALOGUE.get(job)
    return known.name if known else job.replace("_", " ").capitalize()


def local(moment: datetime, zone: tzinfo | None = None) -> datetime:
    """A stored moment on ``zone``'s clock, else the viewer's (staff see their organization's)."""
    return as_utc(moment).astimezone(zone or zones.current_zone())


def _dealer_of(principal: Principal) -> int:
    if principal.organization_id is None:
        raise NotFound("Appointment not found")
    return principal.organization_id


def get_for_dealer(*, session: Session, principal: Principal, appointment_id: int) -> Appointment:
    """One appointment of the caller's own dealer; any other is ``NotFound``."""
    appointment = session.get(Appointment, appointment_id)
    if appointment is None or appointment.dealer_id != _dealer_of(principal):
        raise NotFound("Appointment not found")
    return appointment


def list_for_day(*, session: Session, dealer_id: int, day: date, zone: tzinfo,
                 include_cancelled: bool = False) -> list[Appointment]:
    """The appointments touching one day of the dealer's calendar (``zone`` is the dealer's)."""
    start, end = zones.day_bounds(day, zone)
    query = select(Appointment).where(Appointment.dealer_id == dealer_id, Appointment.starts_at < end,
                                      Appointment.ends_at > start)
    if not include_cancelled:
        query = query.where(Appointment.status != "cancelled")
    return list(session.scalars(query.order_by(Appointment.starts_at, Appointment.bay)))


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _rows(opening: list, appointments: list[dict]) -> list[str]:
    """The grid's 30-minute rows: the opening hours, stretched to any appointment outside them."""
    spans = [(_clock(a), _clock(b)) for a, b in opening] or [tuple(map(_clock, DEFAULT_DAY))]
    first = min(span[0] for span in spans)
    last = max(span[1] for span in spans)
    for item in appointments:
        first = min(first, item["start_local"].time())
        end = item["end_local"]
        last = max(last, end.time() if end.date() == item["start_local"].date() else time(23, 30))
    rows, cursor = [], datetime.combine(date(2000, 1, 1), first)
    cursor -= timedelta(minutes=cursor.minute % SLOT_MINUTES)
    stop = datetime.combine(date(2000, 1, 1), last)
    while cursor < stop:
        rows.append(cursor.strftime("%H:%M"))
        cursor += timedelta(minutes=SLOT_MINUTES)
    return rows


def day_of(*, session: Session, principal: Principal, day: date) -> dict:
    """The calendar page of one day: bays as columns, 30-minute rows, each appointment where it starts.

    Each cell of ``grid`` is ``None`` (free), ``"busy"`` (covered by an appointment that started
    earlier) or the appointment that starts there with how many rows it spans."""
    dealer = parties_service.get_organization(session=session, organization_id=_dealer_of(principal))
    zone = zone_of(dealer)
    appointments = list_for_day(session=session, dealer_id=dealer.id, day=day, zone=zone)
    items = []
    for appointment in appointments:
        vehicle = vehicles_service.get(session=session, vehicle_id=appointment.vehicle_id)
        items.append(dict(appointment=appointment, id=appointment.id, bay=appointment.bay,
                          start_local=local(appointment.starts_at, zone), end_local=local(appointment.ends_at, zone),
                          car=f"{vehicle.model_name} {vehicle.trim_name}", registration=vehicle.registration,
                          job=job_label(appointment.job), status=appointment.status,
                          status_label=STATUS_LABELS.get(appointment.status, appointment.status),
                          has_dtcs=bool(appointment.dtc_codes), has_recalls=bool(appointment.recall_campaign_ids)))
    opening = (dealer.opening_hours or {}).get(WEEKDAYS[day.weekday()], [])
    rows = _rows(opening, items)
    bays = list(range(1, max([dealer.service_bays or 0, *(i["bay"] for i in items)]) + 1))
    grid: dict[str, dict[int, object]] = {row: dict.fromkeys(bays) for row in rows}
    for item in items:
        start = item["start_local"] if item["start_local"].date() == day else local(
            zones.day_bounds(day, zone)[0], zone)
        steps = max(1, -(-int((item["end_local"] - start).total_seconds()) // (SLOT_MINUTES * 60)))
        first_row = start.strftime("%H:%M")
        if first_row not in grid:
            continue
        index = rows.index(first_row)
        span = min(steps, len(rows) - index)
        grid[first_row][item["bay"]] = dict(item, span=span)
        for row in rows[index + 1:index + span]:
            grid[row][item["bay"]] = "busy"
    monday = day - timedelta(days=day.weekday())
    week = [dict(day=monday + timedelta(days=i), count=0) for i in range(7)]
    week_start, _ = zones.day_bounds(monday, zone)
    _, week_end = zones.day_bounds(monday + timedelta(days=6), zone)
    for starts_at in session.scalars(select(Appointment.starts_at).where(
            Appointment.dealer_id == dealer.id, Appointment.status != "cancelled",
            Appointment.starts_at >= week_start, Appointment.starts_at < week_end)):
        week[local(starts_at, zone).weekday()]["count"] += 1
    return dict(dealer=dealer, day=day, zone=zone, zone_label=zones.zone_label(zone, zones.day_bounds(day, zone)[0]),
                bays=bays, rows=rows, grid=grid, appointments=items,
                opening=opening, week=week, previous_week=day - timedelta(days=7), next_week=day + timedelta(days=7))


def check_in(*, session: Session, principal: Principal, appointment_id: int) -> Appointment:
    """The car is at the workshop. Cancelled or finished appointments cannot be checked in."""
    appointment = get_for_dealer(session=session, principal=principal, appointment_id=appointment_id)
    if appointment.status in ("cancelled", "done"):
        raise Conflict(_("This appointment is %(value)s; it cannot be checked in.", value=STATUS_LABELS[appointment.status].lower()))
    appointment.status = "checked_in"
    session.flush()
    return appointment


def record_findings(*, session: Session, principal: Principal, appointment_id: int, findings: str,
                    at: datetime) -> Appointment:
    """What the advisor found, beside what the driver noticed: the dealer's own record of the visit.
    A cancelled appointment has nothing to find."""
    appointment = get_for_dealer(session=session, principal=principal, appointment_id=appointment_id)
    if appointment.status == "cancelled":
        raise Conflict(_("This appointment was cancelled; there is nothing to record."))
    appointment.findings, appointment.findings_at = symptoms.clean_findings(findings), at
    session.flush()
    return appointment
