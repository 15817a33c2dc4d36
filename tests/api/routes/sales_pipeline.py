"""Access-control classes of the pipeline routes (see tests/api/test_access_control.py).

None of the suite's kinds fits: these figures are for a dealer's sales reps (their own dealer)
and for the carmaker's administrators (the network), and for nobody else. ``DEALER`` would turn
the administrator away and ``ADMIN`` the reps. So they get their own kind, ``sales_figures``,
checked by ``tests/sales/test_pipeline_access.py``: reps and administrators 200, every other
role 404, anonymous callers sent to log in, a rep asking for another dealer 404, and no customer
data in any answer.
"""

from __future__ import annotations

from tests.api.acl_rules import SALES_FIGURES, Rule

ROUTES: dict = {
    ("GET", path): Rule(SALES_FIGURES)
    for path in ("/api/pipeline/volume", "/api/pipeline/speed", "/api/pipeline/performance", "/api/pipeline/trend",
                 "/api/pipeline/benchmark", "/workspace/pipeline", "/workspace/pipeline.csv",
                 "/api/pipeline/insights", "/workspace/pipeline/insights", "/workspace/pipeline/insights.csv")
}
