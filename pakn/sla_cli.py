"""`pakn sla`: the verdict of a stage as the worker computes it, and one case's clocks explained.

`pakn sla outcome PROCESS STAGE LEVEL FROM DONE` — an auditor checks a verdict by hand; the last
line is one JSON object (due_at, on_time, used_working_minutes, late_working_minutes, …).
`pakn sla explain CASE_ID` — each stage's clock, pauses, extension and verdict of one case, from
its latest record on the compacted case.state topic (its ``state_json`` when the worker
publishes it; otherwise what the snapshot carries).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from pakn.calendar_cli import INSTANT, _calendar
from pakn.settings import get_settings
from processors.sla import LEVELS, STAGES, SlaError, SlaPolicy
from processors.sla_explain import explain, explain_snapshot, outcome


@click.group()
def sla() -> None:
    """Stage deadlines (docs/sla.md): verdicts and explanations, by the worker's own code."""


def _policy(path: str | None) -> SlaPolicy:
    try:
        return SlaPolicy.load(path or get_settings().sla_policy or None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@sla.command("outcome")
@click.argument("process")
@click.argument("stage", type=click.Choice(STAGES))
@click.argument("level", type=click.Choice([*LEVELS, "-"]))
@click.argument("started", metavar="FROM", type=INSTANT)
@click.argument("done", metavar="DONE", type=INSTANT)
@click.option("--unit", default=None, metavar="CODE", help="Count in that unit's office hours.")
@click.option("--policy", "policy_path", default=None, help="An SLA policy file (else the one "
              "PAKN_SLA_POLICY names, else the shipped one).")  # fmt: skip
@click.option("--submitted", type=INSTANT, default=None,
              help="Submission instant, for a stage also bounded from it (investor assignment; "
              "default FROM).")  # fmt: skip
def outcome_cmd(
    process: str,
    stage: str,
    level: str,
    started: datetime,
    done: datetime,
    unit: str | None,
    policy_path: str | None,
    submitted: datetime | None,
) -> None:
    """The verdict of STAGE started at FROM and completed at DONE (LEVEL `-` where the stage has
    none; ISO 8601, Asia/Ho_Chi_Minh when no offset)."""
    try:
        verdict = outcome(
            process,
            stage,  # type: ignore[arg-type]
            None if level == "-" else level,  # type: ignore[arg-type]
            started,
            done,
            _calendar(unit),
            _policy(policy_path),
            submitted_at=submitted,
        )
    except SlaError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from None
    word = "on time" if verdict["on_time"] else f"late by {verdict['late_working_minutes']} min"
    click.echo(
        f"{process} {stage}{' ' + level if level != '-' else ''}: due {verdict['due_at']}, "
        f"used {verdict['used_working_minutes']} of {verdict['allowance_minutes']} min — {word}"
    )
    click.echo(json.dumps(verdict, ensure_ascii=False))


def latest_state(settings: Any, case_id: str, timeout: float = 30.0) -> dict[str, Any] | None:
    """The last CaseState record of ``case_id`` on case.state (read to its end)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    from pakn.topics import CASE_STATE, watermarks
    from schemas.codec import DecodeError, get_codec

    topic = CASE_STATE.name(settings)
    codec = get_codec()
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": "pakn-sla-explain",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if meta is None or meta.error is not None:
            raise click.ClickException(f"topic {topic} not found")
        parts = []
        for p in meta.partitions:
            lo, hi = watermarks(consumer, topic, p, timeout)
            if hi > lo:
                parts.append(TopicPartition(topic, p, OFFSET_BEGINNING))
        if not parts:
            return None
        consumer.assign(parts)
        pending, key, found = {p.partition for p in parts}, case_id.encode(), None
        while pending:
            for m in consumer.consume(1000, timeout=1.0):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        pending.discard(m.partition())
                    continue
                if m.key() != key:
                    continue
                if m.value() is None:
                    found = None  # a tombstone
                    continue
                try:
                    found = codec.decode(m.value())[1]
                except DecodeError:
                    continue
        return found
    finally:
        consumer.close()


def explain_record(record: dict[str, Any]) -> dict[str, Any]:
    """Explain from the record's ``state_json`` (the full state) when present."""
    from pakn.rules import rules_from_settings

    raw = record.get("state_json")
    if not raw:
        return explain_snapshot(record)
    state = json.loads(raw)
    return explain(state, rules_from_settings(get_settings()).calendar(state.get("unit_code")))


@sla.command("explain")
@click.argument("case_id")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for Kafka.")
def explain_cmd(case_id: str, timeout: float) -> None:
    """Each stage's clock, pauses, extension and verdict of one case (JSON)."""

    record = latest_state(get_settings(), case_id, timeout)
    if record is None:
        raise click.ClickException(f"no state for case {case_id} on case.state")
    click.echo(json.dumps(explain_record(record), ensure_ascii=False, indent=2))
