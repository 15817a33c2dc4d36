"""A reporting period of whole days, shared by the dashboards that filter by dates.

The pipeline and the NPS dashboards both read "from this day to that day" as the moments from the
first day's midnight to the midnight after the last (UTC), and group by calendar month; one
definition keeps their figures comparable.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta


class Period:
    """Mixed into a frozen dataclass with ``date_from`` and ``date_to`` fields."""

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date_from, time(0), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive: the period includes the whole of ``date_to``."""
        return datetime.combine(self.date_to + timedelta(days=1), time(0), tzinfo=UTC)

    def months(self) -> list[str]:
        """Each calendar month the period touches, as YYYY-MM."""
        months, year, month = [], self.date_from.year, self.date_from.month
        while (year, month) <= (self.date_to.year, self.date_to.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months
