"""The audit log reads money, shares, days and moments as the viewer writes them: money with its
currency (Babel), days in the reader's words, moments on the viewer's clock; before and after values too."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from forecourt.core.auth import Principal, Role
from forecourt.core.clock import frozen_at
from forecourt.parties import service as parties_service
from forecourt.parties.models import User
from forecourt.sales import commission
from tests.factories import admin_login, browser_for


def _principal(login) -> Principal:
    return Principal(user_id=login.user_id, role=Role.CARMAKER_ADMIN, display_name="Admin",
                     organization_id=login.organization_id)


def _rows(html: str) -> list[str]:
    return html.split('<tr data-action="')[1:]


def test_money_dates_and_moments_in_the_audit_log_are_the_viewers(make, session):
    admin = admin_login(make)
    me = _principal(admin)
    dealer = make.dealer(name="Autohaus Mitte")
    with frozen_at(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)):
        rule = commission.create_rule(session=session, principal=me, dealer_id=dealer.id, model_id=None,
                                      percent=Decimal("2.5"), fixed=Decimal("1250"), valid_from=date(2026, 3, 2))
        commission.change_rule(session=session, principal=me, rule_id=rule.id,
                               changes={"fixed": Decimal("1500.50")})
        parties_service.audit(session=session, actor=me, action="payment.receipt", target="payment PAY-1",
                              details={"entry": 7, "amount": "45900000.00", "currency": "KRW", "kind": "receipt",
                                       "at": "2026-03-02T08:30:00"})
        session.commit()
    browser = browser_for(make, admin)
    page = browser.get("/admin/audit").text
    payment, change, created = _rows(page)[:3]
    assert "₩45,900,000" in payment and "45900000.00" not in payment and "KRW" not in payment
    assert "Ledger entry: 7" in payment and "Kind: receipt" in payment
    assert "Amount per car: <del>€1,250.00</del> → <ins>€1,500.50</ins>" in change
    assert "Autohaus Mitte" in created and "2.5%" in created and "€1,250.00" in created
    assert "From: 02 Mar 2026" in created and ">2026-03-02" not in created
    assert "Amount: ₩45,900,000" in payment and ">2026-03-02T08:30" not in payment and "02 Mar 2026" in payment

    session.get(User, admin.user_id).language = "de"
    session.commit()
    german = _rows(browser.get("/admin/audit").text)
    assert "1.250,00\xa0€" in german[1] and "1.500,50\xa0€" in german[1]
    assert "45.900.000\xa0₩" in german[0] and "Art: Zahlungseingang" in german[0]
