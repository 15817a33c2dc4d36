"""One rule for the time a device says it measured something, whatever protocol it spoke.

A car's or tracker's clock can be wrong in both directions: a unit without a GNSS fix since its
battery was changed says 1970 or 2000-01-01, and one whose clock drifted or was set by hand can
claim next year. Stored as it is, a reading from the future pins the live twin (its "latest" value)
until that date comes, and one from 1970 opens an On Call case that starts in the past. So every
decoder's readings, and every alert, pass this one test: not before 2000 and not more than five
minutes ahead of the server's clock (the slack covers clocks that are merely a little fast).

What fails it is refused with its reason (ordinary readings), or kept with the time it was received
and the problem written down (SOS and crash: someone may need help whatever the clock says).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD_ALLOWED = timedelta(minutes=5)


def problem(measured_at: datetime, *, received_at: datetime) -> str | None:
    """Why ``measured_at`` cannot be believed, or None when it can."""
    try:
        moment = measured_at.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 at +14:00 has no UTC moment
        return "the device's time cannot be placed in UTC"
    if moment < EARLIEST:
        return f"the device's time {moment:%Y-%m-%d %H:%M:%S}Z is before 2000: its clock is not set"
    if moment > received_at + AHEAD_ALLOWED:
        return (f"the device's time {moment:%Y-%m-%d %H:%M:%S}Z is more than 5 minutes ahead of the "
                f"server's clock ({received_at:%Y-%m-%d %H:%M:%S}Z)")
    return None


def believable(measured_at: datetime, *, received_at: datetime) -> datetime:
    """``measured_at`` in UTC, or ``received_at`` when the rule above refuses it."""
    if problem(measured_at, received_at=received_at) is not None:
        return received_at
    return measured_at.astimezone(UTC)
