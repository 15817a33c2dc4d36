from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr, Field

from forecourt.core.auth import Role
from forecourt.core.schemas import Changes, Id, Input, Output


class LoginIn(Input):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(Output):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    role: str


class OrganizationIn(Input):
    kind: str = Field(pattern="^(dealer|partner|carmaker)$")
    partner_kind: str | None = Field(default=None, pattern="^(finance|insurance|roadside|emergency)$")
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Z0-9-]+$")
    name: str = Field(min_length=2, max_length=200)
    street: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=16)
    city: str | None = Field(default=None, max_length=100)
    country: str = Field(default="DE", min_length=2, max_length=2)
    # Without a market, the country's; without a time zone, the market's (IANA, e.g. Asia/Seoul).
    market: str | None = Field(default=None, min_length=2, max_length=2)
    time_zone: str | None = Field(default=None, max_length=64)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    phone: str | None = Field(default=None, max_length=40)
    email: EmailStr | None = None
    opening_hours: dict[str, list[tuple[str, str]]] = Field(default_factory=dict)
    service_bays: int = Field(default=0, ge=0, le=200)
    dispatch_capacity: int | None = Field(default=None, ge=1, le=500)


class OrganizationUpdate(Changes):
    """Address, phone and e-mail may be cleared with null; name, hours, bays and the active flag may not.
    A position is both coordinates or neither (``update_organization`` checks the result)."""

    name: str = Field(default=None, min_length=2, max_length=200)
    street: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=16)
    city: str | None = Field(default=None, max_length=100)
    market: str | None = Field(default=None, min_length=2, max_length=2)
    time_zone: str | None = Field(default=None, max_length=64)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    phone: str | None = Field(default=None, max_length=40)
    email: EmailStr | None = None
    opening_hours: dict[str, list[tuple[str, str]]] = None
    service_bays: int = Field(default=None, ge=0, le=200)
    dispatch_capacity: int | None = Field(default=None, ge=1, le=500,
                                          description="Roadside and emergency partners: how many cases they take "
                                                      "at once (null: no limit)")
    is_active: bool = None


class OrganizationOut(Output):
    id: int
    kind: str
    partner_kind: str | None
    code: str
    name: str
    street: str | None
    postcode: str | None
    city: str | None
    country: str
    market: str
    time_zone: str
    latitude: float | None
    longitude: float | None
    phone: str | None
    email: str | None
    opening_hours: dict
    service_bays: int
    dispatch_capacity: int | None = None
    is_active: bool


class NearbyDealer(Output):
    dealer: OrganizationOut
    distance_km: float


class StaffUserIn(Input):
    email: EmailStr
    display_name: str = Field(min_length=2, max_length=200)
    password: str = Field(min_length=10, max_length=200)
    role: Role
    organization_id: Id


class StaffUserUpdate(Changes):
    display_name: str = Field(default=None, min_length=2, max_length=200)
    password: str = Field(default=None, min_length=10, max_length=200)
    is_active: bool = None


class UserOut(Output):
    id: int
    email: str
    display_name: str
    role: str
    organization_id: int | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class AuditOut(Output):
    id: int
    actor_user_id: int | None
    action: str
    target: str
    details: dict
    at: datetime
