"""Regenerate the territorial part of the unit directory files from PyPI packages.

The city, its districts (pre-2025 shape) and its commune-level units come from a package; the
departments, enterprises, the oversight centre and the roles are kept as they are in the JSON
(edit them there). Extra fields of territorial units (``office_hours``, ``domains``, ``note``)
are kept too. Only the packages are needed, not the project:

    pip install 'vietnamadminunits==1.0.4'                # dev-only; optional cross-check:
    pip install 'vietnam-provinces>=2025.10.1'
    python scripts/build_units.py                         # rewrite both files
    python scripts/build_units.py --check                 # exit 1 if a file would change
    python scripts/build_units.py --source vietnam-provinces --only hanoi-2025

``vietnamadminunits`` carries both shapes (``admin_units``: since 1 Jul 2025;
``admin_units_legacy``: before). ``vietnam-provinces`` carries the current shape only on Python
3.11 (2025.10.1, whose codes for 34 Hanoi wards predate the statistics office's official list —
its 2026.x releases fixed them but need Python >= 3.12); see docs/units-and-routing.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sqlite3
import sys
import unicodedata
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from processors.units import TOP_KEYS, UNIT_KEYS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "processors" / "data"
PROVINCE = "01"  # Hanoi, statistics-office code
PROVINCE_EN = {"01": "Hanoi"}
TERRITORIAL = ("city", "district", "commune")

SHAPES: dict[str, dict[str, Any]] = {
    "hanoi-2025": {
        "file": "units_hanoi_2025.json",
        "legacy": False,
        "valid_from": "2025-07-01",
        "valid_until": None,
        "description": (
            "Hanoi since 1 Jul 2025: two tiers of local government (city -> 126 commune-level "
            "units: 51 phường + 75 xã, Resolution 1656/NQ-UBTVQH15), the city's departments "
            "(sở, ban, ngành) as reorganised from 1 Mar 2025, city-owned public-service "
            "enterprises and the Public Administration Service Center (oversight)."
        ),
        "parents": {"city": [], "commune": ["city"]},
    },
    "hanoi-pre2025": {
        "file": "units_hanoi_pre2025.json",
        "legacy": True,
        "valid_from": "2025-03-01",
        "valid_until": "2025-06-30",
        "description": (
            "Hanoi before 1 Jul 2025: three tiers (city -> 30 districts -> 526 commune-level "
            "units, the list in force from 1 Jan 2025, Resolution 1286/NQ-UBTVQH15), with the "
            "departments as reorganised from 1 Mar 2025 (so the whole file describes "
            "1 Mar - 30 Jun 2025)."
        ),
        "parents": {"city": [], "district": ["city"], "commune": ["district"]},
    },
}
NON_TERRITORIAL_PARENTS = {"department": ["city"], "enterprise": ["city"], "oversight": ["city"]}
KEEP_ON_TERRITORIAL = ("domains", "office_hours", "note")
EN_SUFFIX = {
    "phường": "Ward",
    "xã": "Commune",
    "thị trấn": "Township",
    "quận": "District",
    "huyện": "District",
    "thị xã": "Town",
    "đặc khu": "Special Zone",
}


@dataclass(frozen=True)
class Territory:
    code: str
    kind: str  # city | district | commune
    subtype: str  # phường, xã, thị trấn, quận, huyện, thị xã, thành phố trung ương
    name_vi: str
    short: str
    parent: str | None


# --- names ---------------------------------------------------------------------------------------
def fold(text: str) -> str:
    """Vietnamese → ASCII: ``"Đống Đa"`` → ``"Dong Da"``."""
    text = text.replace("Đ", "D").replace("đ", "d")
    nfd = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in nfd if unicodedata.category(ch) != "Mn")


def strip_type(name: str, subtype: str) -> str:
    """``("Phường Ba Đình", "phường")`` → ``"Ba Đình"``."""
    prefix = subtype + " "
    return name[len(prefix) :] if name.lower().startswith(prefix) else name


def english_name(t: Territory) -> str:
    if t.kind == "city":
        return PROVINCE_EN.get(t.code, fold(t.short))
    suffix = EN_SUFFIX.get(t.subtype)
    return f"{fold(t.short)} {suffix}" if suffix else fold(t.name_vi)


# --- sources -------------------------------------------------------------------------------------
def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        dist = module.replace("_", "-")
        raise SystemExit(f"{dist} is not installed: pip install {dist}")
    return Path(next(iter(spec.submodule_search_locations)))


def read_vietnamadminunits(legacy: bool) -> tuple[list[Territory], dict[str, Any]]:
    """From the package's SQLite file, without importing it (its parser needs shapely)."""
    db = _package_dir("vietnamadminunits") / "data" / "dataset.db"
    table = "admin_units_legacy" if legacy else "admin_units"
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = [
            dict(r)
            for r in conn.execute(f"SELECT * FROM [{table}] WHERE provinceCode = ?", (PROVINCE,))
        ]
    if not rows:
        raise SystemExit(f"vietnamadminunits: no rows for province {PROVINCE} in {table}")
    out = [
        Territory(
            PROVINCE,
            "city",
            "thành phố trung ương",
            rows[0]["province"],
            rows[0]["provinceShort"],
            None,
        )
    ]
    if legacy:
        districts = {r["districtCode"]: r for r in rows}
        out += [
            Territory(
                c,
                "district",
                r["districtType"].lower(),
                r["district"],
                r["districtShort"],
                PROVINCE,
            )
            for c, r in sorted(districts.items())
        ]
    out += [
        Territory(
            r["wardCode"],
            "commune",
            r["wardType"].lower(),
            r["ward"],
            r["wardShort"],
            r["districtCode"] if legacy else PROVINCE,
        )
        for r in sorted(rows, key=lambda r: r["wardCode"])
    ]
    meta = {
        "package": "vietnamadminunits",
        "version": metadata.version("vietnamadminunits"),
        "table": table,
        "province_code": PROVINCE,
    }
    return out, meta


