"""The carmaker's network view never adds euros and won: each currency's deals are summed on their own,
shown with their own sign, and the whole dashboard is of one currency at a time."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest

from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Invalid
from forecourt.sales import pipeline
from forecourt.sales.models import Opportunity
from tests.factories import admin_login, browser_for
from tests.sales.pipeline_data import FROM, LADDER, NOW, TO, at, deal

PERIOD = {"date_from": FROM.isoformat(), "date_to": TO.isoformat()}


@pytest.fixture
def network(make, session):
    berlin = make.dealer(name="Autohaus Euro")
    seoul = make.dealer(name="한빛모터스 강남", market="KR", street="강남구 도산대로 318", postcode="06054",
                        city="서울특별시", phone="02-3445-2688")
    model = SimpleNamespace(id=make.trim().model_id)
    rep_de, rep_kr = make.staff(berlin, Role.DEALER_SALES), make.staff(seoul, Role.DEALER_SALES)
    deal(session, dealer=berlin, rep=rep_de, model=model, amount=41000, created=at(2026, 2, 1), path=LADDER[:2])
    deal(session, dealer=berlin, rep=rep_de, model=model, amount=39000, created=at(2026, 1, 5),
         path=[*LADDER[:3], "won"], status="won", closed=at(2026, 2, 5))
    for amount in (58_900_000, 61_200_000):
        deal(session, dealer=seoul, rep=rep_kr, model=model, amount=amount, created=at(2026, 2, 3), path=LADDER[:2])
    deal(session, dealer=seoul, rep=rep_kr, model=model, amount=55_000_000, created=at(2026, 1, 3),
         path=[*LADDER[:2], "won"], status="won", closed=at(2026, 2, 10))
    for d, currency in ((berlin, "EUR"), (seoul, "KRW")):
        for opportunity in session.query(Opportunity).filter_by(dealer_id=d.id):
            opportunity.currency = currency
    session.commit()
    return dict(berlin=berlin, seoul=seoul, rep_kr=rep_kr)


def test_each_currency_is_summed_on_its_own(make, session, network):
    admin = make.principal(admin_login(make))
    with frozen_at(NOW):
        euros = pipeline.dashboard(session=session, scope=pipeline.scope_for(
            session=session, principal=admin, date_from=FROM, date_to=TO))
        won = pipeline.dashboard(session=session, scope=pipeline.scope_for(
            session=session, principal=admin, date_from=FROM, date_to=TO, currency="krw"))
    assert euros["currency"] == "EUR" and euros["volume"]["open_value"] == 41000.0
    assert euros["performance"]["value_won"] == 39000.0
    assert won["currency"] == "KRW" and won["volume"]["open_value"] == 120_100_000.0
    assert won["performance"]["value_won"] == 55_000_000.0
    # peers are dealers selling in the same currency: the won view ranks only the Korean dealer
    assert [r["dealer_id"] for r in won["benchmark"]["ranking"] or []] in ([], [network["seoul"].id])
    totals = {c["currency"]: c for c in euros["currencies"]}
    assert totals["EUR"]["open_value"] == 41000.0 and totals["KRW"]["open_value"] == 120_100_000.0
    assert (totals["EUR"]["won_count"], totals["KRW"]["won_count"]) == (1, 1)
    with pytest.raises(Invalid):
        pipeline.scope_for(session=session, principal=admin, currency="USD")


def test_a_korean_dealer_sees_won_and_the_network_page_shows_each_currency(make, network):
    with frozen_at(NOW):
        mine = browser_for(make, network["rep_kr"]).get("/workspace/pipeline", params=PERIOD)
        page = browser_for(make, admin_login(make)).get("/workspace/pipeline", params=PERIOD)
        korean = browser_for(make, admin_login(make)).get("/workspace/pipeline", params=PERIOD | {"currency": "KRW"})
        export = browser_for(make, admin_login(make)).get("/workspace/pipeline.csv", params=PERIOD)
    assert mine.status_code == 200 and "₩120,100,000" in mine.text and "€" not in mine.text.split("<main", 1)[1]
    assert page.status_code == 200 and 'id="currency-table"' in page.text
    assert "€41,000" in page.text and "₩120,100,000" in page.text  # each total in its own currency
    assert "₩120,141,000" not in page.text and "120,141,000" not in page.text  # never added together
    assert korean.status_code == 200 and "₩55,000,000" in korean.text
    rows = list(csv.reader(io.StringIO(export.text.removeprefix("\ufeff"))))
    assert ["Volume", "open value (EUR)", "all stages", "41000.0"] in rows
    assert ["Network by currency", "open value (KRW)", "KRW", "120100000.0"] in rows
