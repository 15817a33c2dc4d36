"""NPS bodies: a driver's answer from an app (the same rules as the survey page), and what it returns."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from forecourt.core.schemas import Input, Output


class SurveyAnswerIn(Input):
    score: Annotated[int, Field(ge=0, le=10, strict=True, description="0 = not at all likely, 10 = extremely likely")]
    why: Annotated[str, Field(max_length=2000)] = ""


class SurveyAnswerOut(Output):
    score: int
    category: str  # promoter | passive | detractor
    follow_up: bool  # a detractor's answer: the responsible organization will call back
