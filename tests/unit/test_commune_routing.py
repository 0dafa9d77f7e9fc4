"""A report that gives only a point is routed to the commune that contains it (Open311)."""

from __future__ import annotations

import math

from gateway.routes.open311 import submission_body
from processors.areas import commune_containing, shipped_geo

GEO = shipped_geo()


def _offset(lat: float, lon: float, km: float, angle: float) -> tuple[float, float]:
    return (
        lat + km * math.cos(angle) / 111.0,
        lon + km * math.sin(angle) / (111.0 * math.cos(math.radians(lat))),
    )


def test_points_inside_a_commune_disc_come_back_to_it_97_percent_of_the_time() -> None:
    hits = total = 0
    for g in GEO.values():
        for frac in (0.25, 0.5, 0.75):
            for k in range(8):
                p = _offset(g.lat, g.lon, frac * g.radius_km, 2 * math.pi * k / 8)
                hits += commune_containing(p, GEO) == g.code
                total += 1
    assert total == 24 * len(GEO) and hits / total >= 0.97


def test_a_point_outside_the_city_has_no_commune() -> None:
    assert commune_containing((10.77, 106.70), GEO) is None  # Ho Chi Minh City
    assert commune_containing((21.0286, 105.8521), GEO) is not None  # Hoàn Kiếm


def test_an_open311_point_without_commune_is_routed_to_its_commune() -> None:
    g = GEO["00070"] if "00070" in GEO else next(iter(GEO.values()))
    form = {
        "service_code": "road_damage",
        "lat": str(g.lat),
        "long": str(g.lon),
        "description": "Ổ gà sâu giữa làn xe máy.",
    }
    assert submission_body(form)["location"]["commune_code"] == g.code
    named = submission_body({**form, "attribute[commune_code]": "00004"})
    assert named["location"]["commune_code"] == "00004"  # what the client says wins