def read_vietnam_provinces() -> tuple[list[Territory], dict[str, Any]]:
    """The current (2025) shape from ``vietnam-provinces``' nested JSON."""
    path = _package_dir("vietnam_provinces") / "data" / "nested-divisions.json"
    provinces = json.loads(path.read_text("utf-8"))
    prov = next((p for p in provinces if int(p["code"]) == int(PROVINCE)), None)
    if prov is None:
        raise SystemExit(f"vietnam-provinces: no province {PROVINCE}")
    short = strip_type(strip_type(prov["name"], "thành phố"), "tỉnh")
    out = [Territory(PROVINCE, "city", prov["division_type"], prov["name"], short, None)]
    out += [
        Territory(
            f"{int(w['code']):05d}",
            "commune",
            w["division_type"],
            w["name"],
            strip_type(w["name"], w["division_type"]),
            PROVINCE,
        )
        for w in sorted(prov["wards"], key=lambda w: int(w["code"]))
    ]
    meta: dict[str, Any] = {
        "package": "vietnam-provinces",
        "version": metadata.version("vietnam-provinces"),
        "province_code": PROVINCE,
    }
    init = (path.parent.parent / "__init__.py").read_text("utf-8")
    for line in init.splitlines():
        if line.startswith("__data_version__"):
            meta["data_version"] = line.split("=", 1)[1].strip().strip("'\"")
    return out, meta


def cross_check(a: list[Territory], b: list[Territory], a_name: str, b_name: str) -> list[str]:
    """Commune-level units whose code differs between two lists of the same shape (by name)."""
    ma = {t.name_vi: t.code for t in a if t.kind == "commune"}
    mb = {t.name_vi: t.code for t in b if t.kind == "commune"}
    return [
        f"{name}: {a_name} {ma.get(name, '-')}, {b_name} {mb.get(name, '-')}"
        for name in sorted(set(ma) | set(mb), key=lambda n: ma.get(n) or mb.get(n) or "")
        if ma.get(name) != mb.get(name)
    ]


