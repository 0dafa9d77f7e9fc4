"""The unit directory and the routing rules as records of the compacted ``units.directory`` topic.

One topic, one partition, three kinds of key (docs/units-and-routing.md "On the topic"):

- a unit code (``00070``, ``01-SXD``) → a ``DirectoryUnit`` record; a null value removes the unit;
- ``@rules`` → the ``RoutingRules`` record (the whole rules file: rules refer to each other by
  order, so they travel as one record);
- ``@directory`` → the ``DirectoryHead`` record: the directory's own fields and its unit codes in
  file order. A publication writes it **last**; it commits what came before it.

``@`` cannot start a unit code, so the keys never collide. Every record carries the
``generation`` of the publication that last wrote it; the head's generation is the publication's.
A reader uses the records only when they agree with the head (``snapshot_docs``): the same unit
codes, and no record newer than the head — so a publication in progress (or one that died half
way) is never routed with.

Pure: dicts in, dicts out; the Avro encoding is ``schemas.codec``'s business, Kafka the adapters'.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from processors.routing import SHIPPED_RULES, Router, RoutingRules, RoutingRulesError
from processors.units import DEFAULT_SHIPPED, SHIPPED, UnitDirectory, UnitDirectoryError

__all__ = [
    "HEAD",
    "HEAD_KEY",
    "RULES",
    "RULES_KEY",
    "UNIT",
    "Change",
    "DirectoryNotReady",
    "Entry",
    "apply_changes",
    "build_router",
    "diff",
    "directory_document",
    "head_of",
    "head_record",
    "is_meta_key",
    "rules_document",
    "rules_record",
    "snapshot_docs",
    "snapshot_records",
    "unit_record",
]

HEAD_KEY = "@directory"
RULES_KEY = "@rules"
UNIT, HEAD, RULES = "DirectoryUnit", "DirectoryHead", "RoutingRules"
GENERATION = "generation"

Record = dict[str, Any]
Entry = tuple[str, Record]  # (message type, record)


class DirectoryNotReady(Exception):
    """The records on the topic do not (yet) make a directory: nothing published, or a
    publication still in progress. ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_meta_key(key: str) -> bool:
    return key.startswith("@")


# --- the files ----------------------------------------------------------------------------------
def _read(path: str, error: type[UnitDirectoryError] | type[RoutingRulesError]) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(path, [f"cannot read: {exc.strerror or exc}"]) from None
    except json.JSONDecodeError as exc:
        raise error(path, [f"not valid JSON ({exc})"]) from None


def directory_document(path: str | None = None, shipped: str | None = None) -> tuple[Any, str]:
    """The JSON document of a directory file, and where it came from: ``path``, else the shipped
    one named ``shipped``, else the shipped 2025 directory."""
    if path:
        return _read(path, UnitDirectoryError), path
    filename = SHIPPED[shipped or DEFAULT_SHIPPED]
    text = resources.files("processors").joinpath("data", filename).read_text("utf-8")
    return json.loads(text), f"shipped:{filename}"


def rules_document(path: str | None = None) -> tuple[Any, str]:
    """The JSON document of a rules file: ``path``, else the shipped rules."""
    if path:
        return _read(path, RoutingRulesError), path
    text = resources.files("processors").joinpath("data", SHIPPED_RULES).read_text("utf-8")
    return json.loads(text), f"shipped:{SHIPPED_RULES}"


# --- documents (the JSON files) → records ---------------------------------------------------------
def _hours_record(raw: Any) -> Record | None:
    if raw is None:
        return None
    return {
        "days": {str(k): str(v) for k, v in raw["days"].items()},
        "makeup": raw.get("makeup"),
        "day_minutes": int(raw.get("day_minutes", 480)),
    }


def unit_record(raw: Mapping[str, Any], generation: int = 0) -> Record:
    """One unit of a directory file as a ``DirectoryUnit`` record (every field present)."""
    return {
        "code": raw["code"],
        "kind": raw["kind"],
        "subtype": raw.get("subtype", ""),
        "name_vi": raw["name_vi"],
        "name_en": raw.get("name_en", ""),
        "parent": raw.get("parent"),
        "domains": list(raw.get("domains", [])),
        "office_hours": _hours_record(raw.get("office_hours")),
        "note": raw.get("note", ""),
        GENERATION: generation,
    }


