"""Pipeline insights in Chromium: a sales rep opens them from the pipeline, sees every chart, downloads the
CSV, and a German-speaking rep reads the same page in German with German numbers."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.parties import service as parties_service
from forecourt.sales.models import Lead, Opportunity
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")


@pytest.fixture
def insights(seed_sessions) -> dict:
    """A dealer with three leads (two became deals, after 2 and 4 days), closed deals with buying factors,
    a fleet tender won and one lost on price with a post-mortem."""
    tag = uuid.uuid4().hex[:6].upper()
    moment = now() - timedelta(days=20)
    with transaction(seed_sessions) as session:
        dealer = parties_service.create_organization(session=session, values=dict(
            kind="dealer", code=f"DLR-{tag}", name=f"Autohaus Einblick {tag}", city="Hamburg", latitude=53.55,
            longitude=9.99, opening_hours={}, service_bays=2))
        rep = parties_service.create_user(session=session, email=f"rep-{tag.lower()}@dealer.example",
                                          password=PASSWORD, display_name="Ina Insight", role=Role.DEALER_SALES,
                                          organization_id=dealer.id)
        model = vehicles_service.create_model(session=session, code=f"I-{tag}", name=f"Insight {tag}",
                                              body="suv", year_from=2020)

        def lead(source, created, status):
            row = Lead(dealer_id=dealer.id, source=source, model_id=model.id, status=status, created_at=created,
                       updated_at=created)
            session.add(row)
            session.flush()
            return row

        def deal(status, created, closed, **values):
            row = Opportunity(dealer_id=dealer.id, owner_user_id=rep.id, model_id=model.id, title="A car",
                              stage_code=status, status=status, created_at=created, stage_entered_at=closed,
                              closed_at=closed, **values)
            session.add(row)
            session.flush()
            return row

        first, second = lead("web_form", moment, "converted"), lead("test_drive", moment, "converted")
        lead("event", moment, "contacted")
        deal("won", moment + timedelta(days=2), moment + timedelta(days=9), lead_id=first.id, amount=40000,
             buying_factors={"price": True, "safety": True})
        deal("lost", moment + timedelta(days=4), moment + timedelta(days=10), lead_id=second.id, amount=38000,
             lost_reason="price", buying_factors={"price": False})
        deal("won", moment, moment + timedelta(days=8), kind="fleet", quantity=10, amount=300000,
             rfp_reference=f"RFP-{tag}-1")
        deal("lost", moment, moment + timedelta(days=8), kind="fleet", quantity=5, amount=165000,
             rfp_reference=f"RFP-{tag}-2", lost_reason="price",
             post_mortem=f"Tender {tag}: our rate was 3,000 € a car above the winner.")
        german = parties_service.create_user(session=session, email=f"rep-de-{tag.lower()}@dealer.example",
                                             password=PASSWORD, display_name="Uta Einblick", role=Role.DEALER_SALES,
                                             organization_id=dealer.id)
        german.language = "de"  # reads the workspace in German whatever the browser says
        return {"rep": rep.email, "german_rep": german.email, "dealer": dealer.name, "tag": tag}


def test_a_rep_reads_the_insights_and_downloads_them(new_context, insights):
    SHOTS.mkdir(exist_ok=True)
    page = new_context().new_page()
    log_in(page, insights["rep"])
    page.goto("/workspace/pipeline")
    page.locator("#insights-link").click()
    page.wait_for_url("**/workspace/pipeline/insights**")
    try:
        expect(page.locator("#lead-summary")).to_contain_text("3 leads arrived; 2 became deals (66.7%).")
        expect(page.locator("#lead-summary")).to_contain_text("Median time from lead to deal: 3 days.")
        for chart in ("#lead-months-chart", "#lead-source-chart", "#factors-chart", "#tenders-chart",
                      "#lessons-chart"):
            expect(page.locator(chart)).to_be_visible()
        expect(page.locator("#factors-table tr[data-factor=price]")).to_contain_text("Price")
        expect(page.locator("#tenders-table tr[data-group=rfp]")).to_contain_text("50.0%")
        expect(page.locator("#price-gap")).to_contain_text("€3,000")
        expect(page.locator("#lesson-notes")).to_contain_text("3,000 € a car above the winner")
        assert page.locator("#factors-chart rect.bar-won_share").count() == 8
        with page.expect_download() as download:
            page.locator("#insights-csv").click()
        rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
        assert ["leads", "became deals", "all", "2"] in rows
        assert ["tenders", "win rate", "fleet deals with an RFP", "0.5"] in rows
    except Exception:
        page.screenshot(path=str(SHOTS / "pipeline-insights.png"), full_page=True)
        raise


def test_a_german_rep_reads_them_in_german(new_context, insights):
    page = new_context().new_page()
    try:
        log_in(page, insights["german_rep"])
        page.goto("/workspace/pipeline/insights")
        expect(page.locator("#leads-title")).to_have_text("Von Leads zu Deals")
        expect(page.locator("#lead-summary")).to_contain_text("3 Leads sind eingegangen; 2 wurden zu Deals (66,7%)")
        expect(page.locator("#price-gap")).to_contain_text("3.000 €")
    except Exception:
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "pipeline-insights-de.png"), full_page=True)
        raise
