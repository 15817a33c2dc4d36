"""The NPS rules a market may set (from ``FORECOURT_NPS_*``): how often a driver is asked, when never, and
how long a follow-up may take. One frozen object, handed to the handlers and jobs by their wiring."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    survey_every_days: int = 30  # at most one survey per driver in this many days
    quiet_from_hour: int = 21  # no invitation leaves between these hours of the driver's own clock
    quiet_until_hour: int = 8
    survey_valid_days: int = 30  # the link answers this long
    follow_up_hours: int = 48  # a detractor's follow-up target

    @classmethod
    def from_settings(cls, settings) -> Policy:
        if settings is None:
            return cls()
        return cls(survey_every_days=settings.nps_survey_every_days, quiet_from_hour=settings.nps_quiet_from_hour,
                   quiet_until_hour=settings.nps_quiet_until_hour, survey_valid_days=settings.nps_survey_valid_days,
                   follow_up_hours=settings.nps_follow_up_hours)
