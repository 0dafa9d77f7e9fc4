"""Cases and their SLA clocks: the submissions, commands and ticks agents, the cases table, the
due index and its timer, and each owned partition's unit-month sums.

    intake.submissions ─┐                       ┌─> case.events (the decision's events)
    case.commands ──────┼─[cases table]─ core ──┼─> case.state (= the table's changelog)
    sla.ticks ──────────┘                       └─> case.command-results (commands)
    timer (due instants) ──> sla.ticks          timer (changed sums) ──> tallies.facts

Messages per plain submission: 1 consumed; produced: the forwarded submission and its
DeadlineSet on case.events, one case.state record — and a share of one ``UnitPartials`` per
unit per interval. The agency streams are copied from case.events by ``pakn router``.

SLA clocks: each worker keeps the due instants of its cases in memory (``DueIndex``), rebuilt
from the table after every rebalance; the timer pops what is due and emits ClockTicks keyed by
case; timers never write tables — the tick agent does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka.partitioner import murmur2

import streams.codecs  # noqa: F401  (registers the utf8 and case_state table codecs)
from pakn.topics import (
    CASE_EVENTS,
    CASE_STATE,
    CLOCK_TICKS,
    COMMAND_RESULTS,
    COMMANDS,
    INTAKE,
    OVERSIGHT_FLAGS,
    UNIT_FACTS,
)
from processors.case import CaseState, Decision, open_case
from processors.clocks import apply_tick, due_entries
from processors.due_index import DueIndex
from processors.integrity import with_findings
from processors.reuse import Finding
from processors.tallies import case_contributions, item_flags
from processors.tally_sums import Contribution, PartitionSums, vectors
from processors.workflow import apply_command
from streams.runtime import Runtime

log = logging.getLogger("worker.cases")
OnOpened = Callable[[dict[str, Any], Decision], Awaitable[None]]


def contribution(state: CaseState | None, repeat_times: int) -> Contribution | None:
    """What a case adds to the unit-month figures (None: nothing)."""
    if state is None:
        return None
    return vectors(case_contributions(state, repeat_times))


def partition_of(case_id: str, partitions: int) -> int:
    """The partition of a case id on every case topic (murmur2, as faust and the gateway)."""
    return (murmur2(case_id.encode()) & 0x7FFFFFFF) % partitions


@dataclass
class Cases:
    """The cases feature, as installed on a runtime; other features call ``decide``."""

    rt: Runtime
    table: Any
    events: faust.TopicT
    results: faust.TopicT
    ticks: faust.TopicT
    facts: faust.TopicT
    flags: faust.TopicT
    due: DueIndex = field(default_factory=DueIndex)
    sums: PartitionSums = field(default_factory=PartitionSums)
    on_opened: list[OnOpened] = field(default_factory=list)
    # the integrity checks of a case being opened: findings kept in the same decision
    checks: list[Callable[[dict[str, Any], CaseState], list[Finding]]] = field(default_factory=list)
    agents: tuple[Any, ...] = ()

    @property
    def repeat_times(self) -> int:
        return self.rt.rules.thresholds.repeat_not_satisfied

    def load(self, case_id: str) -> CaseState | None:
        return self.table.get(case_id)

    async def decide(
        self,
        event: faust.EventT,
        case_id: str,
        core: Callable[[CaseState | None], Decision],
        raw: bytes | None = None,
    ) -> Decision:
        """Load the case, let the core decide, store and emit; the one path of every input."""
        state = self.load(case_id)
        before_unit = state.unit_code if state is not None else None
        before = contribution(state, self.repeat_times)
        d = core(state)
        await self.publish(event.message.partition, case_id, d, raw, before_unit, before)
        return d

    async def publish(
        self,
        partition: int,
        case_id: str,
        d: Decision,
        raw: bytes | None = None,
        before_unit: str | None = None,
        before: Contribution | None = None,
    ) -> None:
        """Store the decision's state (its changelog record is the case.state snapshot), then
        send its events and result. A replay (nothing changed) sends the same events again."""
        if d.state is not None and (d.changed or d.snapshot):
            # A replay (``snapshot`` without ``changed``) writes the same state again: after a
            # crash the local store can hold a write its changelog never got, and the changelog
            # is the case.state topic everyone reads.
            self.table[case_id] = d.state  # a new object each input: never edited after this
            self.sums.change(partition, before, contribution(d.state, self.repeat_times))
        if d.state is not None:
            self.due.set(case_id, due_entries(d.state))
        key = case_id.encode()
        unit = d.state.unit_code if d.state is not None else None
        headers = _unit_headers(unit, before_unit)
        out, codec = self.rt.out, self.rt.codec
        if d.forward and raw is not None:
            await out(self.events, key, raw, headers, None)
        for name, record in d.emits:
            await out(self.events, key, codec.encode(name, record), headers, None)
        if d.result is not None:
            await out(self.results, key, codec.encode("CommandResult", d.result), None, None)
        if d.state is not None and any(
            name == "CaseTransition" and rec["command"] == "reopen" for name, rec in d.emits
        ):  # §6 per item: the reopening that reaches the threshold flags the unit (derived id)
            for flag in item_flags(d.state, self.repeat_times):
                await self.rt.send(self.flags, flag["unit_code"].encode(), "OversightFlag", flag)

    # -- after a rebalance ------------------------------------------------------------------------
    async def rebuild(self) -> None:
        """Index the open clocks and sum the contributions of the owned partitions' cases.
        Under the case lock: no decision interleaves with the rebuild (heartbeats still run)."""
        started = time.monotonic()
        n = 0
        parts = self.rt.settings.topic_partitions
        async with self.rt.lock:
            self.due.clear()
            for p in self.sums.partitions():
                self.sums.reset(p)
            for case_id, state in self.table.items():
                if state is None:
                    continue
                self.due.set(case_id, due_entries(state))
                c = contribution(state, self.repeat_times)
                if c is not None:
                    self.sums.add(partition_of(case_id, parts), c)
                n += 1
                if n % 2000 == 0:
                    await asyncio.sleep(0)  # a big store takes seconds: let heartbeats run
        log.info(
            "due index rebuilt",
            extra={
                "cases": n,
                "open_clocks": len(self.due),
                "unit_month_sums": self.sums.pending(),
                "seconds": round(time.monotonic() - started, 3),
            },
        )

    async def send_due_ticks(self, now_ms: int) -> int:
        n = 0
        for at_ms, case_id, stage, kind in self.due.pop_due(now_ms):
            tick = {"case_id": case_id, "stage": stage, "kind": kind, "at": at_ms}
            await self.rt.send(self.ticks, case_id.encode(), "ClockTick", tick)
            n += 1
        return n

    async def send_sums(self, now_ms: int) -> int:
        """The changed unit-month sums, one UnitPartials per unit (keyed by unit)."""
        n = 0
        for unit, sums in self.sums.take_dirty(now_ms).items():
            record = {"unit_code": unit, "sums": sums}
            await self.rt.send(self.facts, unit.encode(), "UnitPartials", record)
            n += 1
        return n


def _unit_headers(unit: str | None, before: str | None) -> dict[str, bytes] | None:
    """Which agency streams get the events (`pakn router`): the unit, and the one it left."""
    if not unit:
        return None
    headers = {"unit": unit.encode()}
    if before and before != unit:
        headers["from_unit"] = before.encode()
    return headers


def install(rt: Runtime) -> Cases:
    app, settings = rt.app, rt.settings
    schema = faust.Schema(key_serializer="utf8", value_serializer="case_state")
    state_topic = app.topic(CASE_STATE.name(settings), schema=schema, acks=False)
    table = app.Table(
        "cases",
        default=None,
        schema=schema,
        changelog_topic=state_topic,
        help="Authoritative case state by case id; its changelog is the case.state topic.",
    )
    # faust derives a table's serializers from its key/value *types* (json here); the store and
    # the changelog must use the schema's, before the store is first opened
    table.key_serializer, table.value_serializer = "utf8", "case_state"
    cases = Cases(
        rt,
        table,
        events=rt.topic(CASE_EVENTS),
        results=rt.topic(COMMAND_RESULTS),
        ticks=rt.topic(CLOCK_TICKS),
        facts=rt.topic(UNIT_FACTS),
        flags=rt.topic(OVERSIGHT_FLAGS),
    )

    def check_target(command: str, unit: str, state: CaseState) -> str | None:
        """Forwarding and transfer follow the routing rules (processors/routing.py)."""
        router = rt.rules.router
        if command == "forward":
            verdict = router.can_forward(
                state.unit_code or "",
                unit,
                commune_code=state.commune_code,
                category=state.category,
            )
        else:
            verdict = router.can_transfer(state.unit_code or "", unit, category=state.category)
        return None if verdict else verdict.code

    async def apply_submission(event: faust.EventT) -> None:
        record = rt.decode_one(event, INTAKE)
        case_id = str(record["envelope"]["case_id"])
        r = rt.rules
        unit = r.router.route(
            record["process"],
            record["category"],
            commune_code=record["location"].get("commune_code"),
            unit_code=record.get("unit_code"),
        ).code
        event_id = str(record["envelope"]["event_id"])

        def core(s: CaseState | None) -> Decision:
            d = open_case(s, record, r.calendar(unit), r.policy, unit_code=unit)
            if not (d.forward and d.changed and d.state is not None):
                return d  # a redelivery (outbox replay) or a client retry: checked already
            found = [f for check in cases.checks for f in check(record, d.state)]
            limit = r.integrity.duplicate_flags_per_case
            return with_findings(d, found, d.state.submitted_at_ms, event_id, limit)

        d = await cases.decide(event, case_id, core, raw=event.value)
        for hook in cases.on_opened:
            await hook(record, d)

    async def apply_cmd(event: faust.EventT) -> None:
        record = rt.decode_one(event, COMMANDS)
        r = rt.rules
        await cases.decide(
            event,
            str(record["envelope"]["case_id"]),
            lambda s: apply_command(
                s,
                record,
                r.calendar(s.unit_code if s is not None else None),
                r.policy,
                check_target=check_target,
            ),
        )

    async def apply_clock_tick(event: faust.EventT) -> None:
        record = rt.decode_one(event, CLOCK_TICKS)
        await cases.decide(event, str(record["case_id"]), lambda s: apply_tick(s, record))

    @app.agent(rt.topic(INTAKE), name="submissions")
    async def submissions(stream: faust.StreamT[Any]) -> None:
        await rt.each(stream, apply_submission)

    @app.agent(rt.topic(COMMANDS), name="commands")
    async def commands(stream: faust.StreamT[Any]) -> None:
        await rt.each(stream, apply_cmd)

    @app.agent(cases.ticks, name="ticks")
    async def ticks(stream: faust.StreamT[Any]) -> None:
        await rt.each(stream, apply_clock_tick)

    @app.on_rebalance_complete.connect
    async def rebuild_after_rebalance(sender: faust.App, **_: Any) -> None:
        await cases.rebuild()

    @app.timer(interval=settings.sla_tick_interval_s, name="due-ticks")
    async def emit_due_ticks() -> None:
        if not app.rebalancing:  # the index is rebuilt when the rebalance completes
            await cases.send_due_ticks(int(time.time() * 1000))

    @app.timer(interval=settings.tally_interval_s, name="unit-month-sums")
    async def emit_sums() -> None:
        if not app.rebalancing:
            await cases.send_sums(int(time.time() * 1000))

    cases.agents = (submissions, commands, ticks)
    return cases
