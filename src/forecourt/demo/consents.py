"""Consents and reads for the demo, written row by row exactly as the consent service writes them.

``consent_service.give`` keeps one grant row per customer, organization and purpose, and appends a
receipt to the ledger for every change; ``withdraw`` stamps the grant and appends another. The
demo writes thousands of these in bulk, so it repeats those rules here instead of calling the
service per grant, and the demo tests check the result against the service's own reading.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent.catalogue import CONSENT
from forecourt.consent.models import AccessLogEntry, ConsentReceipt, Grant, Notice, Purpose
from forecourt.demo.bulk import Ids, Rows

GRANTS, LEDGER, ACCESS = Grant.__table__, ConsentReceipt.__table__, AccessLogEntry.__table__


@dataclass
class ConsentBook:
    """The purposes and notices of this database, and the grants given in the current batch."""

    rng: Random
    ids: Ids
    rows: Rows
    now: datetime
    notices: dict[int, set[str]]
    legal_basis: dict[str, str]
    # Before this moment customers read the first notice; afterwards the current one.
    current_notice_since: datetime
    _given: set[tuple[int, int, str]] = field(default_factory=set)
    # Each customer reads the notice in their own language; the receipt says which.
    languages: dict[int, str] = field(default_factory=dict)
    jurisdictions: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, *, session: Session, rng: Random, ids: Ids, rows: Rows, now: datetime) -> ConsentBook:
        notices = {n.version: set(n.purposes) for n in session.scalars(select(Notice))}
        if not notices:
            raise RuntimeError("No privacy notice published; run 'forecourt db upgrade' first.")
        legal_basis = {p.code: p.legal_basis for p in session.scalars(select(Purpose))}
        return cls(rng=rng, ids=ids, rows=rows, now=now, notices=notices, legal_basis=legal_basis,
                   current_notice_since=now - timedelta(days=300))

    @property
    def current_notice(self) -> int:
        return max(self.notices)

    def notice_for(self, purpose: str, at: datetime) -> int:
        """The notice a customer would have read at that moment, if it covered the purpose."""
        oldest_first = sorted(self.notices)
        if at < self.current_notice_since:
            for version in oldest_first:
                if purpose in self.notices[version]:
                    return version
        return self.current_notice

    def _receipt(self, *, customer_id: int, organization_id: int, purpose: str, notice_version: int,
                 state: str, method: str, at: datetime) -> None:
        self.rows.add(LEDGER, dict(
            id=self.ids.take(LEDGER), receipt_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            customer_id=customer_id, organization_id=organization_id, purpose_code=purpose,
            legal_basis=self.legal_basis[purpose], notice_version=notice_version, state=state, method=method,
            jurisdiction=self.jurisdictions.get(customer_id, "EU"), recorded_by_user_id=None, recorded_at=at,
            language=self.languages.get(customer_id, "en")))

    def give(self, *, customer_id: int, organization_id: int, purpose: str, at: datetime,
             method: str = "web-portal") -> dict | None:
        """A grant row and its 'granted' receipt; a second grant of the same thing is ignored."""
        if self.legal_basis.get(purpose) != CONSENT:
            raise ValueError(f"'{purpose}' does not rest on consent")
        key = (customer_id, organization_id, purpose)
        if key in self._given:
            return None
        at = min(at, self.now)
        version = self.notice_for(purpose, at)
        if purpose not in self.notices[version]:
            return None
        if version == self.current_notice and at < self.current_notice_since:
            # Only the current notice offers this purpose, so nobody could grant it earlier.
            window = (self.now - self.current_notice_since).total_seconds()
            at = self.current_notice_since + timedelta(seconds=self.rng.uniform(0, window))
        self._given.add(key)
        grant = dict(id=self.ids.take(GRANTS), customer_id=customer_id, organization_id=organization_id,
                     purpose_code=purpose, notice_version=version, granted_at=at, withdrawn_at=None,
                     expires_at=None)
        self.rows.add(GRANTS, grant)
        self._receipt(customer_id=customer_id, organization_id=organization_id, purpose=purpose,
                      notice_version=version, state="granted", method=method, at=at)
        return grant

    def withdraw(self, grant: dict, *, at: datetime, method: str = "web-portal") -> None:
        grant["withdrawn_at"] = at
        self._receipt(customer_id=grant["customer_id"], organization_id=grant["organization_id"],
                      purpose=grant["purpose_code"], notice_version=grant["notice_version"], state="withdrawn",
                      method=method, at=at)

    def looked(self, *, customer_id: int, organization_id: int, user_id: int, role: str, purpose: str,
               what: str, at: datetime) -> None:
        """One access-log row, as ``consent_service.log_access`` writes it."""
        self.rows.add(ACCESS, dict(id=self.ids.take(ACCESS), customer_id=customer_id,
                                   organization_id=organization_id, user_id=user_id, role=role,
                                   purpose_code=purpose, legal_basis=self.legal_basis[purpose], what=what,
                                   reference=None, at=at))

    def reads_after(self, grant: dict, *, user_id: int, role: str, whats: tuple[str, ...], most: int) -> None:
        """A few reads by staff while the grant was in force, so "who looked" has something to show."""
        start = grant["granted_at"]
        end = grant["withdrawn_at"] or self.now
        span = (end - start).total_seconds()
        if span < 3600:
            return
        for _ in range(self.rng.randint(1, most)):
            at = start + timedelta(seconds=self.rng.uniform(60, span - 60))
            self.looked(customer_id=grant["customer_id"], organization_id=grant["organization_id"],
                        user_id=user_id, role=role, purpose=grant["purpose_code"], what=self.rng.choice(whats),
                        at=at)

    def forget_batch(self) -> None:
        """Grants are unique per customer; once a batch of customers is written, nothing repeats."""
        self._given.clear()