def _names(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    return [raw] if isinstance(raw, str) else list(raw)


def rules_record(doc: Mapping[str, Any], generation: int = 0) -> Record:
    """A routing rules file as a ``RoutingRules`` record."""
    transfer = doc.get("transfer", {})
    return {
        "name": doc["name"],
        "source": doc.get("source", ""),
        "default_target": doc.get("default", "role:default"),
        "rules": [
            {
                "id": r["id"],
                "process": _names(r.get("process")),
                "category": _names(r.get("category")),
                "targets": list(r["targets"]),
                "sender_kinds": _names(r.get("sender_kinds")),
                "note": r.get("note", ""),
            }
            for r in doc.get("rules", [])
        ],
        "forwarding": [
            {
                "from_kind": f["from"],
                "to_kind": f["to"],
                "scope": f.get("scope", "area"),
                "location": bool(f.get("location", False)),
                "note": f.get("note", ""),
            }
            for f in doc.get("forwarding", [])
        ],
        "transfer": {
            "from_kinds": list(transfer.get("from", [])),
            "to_kinds": list(transfer.get("to", [])),
            "competence": bool(transfer.get("competence", True)),
            "note": transfer.get("note", ""),
        },
        GENERATION: generation,
    }


def head_record(doc: Mapping[str, Any], generation: int, published_by: str = "") -> Record:
    """A directory file's own fields and its unit codes as a ``DirectoryHead`` record."""
    return {
        "name": doc["name"],
        "description": doc.get("description") or "",
        "valid_from": doc.get("valid_from"),
        "valid_until": doc.get("valid_until"),
        "sources_json": json.dumps(doc.get("sources", []), ensure_ascii=False, sort_keys=True),
        "parents": {k: list(v) for k, v in doc["parents"].items()},
        "roles": dict(doc.get("roles", {})),
        "units": [u["code"] for u in doc["units"]],
        GENERATION: generation,
        "published_by": published_by,
    }


def snapshot_records(
    directory_doc: Mapping[str, Any],
    rules_doc: Mapping[str, Any],
    generation: int = 0,
    published_by: str = "",
) -> dict[str, Entry]:
    """Every record a directory file and a rules file make, by key (head last).

    Validates first (``UnitDirectoryError``/``RoutingRulesError``): a directory that cannot be
    routed with is never published."""
    source = published_by or "<memory>"
    Router(
        UnitDirectory.from_dict(directory_doc, source), RoutingRules.from_dict(rules_doc, source)
    )
    out: dict[str, Entry] = {
        u["code"]: (UNIT, unit_record(u, generation)) for u in directory_doc["units"]
    }
    out[RULES_KEY] = (RULES, rules_record(rules_doc, generation))
    out[HEAD_KEY] = (HEAD, head_record(directory_doc, generation, published_by))
    return out


# --- records → documents ----------------------------------------------------------------------
def _unit_doc(rec: Mapping[str, Any]) -> Record:
    out: Record = {"code": rec["code"], "kind": rec["kind"]}
    for key in ("subtype", "name_vi", "name_en"):
        out[key] = rec[key]
    out["parent"] = rec["parent"]
    if rec["domains"]:
        out["domains"] = list(rec["domains"])
    hours = rec.get("office_hours")
    if hours is not None:
        out["office_hours"] = {
            "days": dict(hours["days"]),
            **({"makeup": hours["makeup"]} if hours.get("makeup") is not None else {}),
            "day_minutes": hours["day_minutes"],
        }
    if rec["note"]:
        out["note"] = rec["note"]
    return out


def _rules_doc(rec: Mapping[str, Any]) -> Record:
    rules = []
    for r in rec["rules"]:
        rule: Record = {"id": r["id"], "targets": list(r["targets"])}
        for key in ("process", "category", "sender_kinds"):
            if r[key] is not None:
                rule[key] = list(r[key])
        if r["note"]:
            rule["note"] = r["note"]
        rules.append(rule)
    t = rec["transfer"]
    return {
        "format": 1,
        "name": rec["name"],
        "source": rec["source"],
        "default": rec["default_target"],
        "rules": rules,
        "forwarding": [
            {
                "from": f["from_kind"],
                "to": f["to_kind"],
                "scope": f["scope"],
                "location": f["location"],
                "note": f["note"],
            }
            for f in rec["forwarding"]
        ],
        "transfer": {
            "from": list(t["from_kinds"]),
            "to": list(t["to_kinds"]),
            "competence": t["competence"],
            "note": t["note"],
        },
    }


def head_of(entries: Mapping[str, Entry]) -> Record | None:
    found = entries.get(HEAD_KEY)
    return found[1] if found is not None and found[0] == HEAD else None


def snapshot_docs(entries: Mapping[str, Entry]) -> tuple[Record, Record, int]:
    """The directory document, the rules document and the generation the records make.

    ``entries``: the latest record of every key (tombstoned keys absent). Raises
    ``DirectoryNotReady`` when nothing was published or the records disagree with the head."""
    head = head_of(entries)
    if head is None:
        raise DirectoryNotReady("no directory published (no @directory head)")
    gen = head[GENERATION]
    rules = entries.get(RULES_KEY)
    if rules is None or rules[0] != RULES:
        raise DirectoryNotReady(f"generation {gen}: no routing rules (@rules)")
    codes = list(head["units"])
    # Units the head does not list are ignored: a reader that missed a tombstone (compacted away
    # while it was down) must not be stuck; a unit being added is caught as "newer".
    units = {k: e for k, e in entries.items() if not is_meta_key(k)}
    missing = [c for c in codes if c not in units]
    newer = sorted(k for k, (_, rec) in entries.items() if rec.get(GENERATION, 0) > gen)
    if missing or newer:
        parts = []
        for what, keys in (("missing", missing), ("newer than the head", newer)):
            if keys:
                more = f" (+{len(keys) - 5} more)" if len(keys) > 5 else ""
                parts.append(f"{what}: {', '.join(keys[:5])}{more}")
        raise DirectoryNotReady(f"generation {gen} incomplete ({'; '.join(parts)})")
    bad = [c for c in codes if units[c][0] != UNIT]
    if bad:
        raise DirectoryNotReady(f"generation {gen}: not unit records: {', '.join(bad[:5])}")
    doc: Record = {
        "format": 1,
        "name": head["name"],
        "description": head["description"],
        "valid_from": head["valid_from"],
        "valid_until": head["valid_until"],
        "sources": json.loads(head["sources_json"] or "[]"),
        "parents": {k: list(v) for k, v in head["parents"].items()},
        "roles": dict(head["roles"]),
        "units": [_unit_doc(units[c][1]) for c in codes],
    }
    return doc, _rules_doc(rules[1]), gen


def build_router(entries: Mapping[str, Entry]) -> tuple[Router, int]:
    """A Router from the topic's records, and their generation. ``DirectoryNotReady`` if they
    are not a complete publication; ``UnitDirectoryError``/``RoutingRulesError`` if invalid."""
    doc, rules_doc, gen = snapshot_docs(entries)
    source = f"topic:generation {gen}"
    directory = UnitDirectory.from_dict(doc, source)
    return Router(directory, RoutingRules.from_dict(rules_doc, source)), gen


# --- publishing: what to send -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Change:
    """One message to send: ``record`` None is a tombstone."""

    key: str
    kind: str | None
    record: Record | None


def _same(a: Entry, b: Entry) -> bool:
    """Equal apart from the generation (and, for the head, who published it)."""
    ignore = {GENERATION, "published_by"}
    return a[0] == b[0] and {k: v for k, v in a[1].items() if k not in ignore} == {
        k: v for k, v in b[1].items() if k not in ignore
    }


def diff(current: Mapping[str, Entry], wanted: Mapping[str, Entry]) -> tuple[list[Change], int]:
    """The messages that turn ``current`` (what the topic holds) into ``wanted`` (from
    ``snapshot_records``), and the generation they make. Nothing when they agree: publishing
    twice sends nothing the second time.

    Order: changed units, tombstones for the units ``wanted`` lacks, the rules, the head last (it
    commits the rest). A publication that died half way is completed by the next one: its
    records already on the topic count as sent, and carry the generation this one writes."""
    head = head_of(current)
    gen = head[GENERATION] if head is not None else 0
    changed = [k for k, e in wanted.items() if k not in current or not _same(current[k], e)]
    gone = [k for k in current if k not in wanted]
    # records newer than the head: a publication in progress, which this one finishes
    pending = any(e[1].get(GENERATION, 0) > gen for e in current.values())
    if not changed and not gone and not pending:
        return [], gen
    new_gen = gen + 1
    order = [k for k in changed if not is_meta_key(k)]
    out = [Change(k, wanted[k][0], {**wanted[k][1], GENERATION: new_gen}) for k in order]
    out += [Change(k, None, None) for k in gone]
    for key in (RULES_KEY, HEAD_KEY):
        if key in changed or key == HEAD_KEY:
            kind, rec = wanted[key]
            out.append(Change(key, kind, {**rec, GENERATION: new_gen}))
    return out, new_gen


def apply_changes(current: Mapping[str, Entry], changes: list[Change]) -> dict[str, Entry]:
    """``current`` after ``changes`` (what a compacted topic holds once they are written)."""
    out = dict(current)
    for c in changes:
        if c.record is None:
            out.pop(c.key, None)
        else:
            assert c.kind is not None
            out[c.key] = (c.kind, c.record)
    return out
