"""Follow-ups: written through the consent door, kept to the organization and to the purpose they were
written under, assigned only within the organization, listed overdue first."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from forecourt.core.auth import Role
from forecourt.core.errors import Invalid, NotFound
from forecourt.sales import follow_ups
from forecourt.sales.models import FollowUp


@pytest.fixture
def scene(make, session):
    dealer, other = make.dealer(), make.dealer()
    rep, colleague, stranger = make.staff(dealer, Role.DEALER_SALES), make.staff(dealer), make.staff(other)
    customer = make.customer()
    make.grant(customer, dealer, "sales_contact")
    make.grant(customer, other, "sales_contact")
    return dict(dealer=dealer, rep=make.principal(rep), colleague=colleague, stranger=make.principal(stranger),
                customer=customer)


def _add(session, scene, principal=None, **values):
    return follow_ups.add(session=session, principal=principal or scene["rep"], customer_id=scene["customer"].id,
                          **({"purpose": "sales_contact", "title": "Call back",
                              "due_on": date.today() + timedelta(days=1)} | values))


def test_written_only_under_a_granted_purpose_for_the_organizations_own_staff(make, session, scene):
    with pytest.raises(NotFound):  # not granted for marketing offers
        _add(session, scene, purpose="marketing_offers")
    with pytest.raises(Invalid, match="someone of your organization"):
        _add(session, scene, assigned_user_id=scene["stranger"].user_id)
    with pytest.raises(Invalid, match="in the past"):
        _add(session, scene, due_on=date.today() - timedelta(days=2))
    with pytest.raises(Invalid, match="what is to be done"):
        _add(session, scene, title="  ")
    task = _add(session, scene, assigned_user_id=scene["colleague"].user_id)
    assert (task.organization_id, task.assigned_user_id, task.purpose) == (
        scene["dealer"].id, scene["colleague"].user_id, "sales_contact")


def test_other_organizations_and_other_purposes_do_not_see_it(make, session, scene):
    task = _add(session, scene)
    customer_id = scene["customer"].id
    assert follow_ups.for_customer(session=session, principal=scene["rep"], customer_id=customer_id,
                                   purpose="sales_contact") == [task]
    assert follow_ups.for_customer(session=session, principal=scene["rep"], customer_id=customer_id,
                                   purpose="marketing_offers") == []
    assert follow_ups.for_customer(session=session, principal=scene["stranger"], customer_id=customer_id,
                                   purpose="sales_contact") == []
    with pytest.raises(NotFound):
        follow_ups.mark_done(session=session, principal=scene["stranger"], follow_up_id=task.id)
    assert task.done_at is None


def test_my_list_puts_overdue_first_and_drops_withdrawn_customers(make, session, scene):
    rep = scene["rep"]
    later = _add(session, scene, title="Later", due_on=date.today() + timedelta(days=5))
    soon = _add(session, scene, title="Soon")
    late = FollowUp(organization_id=scene["dealer"].id, customer_id=scene["customer"].id, purpose="sales_contact",
                    assigned_user_id=rep.user_id, title="Late", due_on=date.today() - timedelta(days=3))
    session.add(late)
    session.flush()
    rows = follow_ups.mine(session=session, principal=rep)
    assert [r["follow_up"].title for r in rows] == ["Late", "Soon", "Later"]
    assert [r["overdue"] for r in rows] == [True, False, False]
    follow_ups.mark_done(session=session, principal=rep, follow_up_id=soon.id)
    assert [r["follow_up"] for r in follow_ups.mine(session=session, principal=rep)] == [late, later]
    make.withdraw(scene["customer"], scene["dealer"], "sales_contact")
    assert follow_ups.mine(session=session, principal=rep) == []
    with pytest.raises(NotFound):
        follow_ups.mark_done(session=session, principal=rep, follow_up_id=later.id)
