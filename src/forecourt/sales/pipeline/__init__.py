"""Pipeline analytics for dealer managers and the carmaker (issue 6).

Call ``scope_for`` first (it decides what the caller may see), then any dashboard with that scope:

    scope = pipeline.scope_for(session=s, principal=p, date_from=..., rep_id=...)
    pipeline.volume(session=s, scope=scope)
"""

from __future__ import annotations

from forecourt.sales.pipeline.benchmark import network_benchmark
from forecourt.sales.pipeline.dashboards import LOST_REASONS, performance, speed, trend, volume
from forecourt.sales.pipeline.export import csv_text, dashboard, filter_choices
from forecourt.sales.pipeline.insights import csv_text as insights_csv_text
from forecourt.sales.pipeline.insights import CSV_NOTES, insights
from forecourt.sales.pipeline.scope import DEFAULT_STAGES, Scope, default_period, scope_for, stages

__all__ = ["CSV_NOTES", "DEFAULT_STAGES", "LOST_REASONS", "Scope", "csv_text", "dashboard", "default_period", "filter_choices",
           "insights", "insights_csv_text", "network_benchmark", "performance", "scope_for", "speed", "stages", "trend", "volume"]
