"""Monthly figures per unit and the §6 flags, on real Kafka and ClickHouse, exact across a crash."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pakn.settings import Settings
from tests.factories import command_record, feedback, submitted_record
from tests.harness import PAKN, Proc, settings_env, wait_for
from tests.pipeline import post_all, query, send_commands, wait_cases_open

pytestmark = pytest.mark.integration


def test_a_unit_with_most_items_late_is_flagged_once_and_its_figures_are_exact(
    clock_env: Settings, clock_procs: dict[str, Proc]
) -> None:
    env = clock_env
    posted = post_all(env, [feedback(i) for i in range(4)])  # all at Hoàn Kiếm (00070)
    ids = [p.body["case_id"] for p in posted]
    wait_cases_open(env, ids)
    send_commands(env, [command_record(ids[0], "receive", level="normal")])

    db = env.clickhouse_database

    def figures() -> list:
        return query(
            env,
            f"SELECT received, receive_late, late_items, late_share, flags "
            f"FROM {db}.unit_month_tallies FINAL WHERE unit_code = '00070'",
        )

    # three receipts go late (20 s): 3 of 4 items late > 30 %
    wait_for(lambda: figures() and figures()[0][1] == 3, 90, "three late receipts", every=0.5)
    clock_procs["worker"].kill()  # and a crash: redelivered facts must not count twice
    clock_procs["worker"].start()
    more = post_all(env, [feedback(10)])
    assert more[0].status == 202
    wait_for(lambda: figures() and figures()[0][0] == 5, 90, "the fifth item", every=0.5)
    [(received, receive_late, late, share, flags)] = figures()
    assert (received, receive_late, late) == (5, 3, 3) and flags == ["late_share"]
    assert abs(share - 0.6) < 1e-9

    def flag_rows() -> list:
        return query(
            env,
            f"SELECT flag, value, threshold FROM {db}.oversight_flags FINAL "
            "WHERE unit_code = '00070'",
        )

    rows = wait_for(flag_rows, 30, "the flag in ClickHouse")
    assert len(rows) == 1 and rows[0][0] == "late_share" and rows[0][2] == 0.3


A, B, C = "00070", "00004", "00008"  # Hoàn Kiếm, Ba Đình, and a third commune
RESULT = {
    "result_text": "Đã xử lý xong.",
    "evidence": [{"sha256": "ab" * 32, "content_type": "image/jpeg", "size": 10, "filename": None}],
}


def round_trip(case_id: str) -> list[dict]:
    """Assign, propose with evidence, approve; the sender is never satisfied."""
    return [
        command_record(case_id, "assign", assignee="officer"),
        command_record(case_id, "propose_result", **RESULT),
        command_record(case_id, "approve_result"),
        command_record(case_id, "rate", rating="not_satisfied"),
    ]


def test_a_scripted_month_across_units_is_exact_after_crashes_and_a_rebuild(
    clock_env: Settings, clock_procs: dict[str, Proc]
) -> None:
    """A: 3 of 4 items received late (flag late_share). B: 5 cases (2 urgent, 3 normal) rated
    not satisfied, reopened, and not satisfied again — once each, so no item reaches the "5 times
    or more" of §6, counted per item (issue 14): no flag. C: 2 items on
    time and 1 rejected for want of information (no flag). The worker and the sink are killed
    mid-month; the warehouse is then rebuilt from Kafka alone."""
    from pakn.rebuild import rebuild

    env = clock_env
    bodies = [feedback(i) for i in range(12)]
    for body, unit in zip(bodies, [A] * 4 + [B] * 5 + [C] * 3, strict=True):
        body["location"] = {**body["location"], "commune_code": unit}
    ids = [p.body["case_id"] for p in post_all(env, bodies)]
    a, b, c = ids[:4], ids[4:9], ids[9:]
    wait_cases_open(env, ids)
    levels = dict.fromkeys([a[0], *b[2:], *c[:2]], "normal") | dict.fromkeys(b[:2], "urgent")
    first = [command_record(x, "receive", level=level) for x, level in levels.items()]
    first.append(command_record(c[2], "reject", reason="insufficient_information"))
    for x in b:
        first += [*round_trip(x), command_record(x, "reopen")]
    send_commands(env, first)

    db = env.clickhouse_database
    cols = (
        "received, receive_late, late_items, handle_on_time, not_satisfied, repeats, "
        "repeats_not_satisfied, flags, handle_on_time_urgent, handle_on_time_normal, "
        "handle_late_normal, rejected, rejected_insufficient_information, rejected_duplicate, "
        "open_at_month_end"
    )

    def figures() -> dict[str, tuple]:
        rows = query(env, f"SELECT unit_code, {cols} FROM {db}.unit_month_tallies FINAL")
        return {r[0]: r[1:] for r in rows}

    wait_for(lambda: figures().get(B, (0,) * 15)[5] == 5, 60, "B's five repeats", every=0.5)
    for name in ("worker", "sink"):  # mid-month crash of both
        clock_procs[name].kill()
        clock_procs[name].start()
    send_commands(env, [cmd for x in b for cmd in round_trip(x)])

    # the last seven: by level, by reason, and open (not answered yet: the month goes on)
    expected = {
        A: (4, 3, 3, 0, 0, 0, 0, ["late_share"], 0, 0, 0, 0, 0, 0, 4),
        B: (5, 0, 0, 5, 5, 5, 5, [], 2, 3, 0, 0, 0, 0, 0),
        C: (3, 0, 0, 0, 0, 0, 0, [], 0, 0, 0, 1, 1, 0, 2),
    }
    wait_for(lambda: figures() == expected, 120, "the month's exact figures", every=0.5)
    expected_flags = [(A, "late_share")]

    def flags_seen() -> list:
        return sorted(query(env, f"SELECT unit_code, flag FROM {db}.oversight_flags FINAL"))

    wait_for(lambda: flags_seen() == expected_flags, 30, "the one flag, once")
    flags = flags_seen()

    rebuilt = rebuild(env, timeout_s=120).database
    again = {
        r[0]: r[1:]
        for r in query(env, f"SELECT unit_code, {cols} FROM {rebuilt}.unit_month_tallies FINAL")
    }
    assert again == expected
    assert sorted(
        query(env, f"SELECT unit_code, flag FROM {rebuilt}.oversight_flags FINAL")
    ) == sorted(flags)
    from sinks.connection import clickhouse

    client = clickhouse(env, database=False)
    client.execute(f"DROP DATABASE IF EXISTS {rebuilt}")
    client.execute(f"DROP DATABASE IF EXISTS {rebuilt}_analytics")
    client.disconnect()


HN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(d: int, h: int, mi: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, d, h, mi, tzinfo=HN)


def submit_at(env: Settings, when: list[datetime]) -> list[str]:
    """CaseSubmitted records stamped at past instants (as the gateway stamped them then), on the
    intake topic — a month replayed on today's pipeline."""
    import uuid

    from confluent_kafka import Producer

    from gateway.publisher import producer_config
    from pakn.topics import INTAKE
    from schemas.codec import get_codec

    producer = Producer(producer_config(env.kafka_bootstrap))
    ids = []
    for t in when:
        rec = submitted_record(t, case_id=str(uuid.uuid4()))
        rec["sender"]["pseudonym"] = uuid.uuid4().hex * 2  # a different sender each
        ids.append(rec["envelope"]["case_id"])
        producer.produce(
            INTAKE.name(env), key=ids[-1].encode(), value=get_codec().encode("CaseSubmitted", rec)
        )
    assert producer.flush(10) == 0
    return ids


