"""Pages: sales — the pipeline dashboard (volume, speed, performance, benchmark) and its CSV export."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from forecourt.core.errors import Invalid
from forecourt.sales import pipeline
from forecourt.web.deps import PipelinePage, ReplicaSession
from forecourt.web.openapi import CSV
from forecourt.web.views import pipeline_charts
from forecourt.web.views.forms import chosen_id, iso_day
from forecourt.web.views.render import render

router = APIRouter(tags=["pages"])


def scope_from_filters(session, principal, request: Request):
    query = request.query_params
    return pipeline.scope_for(session=session, principal=principal, dealer_id=chosen_id(query.get("dealer_id"), "dealer_id"),
                              rep_id=chosen_id(query.get("rep_id"), "rep_id"),
                              model_id=chosen_id(query.get("model_id"), "model_id"),
                              date_from=iso_day(query.get("date_from"), "date_from"),
                              date_to=iso_day(query.get("date_to"), "date_to"),
                              currency=(query.get("currency") or "").strip()[:3] or None)


def scope_or_problem(session, principal, request: Request):
    """The scope the filters ask for, or the caller's default scope with the filters' problem (a 422 page)."""
    try:
        return scope_from_filters(session, principal, request), None
    except Invalid as error:
        return pipeline.scope_for(session=session, principal=principal), error


@router.get("/workspace/pipeline")
def pipeline_page(request: Request, principal: PipelinePage, session: ReplicaSession):
    scope, problem = scope_or_problem(session, principal, request)
    figures = pipeline.dashboard(session=session, scope=scope)
    choices = pipeline.filter_choices(session=session, scope=scope)
    return render(request, "pipeline/dashboard.html", status_code=422 if problem else 200,
                  error=problem.message if problem else None, scope=scope, figures=figures, choices=choices,
                  names={"dealers": dict(choices["dealers"]), "models": dict(choices["models"])},
                  funnel=pipeline_charts.funnel(figures["speed"]["funnel"]),
                  trend_chart=pipeline_charts.trend(figures["trend"]["months"]),
                  query=request.url.query)


@router.get("/workspace/pipeline.csv", response_class=Response, responses=CSV)
def pipeline_csv(request: Request, principal: PipelinePage, session: ReplicaSession):
    scope = scope_from_filters(session, principal, request)
    body = pipeline.csv_text(figures=pipeline.dashboard(session=session, scope=scope))
    name = f"pipeline-{scope.date_from.isoformat()}-{scope.date_to.isoformat()}.csv"
    return Response(body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
