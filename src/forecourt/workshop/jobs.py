"""What a workshop does, and how long a bay is taken for it.

The duration decides how many 30-minute bay steps an appointment claims, so it must be an honest
estimate of bay time, not of the customer's wait. A recall takes the campaign's labour minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

from forecourt.core.errors import Invalid
from forecourt.core.i18n import N_, _
from forecourt.workshop.models import SLOT_MINUTES


@dataclass(frozen=True)
class Job:
    code: str
    name: str  # in the driver's words
    minutes: int

    @property
    def steps(self) -> int:
        """Bay steps claimed: the duration rounded up to the 30-minute grid."""
        return max(1, -(-self.minutes // SLOT_MINUTES))

    @property
    def duration_text(self) -> str:
        hours, minutes = divmod(self.steps * SLOT_MINUTES, 60)
        if hours and minutes:
            return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
        return _("%(hours)s h", hours=hours) if hours else _("%(minutes)s min", minutes=minutes)


CATALOGUE: dict[str, Job] = {job.code: job for job in (
    Job("inspection", N_("Inspection"), 120),
    Job("oil_service", N_("Oil service"), 90),
    Job("diagnosis", N_("Fault diagnosis"), 60),
    Job("brakes", N_("Brakes"), 120),
    Job("tyres", N_("Tyres"), 60),
    Job("battery", N_("12 V battery check"), 45),
    Job("recall", N_("Recall work"), 60),
)}


def get_job(code: str, *, recall_minutes: int | None = None) -> Job:
    """The job by its code, or ``Invalid`` naming the ones we know; a recall takes its campaign's minutes."""
    job = CATALOGUE.get((code or "").strip())
    if job is None:
        raise Invalid(_("Unknown job %(code)s; choose one of: %(values)s.", code=f"{code!r}", values=', '.join(CATALOGUE)), field="job")
    if job.code == "recall" and recall_minutes:
        if recall_minutes <= 0 or recall_minutes > 8 * 60:
            raise Invalid(_("Recall labour must be between 1 minute and 8 hours."), field="job")
        return Job("recall", job.name, recall_minutes)
    return job


def job_for_service(propulsion: str | None) -> Job:
    """A combustion engine's service is an oil service; an electric car's is an inspection."""
    return CATALOGUE["oil_service" if propulsion in ("petrol", "diesel", "hybrid") else "inspection"]


def job_for_fault(code: str) -> Job:
    """A fault code needs a diagnosis first; a battery fault is the battery check."""
    return CATALOGUE["battery" if code.startswith(("P0560", "P0562", "P0563", "B1325")) else "diagnosis"]


def choices() -> list[Job]:
    """Jobs an owner may book themselves (recall work is booked from the recall notice)."""
    return [job for job in CATALOGUE.values() if job.code != "recall"]
