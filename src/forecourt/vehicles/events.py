"""What the vehicles domain tells the rest of the platform after commit."""

from __future__ import annotations

from dataclasses import dataclass

from forecourt.core import events


@events.durable("vehicles.recall_matched")
@dataclass(frozen=True)
class RecallMatched:
    """A recall campaign took in cars: opened with its first matches, or widened to more."""

    campaign_id: int
    code: str
    added: int  # how many cars it took in (they are read from the campaign, which may hold a million)
