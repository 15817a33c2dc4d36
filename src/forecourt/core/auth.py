"""Who is asking: principals, roles and password hashing (argon2id, OWASP's first choice)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's minimum for argon2id is m=19 MiB, t=2, p=1; argon2-cffi's defaults exceed it.
_hasher = PasswordHasher()


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
        return self.value.replace("_", " ").capitalize().replace("Call centre", "Call-centre")

    @property
    def is_staff(self) -> bool:
        return self is not Role.CUSTOMER


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
