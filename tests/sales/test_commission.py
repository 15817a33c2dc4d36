"""Commission rules the carmaker manages (create, change, retire; the most specific in force wins) and
the monthly statement of each dealer as CSV and PDF."""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Conflict, Invalid
from forecourt.core.i18n import use_locale
from forecourt.parties.models import AuditEntry
from forecourt.sales import commission, orders, statements
from tests.factories import admin_login, browser_for, csrf_token_of, fast_password_hashing  # noqa: F401
from tests.sales.orders_scene import order_in_state

JUNE = datetime(2025, 6, 10, 9, tzinfo=UTC)


def _deliver(make, dealer, at: datetime, total: float = 42000.0):
    """An order of ``dealer`` handed over at ``at`` (paid at its till), with its commission fixed."""
    order = order_in_state(make, make.customer(), dealer, "paid", total=total)
    with frozen_at(at):
        order.status, order.handed_over_at = "delivered", at
        order.commission, order.commission_rule = commission.commission_for(session=make.session, order=order,
                                                                             on=at.date())
    make.session.flush()
    return order


def test_the_most_specific_rule_in_force_wins_and_retiring_falls_back(make, session):
    admin = make.principal(admin_login(make))
    dealer = make.dealer()
    model_id = make.trim().model_id
    network = commission.create_rule(session=session, principal=admin, dealer_id=None, model_id=None, percent=2,
                                     fixed=0, valid_from=date(2020, 1, 1))
    for_dealer = commission.create_rule(session=session, principal=admin, dealer_id=dealer.id, model_id=None,
                                        percent=3, fixed=0, valid_from=date(2020, 1, 1))
    for_both = commission.create_rule(session=session, principal=admin, dealer_id=dealer.id, model_id=model_id,
                                      percent=4, fixed=150, valid_from=date(2020, 1, 1))
    order = order_in_state(make, make.customer(), dealer)
    amount, words = commission.commission_for(session=session, order=order, on=date(2025, 6, 1))
    assert float(amount) == 42000 * 0.04 + 150 and "this dealer's rule for this model" in words
    commission.retire_rule(session=session, principal=admin, rule_id=for_both.id, on=date(2025, 6, 1))
    amount, words = commission.commission_for(session=session, order=order, on=date(2025, 6, 1))
    assert float(amount) == 1260.0 and "this dealer's rule" in words
    assert commission.commission_for(session=session, order=order, on=date(2025, 5, 31))[0] == Decimal("1830.00")
    commission.change_rule(session=session, principal=admin, rule_id=for_dealer.id, changes={"percent": Decimal("2.5")})
    assert commission.commission_for(session=session, order=order, on=date(2025, 6, 1))[0] == Decimal("1050.00")
    commission.retire_rule(session=session, principal=admin, rule_id=for_dealer.id, on=date(2025, 6, 1))
    commission.retire_rule(session=session, principal=admin, rule_id=network.id, on=date(2025, 6, 1))
    amount, words = commission.commission_for(session=session, order=order, on=date(2025, 6, 2))
    assert amount == 0 and "no commission rule" in words  # retired means retired: no default sneaks back
    with pytest.raises(Conflict, match="retired"):
        commission.change_rule(session=session, principal=admin, rule_id=for_dealer.id, changes={"percent": 9})
    with pytest.raises(Invalid, match="between 0 and 100"):
        commission.create_rule(session=session, principal=admin, dealer_id=None, model_id=None, percent=101, fixed=0)
    with pytest.raises(Invalid, match="dealers"):
        commission.create_rule(session=session, principal=admin, dealer_id=make.partner().id, model_id=None,
                               percent=1, fixed=0)
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("commission_rule.%"))).all()
    assert sorted(set(actions)) == ["commission_rule.change", "commission_rule.create", "commission_rule.retire"]
    assert len(actions) == 3 + 1 + 3


