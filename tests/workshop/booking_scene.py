"""A workshop to book into, at a known time: Sunday 1 June 2025, noon in Berlin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Sunday 2025-06-01 12:00 Berlin (CEST, UTC+2). Monday 08:00 Berlin is 06:00 UTC.
SUNDAY_NOON = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
MONDAY_0800 = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
WEEKDAYS = {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    """A June 2025 Berlin wall-clock time, in UTC."""
    return datetime(2025, 6, day, hour, minute, tzinfo=UTC) - timedelta(hours=2)
