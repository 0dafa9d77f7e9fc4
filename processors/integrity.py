"""Integrity flags on a case (docs/integrity.md §4): what the indexes found, kept with the case.

Pure: (state, IntegrityFlag record) -> Decision. A flag is a signal for the receiving officer with
its evidence (the earlier case, the image, the signal), not a verdict. Each flag is kept once by
its derived event id; a redelivered flag re-emits the same event (consumers dedup by event id)
and changes nothing. Auto-rejection only for the kinds an operator configured (default none).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from processors.case import CaseState, Decision, derived_event_id, envelope, to_ms
from processors.reuse import Finding
from processors.wording import Hit
from processors.wording import screen as default_screen

PRODUCER = "worker/0.1.0"
KINDS = ("reused_image", "blocklisted_image", "likely_duplicate", "edit_signal", "wording_review")
# Rejection reason (processors/workflow.REJECTION_REASONS) of each kind, for auto-rejection.
REJECT_REASON = {
    "reused_image": "reused_or_edited_media",
    "blocklisted_image": "reused_or_edited_media",
    "edit_signal": "reused_or_edited_media",
    "likely_duplicate": "duplicate",
    "wording_review": "offensive",
}
SCREENED_FIELDS = ("title", "description")


def flag_record(f: Finding, at: datetime | int) -> dict[str, Any]:
    """The IntegrityFlag event of a finding (unit filled in by the case's owner)."""
    at_ms = at if isinstance(at, int) else to_ms(at)
    env = envelope(f.flag_id, f.case_id, "integrity_flag", at_ms)
    return {"envelope": env, **f.to_record(), "unit_code": None}


def edit_findings(submitted: dict[str, Any]) -> list[Finding]:
    """The edit signals the gateway read from each image of a submission (MediaRef)."""
    case_id = str(submitted["envelope"]["case_id"])
    out = []
    for m in submitted.get("media") or []:
        for sig in m.get("edit_signals") or []:
            out.append(
                Finding(
                    case_id,
                    "edit_signal",
                    sig["code"],
                    media_sha256=m["sha256"],
                    detail=sig.get("detail") or "",
                )
            )
    return out


def wording_findings(
    submitted: dict[str, Any], screen: Callable[[str], list[Hit]] = default_screen
) -> list[Finding]:
    """The wording the officer should look at (docs/integrity.md §3): every hit of the word list
    in the title and description that reached the pipeline — `review` terms, and `reject` terms
    when the gateway queues them for review instead of refusing (PAKN_WORDING_MODE=review).
    The gateway's hits travel in the event (``wording_hits``); ``screen`` only reads events
    written without them."""
    case_id = str(submitted["envelope"]["case_id"])
    hits = submitted.get("wording_hits")
    if hits is None:
        hits = [
            {"field": field, "start": h.start, "end": h.end, "term": h.term, "action": h.action}
            for field in SCREENED_FIELDS
            for h in screen(submitted.get(field) or "")
        ]
    return [
        Finding(
            case_id,
            "wording_review",
            f"wording_{h['action']}",
            detail=f"{h['field']} {h['start']}-{h['end']}: {h['term']}",
        )
        for h in hits
    ]


def apply_flag(
    state: CaseState | None, flag: dict[str, Any], max_duplicates: int | None = None
) -> Decision:
    """Keep the flag with the case and emit its event (once; again, unchanged, on redelivery).
    ``max_duplicates``: likely-duplicate links kept per case; more change nothing (a street
    everyone reports must not grow a case without bound)."""
    if state is None:  # not opened here (yet): nothing to flag
        return Decision(None, changed=False, emits=[])
    env = flag["envelope"]
    fid = str(env["event_id"])
    known = next((n for n in state.integrity_flags if n["flag_id"] == fid), None)
    if known is not None:
        again = dict(flag, envelope=dict(env, occurred_at=known["at_ms"]))
        again["unit_code"] = known.get("unit_code")
        return Decision(state, changed=False, emits=[("IntegrityFlag", again)])
    if max_duplicates is not None and flag["kind"] == "likely_duplicate":
        links = sum(1 for n in state.integrity_flags if n["kind"] == "likely_duplicate")
        if links >= max_duplicates:
            return Decision(state, changed=False, emits=[])
    at_ms = env["occurred_at"] if isinstance(env["occurred_at"], int) else to_ms(env["occurred_at"])
    record = dict(flag, envelope=dict(env, occurred_at=at_ms), unit_code=state.unit_code)
    state.integrity_flags = [
        *state.integrity_flags,
        {
            "flag_id": fid,
            "kind": flag["kind"],
            "code": flag["code"],
            "related_case_id": flag.get("related_case_id"),
            "media_sha256": flag.get("media_sha256"),
            "detail": flag.get("detail") or "",
            "at_ms": at_ms,
            "unit_code": state.unit_code,
        },
    ]
    state.version += 1
    state.updated_at_ms = max(state.updated_at_ms, at_ms)
    state.last_event_id = fid
    return Decision(state, changed=True, emits=[("IntegrityFlag", record)], snapshot=True)


def auto_reject_command(
    state: CaseState, flag: dict[str, Any], kinds: frozenset[str], at_ms: int
) -> dict[str, Any] | None:
    """The reject command to send when a configured kind flags a case still waiting to be
    received; None otherwise. Its id is derived, so a redelivered flag rejects once."""
    if flag["kind"] not in kinds or state.status != "submitted":
        return None
    env = envelope(
        derived_event_id(str(flag["envelope"]["event_id"]), "auto-reject"),
        state.case_id,
        "case_command",
        at_ms,
    )
    env["producer"] = PRODUCER
    return {
        "envelope": env,
        "command": "reject",
        "actor": "integrity",
        "evidence": [],
        "level": None,
        "reason": REJECT_REASON[flag["kind"]],
        "legal_basis": None,
        "new_due_at": None,
        "actor_role": None,
        "actor_unit": None,
        "actor_pseudonym": None,
        "target_unit": None,
        "assignee": None,
        "result_text": flag.get("detail") or flag["code"],
        "rating": None,
    }


def with_findings(
    d: Decision, found: list[Finding], at_ms: int, input_id: str, max_duplicates: int | None
) -> Decision:
    """The opening decision of a case with its own findings kept and emitted in the same state
    write (no round trip through a topic). The input's outbox entry is rewritten, so a
    redelivered submission re-emits the flags with the rest."""
    if d.state is None or not found:
        return d
    emits = list(d.emits)
    state = d.state
    for f in found:
        fd = apply_flag(state, flag_record(f, at_ms), max_duplicates)
        if fd.changed:
            emits += fd.emits
    state.remember(input_id, emits, None)
    return Decision(state, changed=True, emits=emits, snapshot=True, forward=d.forward)