def test_rules_through_the_api_for_admins_only(make, client, session):
    admin = admin_login(make)
    dealer = make.dealer()
    created = client.post("/api/admin/commission-rules", headers=admin.headers,
                          json={"dealer_id": dealer.id, "percent": "3.25", "fixed": "100", "valid_from": "2025-01-01"})
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    changed = client.patch(f"/api/admin/commission-rules/{rule_id}", headers=admin.headers, json={"percent": "3.5"})
    assert changed.status_code == 200 and changed.json()["percent"] == 3.5
    assert client.patch(f"/api/admin/commission-rules/{rule_id}", headers=admin.headers,
                        json={"dealer_id": make.dealer().id}).status_code == 422  # scope is not for changing
    retired = client.post(f"/api/admin/commission-rules/{rule_id}/retire", headers=admin.headers,
                          json={"on": "2025-07-01"})
    assert retired.status_code == 200 and retired.json()["retired_on"] == "2025-07-01"
    listed = client.get("/api/admin/commission-rules", headers=admin.headers).json()
    assert [r["id"] for r in listed] == [rule_id]
    for caller in (make.staff(dealer), make.staff(dealer, Role.DEALER_CASHIER), make.customer_login(make.customer())):
        assert client.get("/api/admin/commission-rules", headers=caller.headers).status_code == 404
        assert client.post("/api/admin/commission-rules", headers=caller.headers,
                           json={"percent": "50"}).status_code == 404


