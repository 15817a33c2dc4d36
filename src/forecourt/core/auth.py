"""Who is asking: principals, roles and password hashing (argon2id, OWASP's first choice)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from forecourt.core.i18n import gettext, lazy_gettext

# OWASP's recommended argon2id setting (m=19 MiB, t=2, p=1). argon2-cffi's default (RFC 9106's
# low-memory profile, m=64 MiB, t=3, p=4) costs about 230 ms of both cores per login on a 2-core
# server, so a few people logging in at once queued behind each other for a second; this setting
# costs about 40 ms and one core. Hashes made with other parameters are rehashed at the next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


class Role(StrEnum):
    CARMAKER_ADMIN = "carmaker_admin"
    CALL_CENTRE_AGENT = "call_centre_agent"
    DEALER_SALES = "dealer_sales"
    DEALER_SERVICE = "dealer_service"
    DEALER_CASHIER = "dealer_cashier"
    PARTNER_ANALYST = "partner_analyst"
    CUSTOMER = "customer"

    @property
    def label(self) -> str:
        """What the role is called in the reader's language ("Dealer sales", "Händler – Verkauf")."""
        return gettext(ROLE_LABELS[self.value].message)

    @property
    def is_staff(self) -> bool:
        return self is not Role.CUSTOMER


ROLE_LABELS = {
    "carmaker_admin": lazy_gettext("Carmaker admin"),
    "call_centre_agent": lazy_gettext("Call-centre agent"),
    "dealer_sales": lazy_gettext("Dealer sales"),
    "dealer_service": lazy_gettext("Dealer service"),
    "dealer_cashier": lazy_gettext("Dealer cashier"),
    "partner_analyst": lazy_gettext("Partner analyst"),
    "customer": lazy_gettext("Customer"),
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. Staff and partners carry an organization; customers a customer id."""

    user_id: int
    role: Role
    display_name: str
    organization_id: int | None = None
    customer_id: int | None = None
    via_token: bool = False

    @property
    def is_customer(self) -> bool:
        return self.role is Role.CUSTOMER

    @property
    def is_admin(self) -> bool:
        return self.role is Role.CARMAKER_ADMIN


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Tokens are stored as digests, so a leaked table opens no session."""
    return hashlib.sha256(token.encode()).hexdigest()
