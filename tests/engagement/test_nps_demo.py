"""The demo shows NPS alive: a filled dashboard for the network and the demo dealer, answers by topic in
the drivers' languages, and open follow-ups for the dealer the demo's staff log in to."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console
from sqlalchemy import select

from forecourt.core.clock import frozen_at
from forecourt.core.config import get_settings
from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.demo.network import build_demo_network, demo_logins
from forecourt.engagement.nps import dashboards, follow_ups
from forecourt.engagement.nps.models import Survey
from forecourt.parties import service as parties_service
from forecourt.parties.models import User

MOMENT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def test_the_demo_has_a_filled_nps_dashboard_and_open_follow_ups(fresh_database_url):
    url = fresh_database_url("nps_demo")
    with frozen_at(MOMENT):
        network = build_demo_network(settings=get_settings(database_url=url), customers=300, dealers=6, seed=3,
                                     console=Console(file=io.StringIO()))
        assert network.counts["nps_surveys"] >= 100 and network.counts["nps_follow_ups"] >= 5
        with make_sessionmaker(get_engine(url))() as session:
            admin, sales = (parties_service.principal_for(session.scalars(select(User).where(User.email == email)).one())
                            for email in (demo_logins()[0].email, demo_logins()[2].email))
            network_view = dashboards.dashboard(session=session, scope=dashboards.scope_for(session=session,
                                                                                           principal=admin))
            assert network_view["overall"]["nps"] is not None and len(network_view["by_organization"]) >= 3
            assert {t["touchpoint"] for t in network_view["by_touchpoint"]} >= {"service_visit"}
            assert sum(1 for m in network_view["by_month"] if m["answered"]) >= 6  # a trend, not a dot
            assert {t["topic"] for t in network_view["topics"]} - {"other"}
            mine = follow_ups.list_for(session=session, principal=sales)
            assert len(mine) >= 2, "the demo dealer's staff have open follow-ups to work on"
            languages = set(session.scalars(select(Survey.language).distinct()))
            assert {"de", "ko"} <= languages
