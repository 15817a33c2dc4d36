"""Is a car inside its hub's return area, and if not, how far outside (metres)?

Hub areas are a few hundred metres across, so a local flat projection around the hub is exact to
centimetres; no GIS library is needed.
"""

from __future__ import annotations

import math

METRES_PER_DEGREE = 111_320.0


def _project(lat0: float, lat: float, lon: float) -> tuple[float, float]:
    return (lon * METRES_PER_DEGREE * math.cos(math.radians(lat0)), lat * METRES_PER_DEGREE)


def inside(polygon: list, lat: float, lon: float) -> bool:
    """Ray casting over the polygon's [lat, lon] corners."""
    result = False
    corners = [(float(a), float(b)) for a, b in polygon]
    for i, (lat1, lon1) in enumerate(corners):
        lat2, lon2 = corners[i - 1]
        if (lat1 > lat) != (lat2 > lat):
            crossing = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
            if lon < crossing:
                result = not result
    return result


def _segment_distance(p, a, b) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def outside_by_m(polygon: list, lat: float, lon: float) -> int:
    """0 inside the area, else the distance to its nearest edge in whole metres."""
    if len(polygon) < 3 or inside(polygon, lat, lon):
        return 0
    lat0 = float(polygon[0][0])
    point = _project(lat0, lat, lon)
    corners = [_project(lat0, float(a), float(b)) for a, b in polygon]
    return math.ceil(min(_segment_distance(point, corners[i - 1], corners[i]) for i in range(len(corners))))


def square_around(lat: float, lon: float, half_side_m: float = 150.0) -> list[list[float]]:
    """A square area centred on a point: the default return area of a new hub."""
    dlat = half_side_m / METRES_PER_DEGREE
    dlon = half_side_m / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return [[lat - dlat, lon - dlon], [lat - dlat, lon + dlon], [lat + dlat, lon + dlon], [lat + dlat, lon - dlon]]
