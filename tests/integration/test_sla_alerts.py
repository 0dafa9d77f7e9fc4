"""Streaming SLA clocks on real Kafka: one warning and one breach per late stage, across a crash.

A second-scale test policy (receive: 20 s, warning at 50 %) on a 24/7 calendar keeps the test
independent of the hour and day it runs.
"""

from __future__ import annotations

import time

import pytest

from pakn.settings import Settings
from pakn.topics import CASE_EVENTS
from schemas.codec import get_codec
from tests.factories import command_record, feedback
from tests.harness import Proc, wait_for
from tests.pipeline import post_all, query, send_commands, topic_messages, wait_cases_open

pytestmark = pytest.mark.integration


def alerts(settings: Settings) -> list[tuple[str, str, str]]:
    """(case id, event type, event id) of every alert on the case event log, duplicates kept."""
    out = []
    for msg in topic_messages(settings, CASE_EVENTS.name(settings)):
        name, rec = get_codec().decode(msg.value())
        if name == "SlaAlert":
            env = rec["envelope"]
            out.append((str(env["case_id"]), env["event_type"], str(env["event_id"])))
    return out


def test_late_stages_warn_once_and_breach_once_even_across_a_worker_crash(
    clock_env: Settings, clock_procs: dict[str, Proc]
) -> None:
    env = clock_env
    posted = post_all(env, [feedback(i) for i in range(20)])
    assert [p.status for p in posted] == [202] * 20
    ids = [p.body["case_id"] for p in posted]
    late, in_time = set(ids[:10]), set(ids[10:])

    # officers receive half the cases as soon as they see them: on time
    wait_cases_open(env, in_time)
    send_commands(env, [command_record(c, "receive", level="normal") for c in in_time])

    def warned() -> set[str]:
        return {c for c, kind, _ in alerts(env) if kind == "sla_warning"}

    wait_for(lambda: warned() >= late, 60, "the ten warnings", every=0.2)
    # crash between warning (10 s) and breach (20 s), and come back
    clock_procs["worker"].kill()
    crashed_at = time.monotonic()
    clock_procs["worker"].start()

    def breached() -> set[str]:
        return {c for c, kind, _ in alerts(env) if kind == "sla_breached"}

    wait_for(lambda: breached() >= late, 90, "the ten breaches", every=0.2)
    print(f"\nbreaches after the crash: {time.monotonic() - crashed_at:.1f} s")

    found = alerts(env)
    distinct = {(c, kind): eid for c, kind, eid in found}
    assert set(distinct) == {(c, k) for c in late for k in ("sla_warning", "sla_breached")}
    # one event id per (case, kind): redelivered copies, if any, carry the same id
    assert len({eid for _, _, eid in found}) == 20
    assert not {c for c, _, _ in found} & in_time

    db = env.clickhouse_database

    def warehouse() -> dict[str, int]:
        return dict(
            query(
                env,
                f"SELECT event_type, count() FROM {db}.case_events FINAL "
                "WHERE event_type LIKE 'sla_%' GROUP BY event_type",
            )
        )

    wait_for(
        lambda: warehouse() == {"sla_warning": 10, "sla_breached": 10},
        30,
        "the alerts in ClickHouse once each",
    )

    def late_cases() -> set[str]:
        rows = query(env, f"SELECT toString(case_id), late_stages FROM {db}.cases FINAL")
        return {c for c, stages in rows if stages == ["receive"]}

    wait_for(lambda: late_cases() == late, 30, "the late stages on the current states")
    rows = query(env, f"SELECT toString(case_id), late_stages FROM {db}.cases FINAL")
    assert {c for c, stages in rows if stages == []} == in_time
