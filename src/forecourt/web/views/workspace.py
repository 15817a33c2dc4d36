"""The dealer and partner workspace: the customers who allowed this organization, for a stated purpose.

Every read goes through the consent door (``list_visible``, ``customer_360``), so each page view is
in the customer's access log, and a customer without a grant is a 404 like any unknown page.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from forecourt.core.schemas import Id
from forecourt.consent import service as consent_service
from forecourt.core.i18n import _
from forecourt.customers import service as customers_service
from forecourt.parties import service as parties_service
from forecourt.privacy import customer360
from forecourt.web.deps import DbSession, StaffPage, stated_purpose
from forecourt.web.openapi import answers
from forecourt.web.views.render import render

router = APIRouter(tags=["pages"])

PAGE_SIZE = 25


@router.get("/workspace/customers", responses=answers(400))
def customer_list(request: Request, principal: StaffPage, session: DbSession, q: str | None = None,
                  purpose: str | None = None, page: int = Query(default=1, ge=1, le=100_000)):
    readable = set(consent_service.purposes_of_role(session=session, principal=principal))
    purposes = [p for p in consent_service.list_purposes(session=session) if p.needs_consent and p.code in readable]
    chosen = stated_purpose(session, principal, purpose)
    organization = parties_service.get_organization(session=session, organization_id=principal.organization_id)
    context = dict(purposes=purposes, purpose=chosen, q=(q or "").strip(), page=page, organization=organization,
                   customers=[], total=0, page_size=PAGE_SIZE)
    if chosen not in {p.code for p in purposes}:
        # A list is justified only by consent, for a purpose of the reader's work; cases and recalls
        # open one customer by reference.
        error = (_("Choose one of the purposes customers can consent to.") if purposes else
                 _("Your role opens a customer only through the case or record that concerns them."))
        return render(request, "workspace/customers.html", status_code=400, error=error, **context)
    customers, total = customers_service.list_visible(session=session, principal=principal, purpose=chosen,
                                                      q=context["q"] or None, limit=PAGE_SIZE,
                                                      offset=(page - 1) * PAGE_SIZE)
    return render(request, "workspace/customers.html", error=None, **context | dict(customers=customers,
                                                                                   total=total))


@router.get("/workspace/customers/{customer_id}")
def customer_page(request: Request, customer_id: Id, principal: StaffPage, session: DbSession,
                  purpose: str | None = None):
    view = customer360.customer_360(session=session, principal=principal, customer_id=customer_id,
                                    purpose=stated_purpose(session, principal, purpose))
    purposes = {p.code: p for p in consent_service.list_purposes(session=session)}
    return render(request, "workspace/customer.html", view=view, purposes=purposes,
                  readable=consent_service.purposes_of_role(session=session, principal=principal),
                  organization=parties_service.get_organization(session=session,
                                                                organization_id=principal.organization_id))
