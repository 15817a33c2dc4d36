"""Towing companies and emergency control rooms near every town where the demo's drivers live.

A handful of nationwide partners left the On Call console offering a tow 212 km away and an
emergency service 335 km away, which no agent would ever send. Real networks contract a local
company in every region, so here every town without a towing partner and a control room within
``RADIUS_KM`` gets its own, biggest towns first (a Ruhr town is covered by its neighbour's).
"""

from __future__ import annotations

from datetime import datetime
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core.auth import Role
from forecourt.core.geo import distance_km
from forecourt.demo import people
from forecourt.demo.bulk import Ids
from forecourt.demo.geography import City, near
from forecourt.demo.organizations import PARTNER_MAILBOX, _staff_user
from forecourt.parties import service as parties_service
from forecourt.parties.models import Organization

RADIUS_KM = 30.0
KINDS = ("roadside", "emergency")
# market: kind -> (code prefix, name pattern, e-mail slug)
NAMES = {
    "DE": {"roadside": ("RSA-L", "Abschleppdienst {town}", "abschleppdienst"),
           "emergency": ("EMS-L", "Integrierte Leitstelle {town}", "leitstelle")},
    "KR": {"roadside": ("RSA-KR-L", "{town} 긴급출동", "rescue"),
           "emergency": ("EMS-KR-L", "{town} 119종합상황실", "ems119")},
}


def _short(town: City) -> str:
    """"Frankfurt am Main", or Korea's "인천광역시" as people say it ("인천"); "경기도 수원시" as "수원"."""
    if town.country != "KR":
        return town.name
    last = town.name.split()[-1]
    return last[:2] if last.endswith(("특별시", "광역시")) else last[:-1]


def build(*, session: Session, ids: Ids, rng: Random, towns: list[City], market: str, password_hash: str,
          since: datetime) -> int:
    """Writes the missing partners of ``market`` (``DE`` or ``KR``) through the parties service, each with
    the staff login that answers a dispatch; returns how many."""
    known = {kind: [(o.latitude, o.longitude) for o in session.scalars(select(Organization).where(
        Organization.kind == "partner", Organization.partner_kind == kind, Organization.is_active.is_(True)))
        if o.latitude is not None] for kind in KINDS}
    written = 0
    for index, town in enumerate(sorted(towns, key=lambda t: (-t.population, t.name)), start=1):
        for kind in KINDS:
            if any(distance_km(town.latitude, town.longitude, lat, lon) <= RADIUS_KM for lat, lon in known[kind]):
                continue
            prefix, pattern, mailbox = NAMES[market][kind]
            lat, lon = near(town, rng, 3)
            slug = f"{mailbox}-{people.ascii_slug(town.name) if market == 'DE' else index}"
            organization = parties_service.create_organization(session=session, values=dict(
                kind="partner", partner_kind=kind, code=f"{prefix}{index:03d}", name=pattern.format(town=_short(town)),
                market=market, country=market, street=town.street_address(rng), postcode=town.postcode(rng),
                city=town.name, latitude=lat, longitude=lon, phone=town.landline(rng),
                email=f"info@{slug}.example", opening_hours={}, service_bays=0))
            first, last = people.person_name(rng) if market == "DE" else ("", organization.name)
            _staff_user(session, ids, email=f"{PARTNER_MAILBOX[kind]}@{slug}.example",
                        name=f"{first} {last}".strip(), role=Role.PARTNER_ANALYST, organization_id=organization.id,
                        password_hash=password_hash, since=since)
            known[kind].append((lat, lon))
            written += 1
    return written
