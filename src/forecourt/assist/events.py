"""What On Call tells the rest of the platform after commit."""

from __future__ import annotations

from dataclasses import dataclass

from forecourt.core import events


@events.durable("assist.case_closed")
@dataclass(frozen=True)
class CaseClosed:
    """An On Call case was closed by the call centre (test calls are not published)."""

    case_id: int
    vehicle_id: int
    customer_id: int | None