def test_a_month_judged_by_working_time_and_event_time_with_a_six_times_dissatisfied_item(
    env: Settings, procs: dict[str, Proc]
) -> None:
    """March 2026 at Hoàn Kiếm, office hours and the shipped policy, replayed today (every due
    has passed, so each breach tick fires before the completions are processed):

    - 3 items sent Sat 7 Mar 20:00 and received Mon 9 Mar 17:20: 480 working minutes, on time
      (they used to count late: 17:00 due);
    - 1 item received Tue 3 Mar 08:30, before its 09:00 due, but processed after its breach
      alert: the alert is withdrawn (sla_alert_withdrawn) and the item is not late;
    - 1 item received Wed 4 Mar 09:00: late by 8 working hours;
    - 1 item rated not satisfied and reopened six times (the fifth on Tue 31 Mar): the unit is
      flagged once for it, in March.

    Late share 1/6, under 30 %: no late_share flag on the month's figures (it was 5/6 before
    issue 14). While the backlog was processed the breaches held the share above 30 % for a
    moment: that crossing stays on the flag log (oversight_flags), the figures do not keep it."""
    for name in ("worker", "sink"):
        procs[name].start()
    after_hours = submit_at(env, [at(7, 20)] * 3)
    in_time, late, repeated = submit_at(env, [at(2, 9)] * 3)
    wait_cases_open(env, [*after_hours, in_time, late, repeated], timeout=60)
    db = env.clickhouse_database

    def events(case_id: str) -> list[str]:
        return [
            r[0]
            for r in query(
                env,
                f"SELECT event_type FROM {db}.case_events FINAL "
                f"WHERE case_id = toUUID('{case_id}') ORDER BY occurred_at",
            )
        ]

    # the backlog: the breach alerts were raised before the receipts are processed
    for case_id in (in_time, *after_hours):
        wait_for(lambda c=case_id: "sla_breached" in events(c), 60, "the breach alert")

    def handled(case_id: str, start: datetime) -> list[dict]:
        """Assigned, result proposed and approved in time (so only receipts decide lateness)."""
        return [
            command_record(case_id, "assign", start, assignee="officer"),
            command_record(case_id, "propose_result", start + timedelta(hours=1), **RESULT),
            command_record(case_id, "approve_result", start + timedelta(hours=2)),
        ]

    cmds = []
    for c in after_hours:  # after hours; the assignment clock starts at Tue 08:00
        cmds += [
            command_record(c, "receive", at(9, 17, 20), level="normal"),
            *handled(c, at(10, 8, 30)),
        ]
    cmds += [
        command_record(in_time, "receive", at(3, 8, 30), level="normal"),
        *handled(in_time, at(3, 9)),
        command_record(late, "receive", at(4, 9), level="normal"),
        *handled(late, at(4, 9, 30)),
        command_record(repeated, "receive", at(2, 10), level="normal"),
    ]
    week = at(3, 9)
    for _ in range(6):  # reopened 3, 10, 17, 24, 31 Mar and 7 Apr
        cmds += [
            *handled(repeated, week),
            command_record(repeated, "rate", week + timedelta(hours=5), rating="not_satisfied"),
            command_record(repeated, "reopen", week + timedelta(hours=6)),
        ]
        week += timedelta(days=7)
    cmds += [
        *handled(repeated, week),  # the seventh round, at last satisfying
        command_record(repeated, "rate", week + timedelta(hours=5), rating="satisfied"),
    ]
    send_commands(env, cmds)

    def figures() -> list:
        return query(
            env,
            f"SELECT received, receive_late, late_items, repeats, flags "
            f"FROM {db}.unit_month_tallies FINAL WHERE unit_code = '{A}' AND month = '2026-03'",
        )

    expected = [(6, 1, 1, 1, [])]
    try:
        wait_for(lambda: figures() == expected, 120, "the month's figures", every=0.5)
    except AssertionError:
        raise AssertionError(f"figures {figures()} != {expected}") from None
    for case_id in (in_time, *after_hours):
        wait_for(lambda c=case_id: "sla_alert_withdrawn" in events(c), 30, "the withdrawal")
    assert "sla_alert_withdrawn" not in events(late)

    def flags() -> list:
        return query(
            env,
            f"SELECT unit_code, month, flag, value FROM {db}.oversight_flags FINAL "
            f"WHERE unit_code = '{A}'",
        )

    item_flag = (A, "2026-03", f"repeat_not_satisfied_item:{repeated}", 5.0)
    wait_for(
        lambda: item_flag in flags() and len([f for f in flags() if "item" in f[2]]) == 1,
        60,
        "one flag for the six-times-dissatisfied item, in March",
        every=0.5,
    )
    listed = ", ".join(f"toUUID('{c}')" for c in [*after_hours, in_time, late])
    late_stages = query(
        env,
        f"SELECT toString(case_id), late_stages FROM {db}.cases FINAL WHERE case_id IN ({listed})",
    )
    assert {c: s for c, s in late_stages} == {
        **{c: [] for c in [*after_hours, in_time]},
        late: ["receive"],
    }

    # the auditor's view of one case, read from case.state by the CLI
    out = subprocess.run(
        [PAKN, "sla", "explain", in_time],
        env=settings_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    explained = json.loads(out.stdout)
    assert explained["case_id"] == in_time and explained["late_stages"] == []
    assert explained["status"] == "published"
