"""What a pipeline dashboard is asked for: the period and the dealer, rep and model to narrow to."""

from __future__ import annotations

from forecourt.core.schemas import Day, Id, Input


class PipelineFilters(Input):
    """Every field is optional: the period defaults to the last twelve months, a rep to their own dealer."""

    date_from: Day | None = None
    date_to: Day | None = None
    dealer_id: Id | None = None
    rep_id: Id | None = None
    model_id: Id | None = None
