"""Submission integrity in the worker (docs/integrity.md §4): reused images, likely duplicates,
edit signals and wording, checked while the case is opened.

    case.events (CaseSubmitted, all partitions) ─┐ follower thread
    integrity.media (the image blocklist)        ─┴──> SightingIndex (in memory, per worker)
    intake ─[submissions agent]─ open_case + the index's findings for the new case, one state
                                  write ─> case.events (DeadlineSet, IntegrityFlag, ...)
         findings that flag another (later) case ─> integrity.findings ─[flags agent]─> that case
         auto-rejection (when configured) ─> case.commands

A plain submission costs no message here: its findings, edit signals and wording hits are kept
with the opening of its own case. Only a finding about another case (a later report seen first,
a case matching a newly blocklisted image) travels, keyed by that case.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import faust

from pakn.topics import COMMANDS, INTAKE, INTEGRITY_FINDINGS
from processors.case import CaseState, Decision
from processors.integrity import (
    apply_flag,
    auto_reject_command,
    edit_findings,
    flag_record,
    wording_findings,
)
from processors.reuse import BLOCKLIST_PREFIX, Finding, Sighting, SightingIndex
from streams.cases import Cases, partition_of
from streams.runtime import Runtime
from streams.sightings import SightingsFollower

log = logging.getLogger("worker.integrity")


@dataclass
class Integrity:
    rt: Runtime
    cases: Cases
    index: SightingIndex
    findings: faust.TopicT
    commands: faust.TopicT
    feed: SightingsFollower | None = None
    _others: list[Finding] = field(default_factory=list)  # found while opening: to send
    agents: tuple[Any, ...] = ()

    def absorb(self) -> list[Finding]:
        """Take what the feed read into the index; returns the blocklist's findings (cases of
        this worker's partitions that match a newly listed image)."""
        if self.feed is None:
            return []
        out: list[Finding] = []
        for name, rec in self.feed.drain():
            if name == "CaseSubmitted":
                # stored only: its own worker checked it (and if that is us, it is known)
                self.index.check_submission(rec, probe=False)
            elif str(rec.get("ref", "")).startswith(BLOCKLIST_PREFIX):
                hashes = tuple(int(h, 16) for h in rec["hashes"])
                s = Sighting(rec["ref"], "", 0, rec["sha256"], hashes)
                out += [f for f in self.index.check_image(s) if self._mine(f.case_id)]
        return out

    def _mine(self, case_id: str) -> bool:
        try:
            owned = self.rt.app.assignor.assigned_actives()
        except Exception:
            return True
        p = partition_of(case_id, self.rt.settings.topic_partitions)
        return any(tp.partition == p and tp.topic == INTAKE.name(self.rt.settings) for tp in owned)

    def check(self, record: dict[str, Any], state: CaseState) -> list[Finding]:
        """The findings of a submission being opened: those about its own case (returned, kept
        in the same decision) and those about another case (sent after it)."""
        self._others += self.absorb()
        found = self.index.check_submission(record, int(time.time() * 1000))
        found += edit_findings(record) + wording_findings(record, self.rt.rules.screen)
        own = [f for f in found if f.case_id == state.case_id]
        self._others += [f for f in found if f.case_id != state.case_id]
        return own

    async def send_others(self) -> None:
        others, self._others = self._others, []
        now = int(time.time() * 1000)
        for f in others:
            await self.rt.send(
                self.findings, f.case_id.encode(), "IntegrityFlag", flag_record(f, now)
            )

    async def auto_reject(self, state: CaseState, flags: list[dict[str, Any]]) -> None:
        kinds = self.rt.rules.integrity.auto_reject
        if not kinds:
            return
        for flag in flags:
            cmd = auto_reject_command(state, flag, kinds, int(time.time() * 1000))
            if cmd is not None:
                await self.rt.send(self.commands, state.case_id.encode(), "CaseCommand", cmd)
                return  # one rejection is enough


def install(rt: Runtime, cases: Cases) -> Integrity:
    ir = rt.rules.integrity
    index = SightingIndex(
        max_distance=ir.reuse_distance,
        bands=ir.reuse_bands,
        reuse_window_ms=ir.reuse_window_ms,
        radius_m=ir.duplicate_radius_m,
        duplicate_window_ms=ir.duplicate_window_ms,
        per_category=ir.place_entries_per_category,
    )
    integrity = Integrity(rt, cases, index, rt.topic(INTEGRITY_FINDINGS), rt.topic(COMMANDS))
    cases.checks.append(integrity.check)

    async def after_opening(record: dict[str, Any], d: Decision) -> None:
        await integrity.send_others()
        if d.state is not None and d.forward:
            own = [e[1] for e in d.emits if e[0] == "IntegrityFlag"]
            await integrity.auto_reject(d.state, own)

    cases.on_opened.append(after_opening)

    async def apply_finding(event: faust.EventT) -> None:
        flag = rt.decode_one(event, INTEGRITY_FINDINGS)
        case_id = str(flag["envelope"]["case_id"])
        limit = ir.duplicate_flags_per_case
        d = await cases.decide(event, case_id, lambda s: apply_flag(s, flag, limit))
        # also on a replay: the command's id is derived, so one sent before a crash is not doubled
        if d.state is not None:
            await integrity.auto_reject(d.state, [flag])

    @rt.app.agent(integrity.findings, name="integrity-flags")
    async def integrity_flags(stream: faust.StreamT[Any]) -> None:
        await rt.each(stream, apply_finding)

    @rt.app.timer(interval=1.0, name="blocklist-findings")
    async def blocklist_findings() -> None:
        """The feed also brings blocklisted images while no submission arrives."""
        if not rt.app.rebalancing and integrity.feed is not None and integrity.feed.queue:
            async with rt.lock:
                integrity._others += integrity.absorb()
            await integrity.send_others()

    integrity.agents = (integrity_flags,)
    return integrity
