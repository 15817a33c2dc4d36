"""What a pipeline dashboard is asked for: the period and the dealer, rep and model to narrow to."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from forecourt.core.schemas import Input


class PipelineFilters(Input):
    """Every field is optional: the period defaults to the last twelve months, a rep to their own dealer."""

    date_from: date | None = None
    date_to: date | None = None
    dealer_id: int | None = Field(default=None, ge=1)
    rep_id: int | None = Field(default=None, ge=1)
    model_id: int | None = Field(default=None, ge=1)
