"""The role-to-purpose table in words, for the carmaker's page and the customer's privacy page."""

from __future__ import annotations

from forecourt.consent import service as consent_service
from forecourt.core.auth import Role
from forecourt.core.i18n import gettext


def role_purpose_rows(session) -> list[dict]:
    """Who may read for what, under which basis, and why (``consent.service.role_purposes``)."""
    purposes = {p.code: p for p in consent_service.list_purposes(session=session)}
    rows = []
    for row in consent_service.role_purposes(session=session):
        who = Role(row.role).label + (f" ({gettext(row.partner_kind)})" if row.partner_kind else "")
        purpose = purposes[row.purpose_code]
        rows.append(dict(role=row.role, partner_kind=row.partner_kind, who=who, purpose_code=purpose.code,
                         purpose_name=purpose.name, legal_basis=purpose.legal_basis, why=row.explanation,
                         position=purpose.position))
    return sorted(rows, key=lambda r: (r["position"], r["who"]))
