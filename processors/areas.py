"""Where a warning applies: commune codes, circles and polygons, and which communes they touch.

Fan-out is by commune (subscriptions are stored per commune), so a circle or polygon is turned
into the set of communes it touches. The directory has no commune boundaries, only each commune's
centroid and area (``processors/data/communes_geo_hanoi_2025.json``, from the same package as the
unit directory): a commune is modelled as the disc of its area around its centroid, and a shape
touches it when it meets that disc. That over-reaches a little at the edges, on purpose: a
warning reaching a neighbour street is better than one missing a flooded one.

Pure: plain haversine and ray casting (city-scale shapes; no projection library needed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

EARTH_KM = 6371.0088
GEO_FILE = "communes_geo_hanoi_2025.json"

Point = tuple[float, float]  # (lat, lon) in degrees


@dataclass(frozen=True, slots=True)
class Circle:
    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class CommuneGeo:
    code: str
    lat: float
    lon: float
    radius_km: float  # of the disc with the commune's area


@dataclass(frozen=True, slots=True)
class Area:
    communes: tuple[str, ...] = ()
    circles: tuple[Circle, ...] = ()
    polygons: tuple[tuple[Point, ...], ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Area:
        return cls(
            tuple(d.get("communes") or ()),
            tuple(Circle(c["lat"], c["lon"], c["radius_km"]) for c in d.get("circles") or ()),
            tuple(tuple((p["lat"], p["lon"]) for p in ring) for ring in d.get("polygons") or ()),
        )

    def is_empty(self) -> bool:
        return not (self.communes or self.circles or self.polygons)


def haversine_km(a: Point, b: Point) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def point_in_polygon(p: Point, ring: Sequence[Point]) -> bool:
    """Ray casting (even-odd) in lat/lon; the ring may or may not repeat its first point."""
    lat, lon = p
    inside = False
    n = len(ring)
    for i in range(n):
        (y1, x1), (y2, x2) = ring[i], ring[(i + 1) % n]
        if (y1 > lat) != (y2 > lat):
            x = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x:
                inside = not inside
    return inside


def _to_km(origin: Point, p: Point) -> tuple[float, float]:
    """Equirectangular projection around ``origin``: exact enough within a city."""
    k = math.pi / 180 * EARTH_KM
    return ((p[1] - origin[1]) * k * math.cos(math.radians(origin[0])), (p[0] - origin[0]) * k)


def distance_to_ring_km(p: Point, ring: Sequence[Point]) -> float:
    """Shortest distance from ``p`` to the ring's edges (0 is never returned for inside)."""
    best = math.inf
    pts = [_to_km(p, q) for q in ring]
    n = len(pts)
    for i in range(n):
        (ax, ay), (bx, by) = pts[i], pts[(i + 1) % n]
        dx, dy = bx - ax, by - ay
        seg = dx * dx + dy * dy
        t = 0.0 if seg == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / seg))
        best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best


def point_in_area(p: Point, area: Area, commune_of_point: str | None) -> bool:
    """Is the point inside the area (its commune listed, or inside a circle or polygon)?"""
    if commune_of_point is not None and commune_of_point in area.communes:
        return True
    if any(haversine_km(p, (c.lat, c.lon)) <= c.radius_km for c in area.circles):
        return True
    return any(point_in_polygon(p, ring) for ring in area.polygons)


def touched_communes(area: Area, geo: Mapping[str, CommuneGeo]) -> list[str]:
    """Every commune the area names or whose disc a circle or polygon meets, sorted."""
    out = set(area.communes)
    for g in geo.values():
        if g.code in out:
            continue
        centre = (g.lat, g.lon)
        if any(
            haversine_km(centre, (c.lat, c.lon)) <= c.radius_km + g.radius_km for c in area.circles
        ) or any(
            point_in_polygon(centre, ring) or distance_to_ring_km(centre, ring) <= g.radius_km
            for ring in area.polygons
        ):
            out.add(g.code)
    return sorted(out)


def commune_at(p: Point, geo: Mapping[str, CommuneGeo]) -> str | None:
    """The commune a point most likely lies in: the nearest centroid, relative to its disc."""
    best, best_score = None, math.inf
    for g in geo.values():
        score = haversine_km(p, (g.lat, g.lon)) / max(g.radius_km, 0.1)
        if score < best_score:
            best, best_score = g.code, score
    return best


# How far from a commune's centroid, in radii of its disc, a point may be and still be taken for
# that commune: beyond it the point is outside the city (no commune: the city office routes it).
CITY_REACH_RADII = 2.0


def commune_containing(
    p: Point, geo: Mapping[str, CommuneGeo], reach: float = CITY_REACH_RADII
) -> str | None:
    """The commune a point lies in, for routing a report that gives only coordinates.

    No boundary data is shipped (the directory has centroids and areas only), so this is
    ``commune_at`` — the nearest centroid relative to its disc — bounded by ``reach``: a point
    farther than that from every commune is not in the city and gets None. Measured on the disc
    model (points at 1/4, 1/2 and 3/4 of each disc's radius, 8 directions): 97.5 % come back to
    their own commune (tests/unit/test_commune_routing.py)."""
    code = commune_at(p, geo)
    if code is None:
        return None
    g = geo[code]
    return code if haversine_km(p, (g.lat, g.lon)) <= reach * max(g.radius_km, 0.1) else None


def geo_from_mapping(communes: Mapping[str, Mapping[str, float]]) -> dict[str, CommuneGeo]:
    return {
        code: CommuneGeo(code, v["lat"], v["lon"], math.sqrt(max(v["area_km2"], 0.0) / math.pi))
        for code, v in communes.items()
    }


@lru_cache(maxsize=1)
def shipped_geo() -> dict[str, CommuneGeo]:
    text = resources.files("processors.data").joinpath(GEO_FILE).read_text(encoding="utf-8")
    return geo_from_mapping(json.loads(text)["communes"])


def union(*groups: Iterable[str]) -> list[str]:
    return sorted(set().union(*groups))