# --- merging and writing -------------------------------------------------------------------------
def territorial_entry(t: Territory, old: dict[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": t.code,
        "kind": t.kind,
        "subtype": t.subtype,
        "name_vi": t.name_vi,
        "name_en": english_name(t),
        "parent": t.parent,
    }
    for key in KEEP_ON_TERRITORIAL:
        if old and key in old:
            entry[key] = old[key]
    return entry


def merge(
    existing: dict[str, Any] | None,
    shape: str,
    territories: list[Territory],
    source: dict[str, Any],
) -> dict[str, Any]:
    """The new document: territorial units from ``territories``, the rest kept from ``existing``."""
    spec = SHAPES[shape]
    existing = existing or {}
    old_units = [u for u in existing.get("units", []) if isinstance(u, dict)]
    old_by_code = {u.get("code"): u for u in old_units if u.get("kind") in TERRITORIAL}
    others = [u for u in old_units if u.get("kind") not in TERRITORIAL]
    parents = dict(NON_TERRITORIAL_PARENTS)
    parents.update({k: v for k, v in existing.get("parents", {}).items() if k not in TERRITORIAL})
    parents.update(spec["parents"])
    city = [t for t in territories if t.kind == "city"]
    districts = [t for t in territories if t.kind == "district"]
    communes = [t for t in territories if t.kind == "commune"]
    ordered = list(city)
    if districts:
        for d in districts:
            ordered.append(d)
            ordered += [c for c in communes if c.parent == d.code]
    else:
        ordered += communes
    units = [territorial_entry(t, old_by_code.get(t.code)) for t in ordered[:1]]
    units += others
    units += [territorial_entry(t, old_by_code.get(t.code)) for t in ordered[1:]]
    return {
        "format": 1,
        "name": shape,
        "description": spec["description"],
        "valid_from": spec["valid_from"],
        "valid_until": spec["valid_until"],
        "sources": [source, *[s for s in existing.get("sources", []) if "package" not in s]],
        "parents": {
            k: parents[k]
            for k in ("city", "district", "commune", *NON_TERRITORIAL_PARENTS)
            if k in parents
        },
        "roles": existing.get("roles", {}),
        "units": units,
    }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def render(doc: dict[str, Any]) -> str:
    """Deterministic JSON: top-level keys one per line, one unit per line (reviewable diffs)."""
    lines = ["{"]
    keys = [k for k in TOP_KEYS if k in doc] + [k for k in doc if k not in TOP_KEYS]
    for i, key in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        if key == "units":
            lines.append('  "units": [')
            units = doc["units"]
            for j, unit in enumerate(units):
                ordered = {k: unit[k] for k in UNIT_KEYS if k in unit}
                ordered.update({k: v for k, v in unit.items() if k not in UNIT_KEYS})
                lines.append(f"    {_dump(ordered)}{',' if j < len(units) - 1 else ''}")
            lines.append(f"  ]{comma}")
        elif key in ("parents", "roles") and doc[key]:
            lines.append(f'  "{key}": {{')
            items = list(doc[key].items())
            for j, (k, v) in enumerate(items):
                lines.append(f"    {_dump(k)}: {_dump(v)}{',' if j < len(items) - 1 else ''}")
            lines.append(f"  }}{comma}")
        else:
            lines.append(f"  {_dump(key)}: {_dump(doc[key])}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Human summary: codes added, removed, renamed or moved."""
    before = {u["code"]: u for u in (old or {}).get("units", [])}
    after = {u["code"]: u for u in new["units"]}
    out = [f"+ {c} {after[c]['name_vi']}" for c in after if c not in before]
    out += [f"- {c} {before[c]['name_vi']}" for c in before if c not in after]
    for c in after.keys() & before.keys():
        a, b = before[c], after[c]
        if (a.get("name_vi"), a.get("parent")) != (b.get("name_vi"), b.get("parent")):
            out.append(
                f"~ {c} {a.get('name_vi')} ({a.get('parent')}) -> {b['name_vi']} ({b['parent']})"
            )
    return sorted(out, key=lambda s: s[2:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--source",
        choices=("vietnamadminunits", "vietnam-provinces"),
        default="vietnamadminunits",
        help="package for the current (2025) list (the pre-2025 one is always vietnamadminunits)",
    )
    ap.add_argument(
        "--only", choices=tuple(SHAPES), action="append", help="build only this directory"
    )
    ap.add_argument("--out-dir", type=Path, default=DATA)
    ap.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file would change"
    )
    args = ap.parse_args(argv)

    status = 0
    for shape in args.only or list(SHAPES):
        spec = SHAPES[shape]
        if spec["legacy"]:
            territories, source = read_vietnamadminunits(legacy=True)
        elif args.source == "vietnam-provinces":
            territories, source = read_vietnam_provinces()
        else:
            territories, source = read_vietnamadminunits(legacy=False)
            if importlib.util.find_spec("vietnam_provinces") is not None:
                other, meta = read_vietnam_provinces()
                diffs = cross_check(
                    territories, other, "vietnamadminunits", f"vietnam-provinces {meta['version']}"
                )
                if diffs:
                    print(
                        f"{shape}: {len(diffs)} unit(s) have another code in the other "
                        f"package (kept {args.source}):",
                        file=sys.stderr,
                    )
                    for d in diffs:
                        print(f"  {d}", file=sys.stderr)
        path = args.out_dir / spec["file"]
        existing = json.loads(path.read_text("utf-8")) if path.exists() else None
        doc = merge(existing, shape, territories, source)
        text = render(doc)
        counts: dict[str, int] = {}
        for t in territories:
            key = t.kind if t.kind != "commune" else f"commune ({t.subtype})"
            counts[key] = counts.get(key, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        diff = changes(existing, doc)
        old_text = path.read_text("utf-8") if path.exists() else None
        if old_text == text:
            print(f"{path.name}: up to date ({summary})")
            continue
        if args.check:
            print(
                f"{path.name}: would change ({len(diff)} unit change(s)); "
                "run scripts/build_units.py"
            )
            status = 1
        else:
            path.write_text(text, encoding="utf-8")
            print(f"{path.name}: written ({summary}; {len(diff)} unit change(s))")
        for line in diff[:200]:
            print(f"  {line}")
    return status


if __name__ == "__main__":
    sys.exit(main())
