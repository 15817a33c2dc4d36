"""JSON routes: sales — pipeline analytics for sales reps (their dealer) and the carmaker (the network).

Figures only: counts, sums, rates and days. No route here returns a customer, so none needs a grant.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from forecourt.sales import pipeline
from forecourt.sales.schemas.pipeline import PipelineFilters
from forecourt.web.deps import PipelineViewer, ReplicaSession

router = APIRouter(prefix="/api", tags=["sales: pipeline"])

Filters = Annotated[PipelineFilters, Query()]


def _figures(session, principal, filters: PipelineFilters, dashboard) -> dict:
    """One dashboard for the caller's scope, with the filters it was computed for."""
    scope = pipeline.scope_for(session=session, principal=principal, **filters.model_dump())
    return {"filters": scope.as_filters(), **dashboard(session=session, scope=scope)}


@router.get("/pipeline/volume")
def pipeline_volume(principal: PipelineViewer, session: ReplicaSession, filters: Filters) -> dict:
    """Open deals by stage: count, value and the weighted forecast."""
    return _figures(session, principal, filters, pipeline.volume)


@router.get("/pipeline/speed")
def pipeline_speed(principal: PipelineViewer, session: ReplicaSession, filters: Filters) -> dict:
    """Days in stage, overdue deals, stage-to-stage conversion and cycle time of won deals."""
    return _figures(session, principal, filters, pipeline.speed)


@router.get("/pipeline/performance")
def pipeline_performance(principal: PipelineViewer, session: ReplicaSession, filters: Filters) -> dict:
    """Win rate, lost reasons, target against actual and lessons learned."""
    return _figures(session, principal, filters, pipeline.performance)


@router.get("/pipeline/trend")
def pipeline_trend(principal: PipelineViewer, session: ReplicaSession, filters: Filters) -> dict:
    """Month by month: new, won, lost and value won."""
    return _figures(session, principal, filters, pipeline.trend)


@router.get("/pipeline/benchmark")
def pipeline_benchmark(principal: PipelineViewer, session: ReplicaSession, filters: Filters) -> dict:
    """The dealer against anonymised peers; the carmaker also gets the named ranking."""
    return _figures(session, principal, filters, pipeline.network_benchmark)


@router.get("/pipeline/insights")
def pipeline_insights(principal: PipelineViewer, session: ReplicaSession, filters: Filters) -> dict:
    """Lead to deal conversion (by source, dealer, model, month), buying factors in won and lost deals,
    fleet tender outcomes and the lessons written after losing."""
    scope = pipeline.scope_for(session=session, principal=principal, **filters.model_dump())
    return pipeline.insights(session=session, scope=scope)
