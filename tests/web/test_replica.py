"""Heavy dashboards read from FORECOURT_DATABASE_REPLICA_URL when it is set, the primary otherwise."""

from __future__ import annotations

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from forecourt.core.clock import frozen_at
from forecourt.core.config import get_settings
from forecourt.core.db import transaction
from forecourt.web.api import pipeline as pipeline_api
from forecourt.web.app import create_app
from forecourt.web.views import pipeline as pipeline_page
from forecourt.web.views import pipeline_insights
from forecourt.web.deps import get_replica_session, get_session
from tests.factories import Factory, browser_for
from tests.sales.pipeline_data import FROM, NOW, TO, build

PERIOD = {"date_from": FROM.isoformat(), "date_to": TO.isoformat()}
DASHBOARDS = {"/workspace/pipeline", "/workspace/pipeline.csv", "/workspace/pipeline/insights",
              "/workspace/pipeline/insights.csv", "/api/pipeline/volume", "/api/pipeline/speed",
              "/api/pipeline/performance", "/api/pipeline/trend", "/api/pipeline/benchmark",
              "/api/pipeline/insights"}


def _dependencies(dependant) -> set:
    found = {dependant.call}
    for child in dependant.dependencies:
        found |= _dependencies(child)
    return found


def test_the_dashboards_read_through_the_replica_factory():
    routes = {route.path: route for module in (pipeline_api, pipeline_page, pipeline_insights)
              for route in module.router.routes if isinstance(route, APIRoute)}
    assert DASHBOARDS <= routes.keys()
    for path in DASHBOARDS:
        assert get_replica_session in _dependencies(routes[path].dependant), path
        # the figures are read through the replica; the caller is still recognised on the primary
        (session,) = [d for d in routes[path].dependant.dependencies if d.name == "session"]
        assert session.call is get_replica_session and session.call is not get_session, path


def test_pages_work_with_the_replica_pointed_at_the_same_database(fresh_database_url):
    url = fresh_database_url("replica")
    app = create_app(get_settings(database_url=url, database_replica_url=url, cookie_secure=False))
    assert app.state.replica_sessionmaker is not None and app.state.replica_sessionmaker is not app.state.sessionmaker
    opened = []
    replica = app.state.replica_sessionmaker

    def counted():
        opened.append(1)
        return replica()

    app.state.replica_sessionmaker = counted
    with TestClient(app, base_url="http://testserver", headers={"Accept-Language": "en"}) as client:
        with transaction(app.state.sessionmaker) as session:
            make = Factory(session=session, client=client)
            data = build(make, session)
        browser = browser_for(make, data.rep1)
        with frozen_at(NOW):
            page = browser.get("/workspace/pipeline", params=PERIOD)
            insights = browser.get("/workspace/pipeline/insights", params=PERIOD)
            volume = client.get("/api/pipeline/volume", params=PERIOD, headers=data.rep1.headers)
    assert page.status_code == insights.status_code == volume.status_code == 200, volume.text
    assert 'id="benchmark"' in page.text and volume.json()["open_count"] == 3
    assert len(opened) == 3, "each dashboard read once through the replica factory"
