"""Pages: sales — pipeline insights (lead conversion, buying factors, tenders, lessons) and their CSV.

The same filters and the same visibility as the pipeline dashboard (``pipeline.scope_for``): a rep
sees their dealer, the carmaker the network or one dealer; anyone else gets a 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from forecourt.core.i18n import _
from forecourt.sales import pipeline
from forecourt.web.deps import PipelinePage, ReplicaSession
from forecourt.web.openapi import CSV
from forecourt.web.views import pipeline as pipeline_view
from forecourt.web.views import pipeline_insight_charts as charts
from forecourt.web.views.render import render

router = APIRouter(tags=["pages"])


def _charts(figures: dict) -> dict:
    leads = figures["leads"]
    return {"sources": charts.bars(leads["source"], ("rate",), top=1),
            "dealers": charts.bars(leads["dealer"][:15], ("rate",), top=1),
            "models": charts.bars(leads["model"], ("rate",), top=1),
            "months": charts.months(leads["month"]),
            "factors": charts.bars(figures["buying_factors"]["factors"], ("won_share", "lost_share"), top=1),
            "tenders": charts.bars([{**figures["tenders"]["rfp"], "label": _("Answering an RFP")},
                                    {**figures["tenders"]["no_rfp"], "label": _("Without an RFP")}],
                                   ("win_rate",), top=1),
            "lessons": charts.bars(figures["lessons"]["by_reason"], ("lost", "written"))}


@router.get("/workspace/pipeline/insights")
def insights_page(request: Request, principal: PipelinePage, session: ReplicaSession):
    scope, problem = pipeline_view.scope_or_problem(session, principal, request)
    figures = pipeline.insights(session=session, scope=scope)
    choices = pipeline.filter_choices(session=session, scope=scope)
    return render(request, "pipeline/insights.html", status_code=422 if problem else 200,
                  error=problem.message if problem else None, scope=scope, figures=figures, choices=choices,
                  names={"dealers": dict(choices["dealers"]), "models": dict(choices["models"])},
                  charts=_charts(figures), query=request.url.query)


@router.get("/workspace/pipeline/insights.csv", response_class=Response, responses=CSV)
def insights_csv(request: Request, principal: PipelinePage, session: ReplicaSession):
    scope = pipeline_view.scope_from_filters(session, principal, request)
    figures = pipeline.insights(session=session, scope=scope, notes=pipeline.CSV_NOTES)
    body = pipeline.insights_csv_text(figures=figures)
    name = f"pipeline-insights-{scope.date_from.isoformat()}-{scope.date_to.isoformat()}.csv"
    return Response(body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
