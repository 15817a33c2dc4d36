"""What a pipeline dashboard is asked for: the period and the dealer, rep and model to narrow to."""

from __future__ import annotations

from pydantic import Field

from forecourt.core.schemas import Day, Id, Input


class PipelineFilters(Input):
    """Every field is optional: the period defaults to the last twelve months, a rep to their own dealer."""

    date_from: Day | None = None
    date_to: Day | None = None
    dealer_id: Id | None = None
    rep_id: Id | None = None
    model_id: Id | None = None
    # Which of the network's currencies the carmaker's network view adds up (EUR, KRW; its own market's by
    # default); a dealer's figures are always in the dealer's currency. Money is never added across currencies.
    currency: str | None = Field(default=None, min_length=3, max_length=3)
