"""Warnings to citizens: the life of one warning, from draft to its last change.

    draft --approve--> approved --update--> approved (version + 1)
      |  (edit)            |--cancel----> cancelled
      |                    |--supersede-> superseded (by another warning)
      '-- expires: a warning past its expiry time reads as ``expired`` (status_at)

A communications officer drafts and edits; the head of the issuing unit approves, and every
change of an approved warning (update, cancel, supersede) is a head's act too — it goes out at
once. Each change that goes out has a version (1 = the approved alert) and reaches the
*audience*: every commune any sent version touched, so an update or a cancellation reaches the
same people as the alert (and the new area's, if the update widened it).

Commands are applied idempotently by command id. ``apply`` returns the new state, a result
(accepted, or refused with a stable code) and, when something goes out, the ``Outgoing`` to fan
out. Pure: no I/O; ``now`` and the commune geometry are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from processors.areas import Area, CommuneGeo, touched_communes, union

CATEGORIES = (
    "flood",
    "storm",
    "power_outage",
    "water_outage",
    "traffic",
    "epidemic",
    "public_order",
    "administrative",
)
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
COMMANDS = ("draft", "edit", "approve", "update", "cancel", "supersede")
OFFICER = "communications_officer"
HEAD = "head"
DRAFTERS = frozenset({OFFICER, HEAD})
STATUSES = ("draft", "approved", "cancelled", "superseded", "expired")
FINAL = frozenset({"cancelled", "superseded"})
KIND_OF = {"approve": "alert", "update": "update", "cancel": "cancel", "supersede": "supersede"}
MAX_HEADLINE = 160
MAX_TEXT = 4000
MAX_RADIUS_KM = 100.0
MAX_POLYGON_POINTS = 500
APPLIED_KEPT = 64  # command ids remembered per warning (a warning sees few commands)

REFUSALS = (
    "warning_exists",
    "warning_not_found",
    "role_not_allowed",
    "not_your_unit",
    "not_draft",
    "not_approved",
    "warning_final",
    "warning_expired",
    "invalid_content",
    "unknown_commune",
    "empty_area",
    "invalid_times",
    "superseded_by_missing",
)


@dataclass(frozen=True)
class Outgoing:
    """One change that goes out: fan it out to the subscribers of ``communes``."""

    warning_id: str
    version: int
    kind: str  # alert | update | cancel | supersede
    communes: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    state: dict[str, Any] | None
    changed: bool
    result: dict[str, Any]
    outgoing: Outgoing | None = None


def content_problem(content: Mapping[str, Any] | None, geo: Mapping[str, CommuneGeo]) -> str | None:
    """None if the content can go out, else the refusal code."""
    if not content:
        return "invalid_content"
    if (
        content.get("category") not in CATEGORIES
        or content.get("severity") not in SEVERITIES
        or content.get("urgency") not in URGENCIES
        or content.get("certainty", "Likely") not in CERTAINTIES
    ):
        return "invalid_content"
    for name, limit in (("headline_vi", MAX_HEADLINE), ("text_vi", MAX_TEXT)):
        value = content.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            return "invalid_content"
    for name, limit in (
        ("headline_en", MAX_HEADLINE),
        ("text_en", MAX_TEXT),
        ("instruction_vi", MAX_TEXT),
        ("instruction_en", MAX_TEXT),
    ):
        value = content.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            return "invalid_content"
    effective, expires = content.get("effective"), content.get("expires")
    if not isinstance(effective, int) or not isinstance(expires, int) or expires <= effective:
        return "invalid_times"
    area = content.get("area") or {}
    try:
        parsed = Area.from_dict(area)
    except (KeyError, TypeError):
        return "invalid_content"
    if parsed.is_empty():
        return "empty_area"
    if any(code not in geo for code in parsed.communes):
        return "unknown_commune"
    for c in parsed.circles:
        if not (-90 <= c.lat <= 90 and -180 <= c.lon <= 180 and 0 < c.radius_km <= MAX_RADIUS_KM):
            return "invalid_content"
    for ring in parsed.polygons:
        if not 3 <= len(set(ring)) <= MAX_POLYGON_POINTS:
            return "invalid_content"
        if not all(-90 <= lat <= 90 and -180 <= lon <= 180 for lat, lon in ring):
            return "invalid_content"
    return None


def status_at(state: Mapping[str, Any], now_ms: int) -> str:
    """The status a reader sees: an approved warning past its expiry time is ``expired``."""
    if state["status"] == "approved" and now_ms >= state["content"]["expires"]:
        return "expired"
    return str(state["status"])


def is_active(state: Mapping[str, Any], now_ms: int) -> bool:
    return status_at(state, now_ms) == "approved" and state["content"]["effective"] <= now_ms


def _result(cmd: Mapping[str, Any], code: str | None, version: int | None = None) -> dict[str, Any]:
    return {
        "command_id": cmd["command_id"],
        "warning_id": cmd["warning_id"],
        "accepted": code is None,
        "code": code,
        "version": version,
    }


def _refuse(state: dict[str, Any] | None, cmd: Mapping[str, Any], code: str) -> Decision:
    return Decision(state, False, _result(cmd, code))


def apply(
    state: dict[str, Any] | None,
    cmd: Mapping[str, Any],
    geo: Mapping[str, CommuneGeo],
    now_ms: int,
) -> Decision:
    """Apply one command (a WarningCommand record) to a warning's state."""
    name, role, unit = cmd["command"], cmd["actor_role"], cmd.get("actor_unit")
    if state is not None and cmd["command_id"] in state["applied"]:
        return Decision(state, False, _result(cmd, None, state["version"] or None))  # redelivery
    if name not in COMMANDS:
        return _refuse(state, cmd, "invalid_content")
    if name == "draft":
        if state is not None:
            return _refuse(state, cmd, "warning_exists")
        if role not in DRAFTERS:
            return _refuse(state, cmd, "role_not_allowed")
        if not unit:
            return _refuse(state, cmd, "not_your_unit")
        problem = content_problem(cmd.get("content"), geo)
        if problem:
            return _refuse(state, cmd, problem)
        new = {
            "warning_id": cmd["warning_id"],
            "issuing_unit": unit,
            "status": "draft",
            "version": 0,
            "content": dict(cmd["content"]),
            "communes": touched_communes(Area.from_dict(cmd["content"]["area"]), geo),
            "audience": [],
            "sent": [],  # [version, sent_ms] of every version that went out (CAP references)
            "drafted_by": cmd.get("actor_id"),
            "approved_by": None,
            "superseded_by": None,
            "created_at": now_ms,
            "updated_at": now_ms,
            "applied": [cmd["command_id"]],
        }
        return Decision(new, True, _result(cmd, None, 0))
    if state is None:
        return _refuse(state, cmd, "warning_not_found")
    allowed = DRAFTERS if name == "edit" else frozenset({HEAD})
    if role not in allowed:
        return _refuse(state, cmd, "role_not_allowed")
    if unit != state["issuing_unit"]:
        return _refuse(state, cmd, "not_your_unit")
    status = status_at(state, now_ms)
    if name in ("edit", "approve"):
        if status != "draft":
            return _refuse(state, cmd, "not_draft")
    elif status in FINAL:
        return _refuse(state, cmd, "warning_final")
    elif status == "expired":
        return _refuse(state, cmd, "warning_expired")
    elif status != "approved":
        return _refuse(state, cmd, "not_approved")

    new = dict(state)
    if name in ("edit", "update"):
        problem = content_problem(cmd.get("content"), geo)
        if problem:
            return _refuse(state, cmd, problem)
        new["content"] = dict(cmd["content"])
        new["communes"] = touched_communes(Area.from_dict(cmd["content"]["area"]), geo)
    if name == "approve" and now_ms >= state["content"]["expires"]:
        return _refuse(state, cmd, "warning_expired")
    if name == "supersede":
        if not cmd.get("superseded_by") or cmd["superseded_by"] == state["warning_id"]:
            return _refuse(state, cmd, "superseded_by_missing")
        new["superseded_by"] = cmd["superseded_by"]
    new["updated_at"] = now_ms
    new["applied"] = [*state["applied"], cmd["command_id"]][-APPLIED_KEPT:]
    if name == "edit":
        return Decision(new, True, _result(cmd, None, 0))
    version = state["version"] + 1
    new["version"] = version
    new["sent"] = [*state["sent"], [version, now_ms]]
    new["status"] = {"cancel": "cancelled", "supersede": "superseded"}.get(name, "approved")
    if name == "approve":
        new["approved_by"] = cmd.get("actor_id")
    # An update reaches everyone the alert reached, and the new area's people too.
    new["audience"] = union(state["audience"], new["communes"])
    out = Outgoing(state["warning_id"], version, KIND_OF[name], tuple(new["audience"]))
    return Decision(new, True, _result(cmd, None, version), out)


def active_for(
    states: Sequence[Mapping[str, Any]], now_ms: int, communes: set[str] | None = None
) -> list[Mapping[str, Any]]:
    """The active warnings (optionally those touching one of ``communes``), newest first."""
    out = [
        s
        for s in states
        if is_active(s, now_ms) and (communes is None or communes & set(s["communes"]))
    ]
    return sorted(out, key=lambda s: s["updated_at"], reverse=True)
