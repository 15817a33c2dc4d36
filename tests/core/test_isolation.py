"""The harness promise every other test relies on: what one test commits, the next never sees."""

from forecourt.parties.models import Organization


def test_first_commits_a_row(session):
    session.add(Organization(kind="dealer", code="LEAK-1", name="Leak probe", opening_hours={}))
    session.commit()
    assert session.query(Organization).filter_by(code="LEAK-1").count() == 1


def test_second_does_not_see_it(session):
    assert session.query(Organization).filter_by(code="LEAK-1").count() == 0
