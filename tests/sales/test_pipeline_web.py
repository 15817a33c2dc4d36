"""The pipeline page, its CSV export and the JSON routes, through the app."""

from __future__ import annotations

import re

import csv
import io

import pytest

from forecourt.core.clock import frozen_at
from tests.factories import admin_login, browser_for
from tests.sales.pipeline_data import FROM, NOW, TO, build

PERIOD = {"date_from": FROM.isoformat(), "date_to": TO.isoformat()}


@pytest.fixture
def data(make, session):
    built = build(make, session)
    session.commit()
    return built


def test_json_volume_speed_performance_trend_and_benchmark(client, data):
    with frozen_at(NOW):
        volume = client.get("/api/pipeline/volume", params=PERIOD, headers=data.rep1.headers).json()
        speed = client.get("/api/pipeline/speed", params=PERIOD, headers=data.rep1.headers).json()
        performance = client.get("/api/pipeline/performance", params=PERIOD | {"rep_id": data.rep1.user_id},
                                 headers=data.rep1.headers).json()
        trend = client.get("/api/pipeline/trend", params=PERIOD, headers=data.rep1.headers).json()
        benchmark = client.get("/api/pipeline/benchmark", params=PERIOD, headers=data.rep1.headers).json()
    assert volume["open_count"] == 3 and volume["filters"]["dealer_id"] == data.dealer.id
    assert speed["cycle_time"]["mean_days"] == 20.0 and speed["overdue"]["count"] == 2
    assert performance["win_rate"] == 0.5 and performance["filters"]["rep_id"] == data.rep1.user_id
    assert [m["new"] for m in trend["months"]] == [3, 3, 1]
    assert benchmark["ranking"] is None and data.dealer_b.name not in str(benchmark)


def test_json_refuses_unknown_filters_and_bad_periods(client, data):
    assert client.get("/api/pipeline/volume", params={"customer_id": 1}, headers=data.rep1.headers).status_code == 422
    response = client.get("/api/pipeline/volume", params={"date_from": "2026-03-01", "date_to": "2026-02-01"},
                          headers=data.rep1.headers)
    assert response.status_code == 422 and "period starts after it ends" in response.text


def test_the_page_shows_every_section_with_its_charts(make, data):
    browser = browser_for(make, data.rep1)
    with frozen_at(NOW):
        page = browser.get("/workspace/pipeline", params=PERIOD)
    assert page.status_code == 200
    html = page.text
    for anchor in ('id="volume"', 'id="speed"', 'id="performance"', 'id="trend"', 'id="benchmark"'):
        assert anchor in html
    assert '<svg id="funnel-chart"' in html and html.count('class="funnel-bar"') == 6
    assert '<svg id="trend-chart"' in html and html.count('class="trend-won"') == 3
    # charts are plain SVG: the page's body loads no script but the site's menu
    assert re.findall(r'<script[^>]*src="([^"]+)"', html.split("<main", 1)[-1]) == ["/static/js/menu.js"]
    assert "Too expensive compared with the rival offer." in html
    assert "50.0 %" in html  # win rate
    assert data.dealer_b.name not in html  # no peer named for a dealer
    assert 'name="dealer_id"' not in html  # a rep cannot pick another dealer


def test_the_carmaker_page_names_dealers_and_filters_by_dealer(make, data):
    browser = browser_for(make, admin_login(make))
    with frozen_at(NOW):
        network = browser.get("/workspace/pipeline", params=PERIOD)
        one = browser.get("/workspace/pipeline", params=PERIOD | {"dealer_id": data.dealer_b.id, "rep_id": "",
                                                                   "model_id": ""})
    assert network.status_code == 200 and 'id="ranking"' in network.text
    assert data.dealer.name in network.text and data.dealer_b.name in network.text
    assert one.status_code == 200 and f"Pipeline of {data.dealer_b.name}" in one.text


def test_a_dealer_without_deals_gets_an_empty_state(make, data):
    from forecourt.core.auth import Role

    quiet = make.dealer(name="Autohaus Leer")
    rep = make.staff(quiet, Role.DEALER_SALES)
    page = browser_for(make, rep).get("/workspace/pipeline")
    assert page.status_code == 200 and 'id="no-deals"' in page.text and "No deals in this period" in page.text


def test_a_bad_date_on_the_page_is_explained(make, data):
    page = browser_for(make, data.rep1).get("/workspace/pipeline", params={"date_from": "yesterday"})
    assert page.status_code == 422 and "YYYY-MM-DD" in page.text


def test_csv_export_has_the_figures_with_the_filters_applied(make, data):
    browser = browser_for(make, data.rep1)
    with frozen_at(NOW):
        response = browser.get("/workspace/pipeline.csv", params=PERIOD | {"model_id": data.m2.id})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.startswith("\ufeff")  # spreadsheets read the file as UTF-8
    rows = list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))))
    assert ["# Model", str(data.m2.id)] in rows and ["# From", "2026-01-01"] in rows and ["# Currency", "EUR"] in rows
    assert ["Volume", "open deals", "Offer", "1"] in rows
    assert ["Volume", "open deals", "all stages", "1"] in rows  # only deal 2 is a Borealis still open
    assert ["Performance", "win rate", "", "0.5"] in rows
    assert any(row[:3] == ["Performance", "value won (EUR)", ""] for row in rows)
    assert ["Trend", "new", "2026-02", "2"] in rows
    assert ["Report section", "Figure", "Broken down by", "Figure value"] in rows


def test_the_csv_export_is_written_in_the_readers_language(make, data):
    """A Korean or German manager opens the export in a spreadsheet: every name in it is in their language."""
    browser = browser_for(make, data.rep1)
    for language, header, volume, offer in (("ko", ["구분", "지표", "세부 구분", "값"], "규모", "견적"),
                                            ("de", ["Bereich", "Kennzahl", "Aufgeschlüsselt nach", "Wert"], "Volumen",
                                             "Angebot")):
        browser.cookies.set("fc_lang", language)  # the rep has no language setting of their own: the switch's
        with frozen_at(NOW):
            response = browser.get("/workspace/pipeline.csv", params=PERIOD | {"model_id": data.m2.id})
        rows = list(csv.reader(io.StringIO(response.text.removeprefix("\ufeff"))))
        assert header in rows, (language, rows)
        assert any(row[0] == volume and row[2] == offer and row[3] == "1" for row in rows), (language, rows)
        assert not any(word in response.text for word in ("open deals", "all stages", "win rate")), language
        assert not {row[0] for row in rows} & {"Volume", "Speed"}, language  # German says Performance and Trend too