def test_a_month_statement_per_dealer_as_csv_and_pdf(make, client, session):
    admin = admin_login(make)
    dealer, other = make.dealer(name="Autohaus Nord", street="Hafenweg 1", postcode="24103", city="Kiel"), make.dealer()
    in_june = [_deliver(make, dealer, JUNE), _deliver(make, dealer, datetime(2025, 6, 30, 21, 30, tzinfo=UTC),
                                                     total=30000.0)]  # 23:30 on 30 June in Kiel
    _deliver(make, dealer, datetime(2025, 6, 30, 22, 30, tzinfo=UTC))  # 00:30 on 1 July in Kiel: July
    _deliver(make, other, JUNE)
    order_in_state(make, make.customer(), dealer, "paid")  # paid, not handed over: not on a statement
    session.commit()

    document = statements.statement(session=session, dealer_id=dealer.id, month=date(2025, 6, 1))
    assert [line["number"] for line in document["lines"]] == [o.number for o in in_june]
    assert (document["cars"], document["sales"], document["commission"]) == (2, Decimal("72000.00"),
                                                                              Decimal("2160.00"))
    network = {row["dealer"].id: row for row in statements.network_month(session=session, month=date(2025, 6, 1))}
    assert (network[dealer.id]["cars"], network[other.id]["cars"]) == (2, 1)

    response = client.get(f"/api/admin/commission-statements/{dealer.id}/2025-06.csv", headers=admin.headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.startswith("\ufeff")  # spreadsheets read it as UTF-8
    rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
    assert [r["Order"] for r in rows] == [o.number for o in in_june] + ["Total"]
    assert rows[-1]["Commission (EUR)"] == "2160.00" and rows[-1]["Car"] == "2 cars"
    assert "network default" in rows[0]["Rule"]
    assert all(o.customer_id and str(o.customer_id) not in rows[0].values() for o in in_june)

    pdf = client.get(f"/api/admin/commission-statements/{dealer.id}/2025-06.pdf", headers=admin.headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    text = b"".join(_streams(pdf.content)).decode("latin-1")
    for number in [o.number for o in in_june]:
        assert number in text
    assert "2,160.00" in text and "Autohaus Nord" in text

    summary = client.get("/api/admin/commission-statements", params={"month": "2025-06"}, headers=admin.headers)
    assert {r["dealer_id"]: r["cars"] for r in summary.json()}[dealer.id] == 2
    assert client.get("/api/admin/commission-statements", params={"month": "June"},
                      headers=admin.headers).status_code == 422
    assert client.get(f"/api/admin/commission-statements/{dealer.id}/2025-06.csv",
                      headers=make.staff(dealer).headers).status_code == 404


def _streams(pdf: bytes) -> list[bytes]:
    """The PDF's content streams, inflated, so the text on the page can be searched."""
    found = []
    for raw in re.findall(rb"stream\r?\n(.*?)\s*endstream", pdf, re.S):
        if raw.rstrip().endswith(b"~>"):  # ReportLab writes ASCII85 around the deflated bytes
            raw = base64.a85decode(raw.rstrip()[:-2].replace(b"\n", b""))
        try:
            found.append(zlib.decompress(raw))
        except zlib.error:
            found.append(raw)
    return found


def test_the_admin_page_manages_rules_and_links_the_statements(make, session):
    admin = admin_login(make)
    dealer = make.dealer(name="Autohaus Süd")
    browser = browser_for(make, admin)
    token = csrf_token_of(session, browser)
    page = browser.get("/admin/commission", params={"month": "2025-06"})
    assert page.status_code == 200 and "Statements for June 2025" in page.text
    assert f"/api/admin/commission-statements/{dealer.id}/2025-06.pdf" in page.text
    created = browser.post("/admin/commission/rules", follow_redirects=False, data={
        "csrf_token": token, "dealer_id": str(dealer.id), "percent": "2.75", "fixed": "0", "valid_from": "2025-01-01"})
    assert created.status_code == 303 and "flash=" in created.headers["location"]
    (rule,) = commission.list_rules(session=session)
    assert (rule.dealer_id, float(rule.percent)) == (dealer.id, 2.75)
    browser.post(f"/admin/commission/rules/{rule.id}", data={"csrf_token": token, "percent": "3.1", "fixed": "50"})
    session.expire_all()
    assert (float(rule.percent), float(rule.fixed)) == (3.1, 50.0)
    bad = browser.post(f"/admin/commission/rules/{rule.id}/retire", follow_redirects=False,
                       data={"csrf_token": token, "on": "2024-01-01"})
    assert "error=" in bad.headers["location"]
    browser.post(f"/admin/commission/rules/{rule.id}/retire", data={"csrf_token": token, "on": "2025-08-01"})
    session.expire_all()
    assert rule.retired_on == date(2025, 8, 1)
    assert "Retire" not in browser.get("/admin/commission").text.split("New rule")[0].split(dealer.name)[1]
    assert orders.commission_for is commission.commission_for


def _korean_statement(make) -> dict:
    dealer = make.dealer(name="한빛모터스 강남", market="KR", street="강남구 도산대로 318", postcode="06054",
                         city="서울특별시", phone="02-3445-2688")
    line = dict(number="ORD-KR-0001", handed_over_on=date(2025, 6, 12), car="Terra e-Terra", vin="KMHTG81CBSU000001",
                price=Decimal("58900000"), commission=Decimal("1767000"), rule="3% 딜러 수수료")
    return dict(dealer=dealer, month=date(2025, 6, 1), lines=[line], cars=1, sales=line["price"],
                commission=line["commission"])


def test_a_korean_statement_pdf_is_written_in_korean_with_won(make):
    """The PDF's text, read back as a PDF reader reads it, holds the Korean words and the won amounts:
    a font that cannot write Hangul would leave blanks or boxes."""
    from pypdf import PdfReader

    document = _korean_statement(make)
    with use_locale("ko"):
        pdf = statements.as_pdf(document)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for words in ("수수료 정산서", "2025년 6월", "한빛모터스 강남", "서울특별시", "주문", "인도일", "합계", "1대",
                  "₩58,900,000", "₩1,767,000", "3% 딜러 수수료", "적용된 규칙"):
        assert words in text, (words, text)
    with use_locale("ko"):
        table = statements.as_csv(document)
    rows = list(csv.reader(io.StringIO(table.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["딜러", "월", "주문"] and rows[0][6:8] == ["가격(KRW)", "수수료(KRW)"]
    assert rows[1][6:8] == ["58900000", "1767000"]  # won have no minor unit: no ".00"


def test_a_german_statement_names_a_korean_dealer_legibly(make):
    document = _korean_statement(make)
    with use_locale("de"):
        pdf = statements.as_pdf(document)
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Provisionsabrechnung" in text and "한빛모터스 강남" in text and "Summe" in text


def test_the_network_month_keeps_each_dealer_in_its_currency(make, client, session):
    admin = admin_login(make)
    seoul, kiel = make.dealer(name="한빛모터스 강남", market="KR", street="강남구 도산대로 318", postcode="06054",
                              city="서울특별시", phone="02-3445-2688"), make.dealer(name="Autohaus Nord")
    session.commit()
    rows = {r["dealer_id"]: r for r in client.get("/api/admin/commission-statements", params={"month": "2025-06"},
                                                  headers=admin.headers).json()}
    assert (rows[seoul.id]["currency"], rows[kiel.id]["currency"]) == ("KRW", "EUR")
    page = browser_for(make, admin).get("/admin/commission", params={"month": "2025-06"}).text
    assert "₩0" in page and "€0.00" in page


def test_a_rule_for_a_korean_dealer_pays_in_won_and_the_form_shows_each_rules_currency(make, session):
    """The commission form shows the currency the amount is in: the dealer's market's for a dealer's rule,
    the carmaker's own for a rule of every dealer; never a euro sign on a won amount."""
    login = admin_login(make)
    admin = make.principal(login)
    seoul = make.dealer(name="한빛모터스 강남", market="KR", street="강남구 도산대로 318", postcode="06054",
                        city="서울특별시", phone="02-3445-2688")
    korean = commission.create_rule(session=session, principal=admin, dealer_id=seoul.id, model_id=None, percent=1,
                                    fixed=200000, valid_from=date(2025, 1, 1))
    network = commission.create_rule(session=session, principal=admin, dealer_id=None, model_id=None, percent=2,
                                     fixed=100, valid_from=date(2025, 1, 1))
    assert (korean.currency, network.currency) == ("KRW", "EUR")
    assert "₩200,000 per car" in commission.terms_of(korean) and "€100.00 per car" in commission.terms_of(network)
    with pytest.raises(Invalid, match="whole amount"):
        commission.change_rule(session=session, principal=admin, rule_id=korean.id, changes={"fixed": Decimal("0.5")})
    with pytest.raises(Invalid, match="₩150,000,000"):
        commission.change_rule(session=session, principal=admin, rule_id=korean.id, changes={"fixed": 150_000_001})
    commission.change_rule(session=session, principal=admin, rule_id=korean.id, changes={"fixed": 300000})
    session.commit()
    page = browser_for(make, login).get("/admin/commission").text
    row = page.split("한빛모터스 강남", 1)[1].split("</tr>", 1)[0]
    assert "₩300,000 per car" in row and "+ ₩" in row and 'step="1"' in row and 'value="300000"' in row and "€" not in row
    assert "Per car (€)" in page  # a rule for every dealer is in the carmaker's currency
    with use_locale("ko"):
        assert "₩300,000" in commission.terms_of(korean)


def test_what_an_action_says_afterwards_is_in_the_admins_language(make, session):
    from urllib.parse import unquote_plus

    login = admin_login(make)
    browser = browser_for(make, login)
    browser.cookies.set("fc_lang", "ko")
    created = browser.post("/admin/commission/rules", follow_redirects=False, data={
        "csrf_token": csrf_token_of(session, browser), "dealer_id": "", "percent": "2.5", "fixed": "0",
        "valid_from": "2025-01-01"})
    assert created.status_code == 303 and "규칙을 만들었습니다" in unquote_plus(created.headers["location"])
