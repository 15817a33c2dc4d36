"""Lead scoring learns from won and lost deals and says why, in words."""

from __future__ import annotations

from datetime import date

from forecourt.core.auth import Role
from forecourt.customers import service as customers_service
from forecourt.sales import intake
from forecourt.sales import scoring
from forecourt.sales.models import Lead, Opportunity


def history(make, dealer, *, source: str, won: int, lost: int) -> None:
    """Closed deals that came from leads of one source."""
    for i in range(won + lost):
        customer = customers_service.create(session=make.session, email=f"history{make.n()}@example.test",
                                            profile={"last_name": f"Lead{i}"})
        lead = Lead(dealer_id=dealer.id, customer_id=customer.id, source=source, status="converted",
                    first_name="Hist", last_name=f"Lead{i}", email=customer.email, routed_by="customer_choice")
        make.session.add(lead)
        make.session.flush()
        make.session.add(Opportunity(dealer_id=dealer.id, customer_id=customer.id, lead_id=lead.id,
                                     title=f"Deal {i}", stage_code="closed", status="won" if i < won else "lost"))
    make.session.flush()


def ask(session, dealer, **values):
    base = dict(source=None, first_name="Nora", last_name="Score", email=f"nora.{values.get('wants', 'x')}"
                f"{values.pop('n', '')}@example.test", phone=None, allow_contact=False, dealer_id=dealer.id)
    return intake.take_lead(session=session, **(base | values)).lead


def test_with_too_little_history_the_score_is_the_network_base_rate_and_says_so(make, session):
    dealer = make.dealer()
    history(make, dealer, source="test_drive", won=2, lost=1)
    lead = ask(session, dealer, wants="test_drive")
    assert lead.score == round(100 * (2 + 1) / (3 + 2))  # Laplace-smoothed base rate: 60
    assert len(lead.score_reasons) == 1
    (reason,) = scoring.explain(lead.score_reasons)
    assert "Too little history to learn from yet: 3 closed deals in the network" in reason
    assert "base rate of 60%" in reason


def test_scoring_learns_that_test_drives_win_more_and_says_why(make, session):
    dealer = make.dealer()
    history(make, dealer, source="test_drive", won=12, lost=4)  # 75% won
    history(make, dealer, source="web_form", won=3, lost=13)  # 19% won
    test_drive = ask(session, dealer, wants="test_drive", preferred_date=date(2026, 5, 4), n=1)
    web_form = ask(session, dealer, wants="call", n=2)
    assert test_drive.source == "test_drive" and web_form.source == "web_form"
    assert test_drive.score > 60 > 40 > web_form.score
    summary, *factors = scoring.explain(test_drive.score_reasons)
    assert summary.startswith(f"Estimated chance to win: {test_drive.score}%")
    assert "learnt from 32 closed deals at this dealer" in summary
    assert factors[0] == "Test-drive requests are won 75% of the time here, against 47% overall (12 of 16)."
    assert ("Web-form enquiries are won 19% of the time here, against 47% overall (3 of 16)."
            in scoring.explain(web_form.score_reasons))


def test_a_dealer_with_few_deals_learns_from_the_network(make, session):
    busy, new = make.dealer(), make.dealer()
    history(make, busy, source="test_drive", won=8, lost=2)
    history(make, busy, source="event", won=1, lost=9)
    lead = ask(session, new, wants="test_drive")
    reasons = scoring.explain(lead.score_reasons)
    assert "in the network (this dealer has too few yet)" in reasons[0]
    assert any(reason.startswith("Test-drive requests are won 80% of the time in the network") for reason in reasons)


def test_rescoring_uses_what_the_history_says_today(make, session):
    dealer = make.dealer()
    make.staff(dealer, Role.DEALER_SALES)
    lead = ask(session, dealer, wants="test_drive")
    assert "Too little history" in scoring.explain(lead.score_reasons)[0]
    history(make, dealer, source="test_drive", won=15, lost=5)
    history(make, dealer, source="web_form", won=2, lost=10)
    closed = Lead(dealer_id=dealer.id, source="web_form", status="disqualified", routed_by="location")
    session.add(closed)
    session.flush()
    assert scoring.rescore_open(session=session, dealer_id=dealer.id) == 1  # only open leads
    assert lead.score > 60 and "learnt from 32 closed deals at this dealer" in scoring.explain(lead.score_reasons)[0]
    assert closed.score is None


def test_the_reasons_are_kept_as_facts_and_read_in_each_readers_language(make, session):
    """Scored once, in whatever language; a German and a Korean rep each read the reasons in theirs."""
    from forecourt.core.i18n import use_locale

    dealer = make.dealer()
    history(make, dealer, source="test_drive", won=12, lost=4)
    history(make, dealer, source="web_form", won=3, lost=13)
    with use_locale("en"):
        lead = ask(session, dealer, wants="test_drive", preferred_date=date(2026, 5, 4), n=1)
    assert all(isinstance(reason, dict) for reason in lead.score_reasons)  # no sentence stored in one language
    with use_locale("de"):
        german = scoring.explain(lead.score_reasons)
    with use_locale("ko"):
        korean = scoring.explain(lead.score_reasons)
    assert german[0].startswith(f"Geschätzte Gewinnchance: {lead.score}%") and "32 abgeschlossenen" in german[0]
    assert "Probefahrtanfragen werden hier in 75% der Fälle gewonnen" in german[1], german
    assert korean[0].startswith(f"예상 성사 확률: {lead.score}%") and "32건" in korean[0], korean
    assert "시승 신청" in korean[1] and "75%" in korean[1] and "(16건 중 12건)" in korean[1], korean
    assert scoring.explain(["Written before reasons were facts."]) == ["Written before reasons were facts."]
