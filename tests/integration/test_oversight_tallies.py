"""Monthly figures per unit and the §6 flags, on real Kafka and ClickHouse, exact across a crash."""

from __future__ import annotations

import pytest

from pakn.settings import Settings
from tests.factories import command_record, feedback
from tests.harness import Proc, wait_for
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
    not satisfied, reopened, and not satisfied again (flag repeat_not_satisfied). C: 2 items on
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
        B: (5, 0, 0, 5, 5, 5, 5, ["repeat_not_satisfied"], 2, 3, 0, 0, 0, 0, 0),
        C: (3, 0, 0, 0, 0, 0, 0, [], 0, 0, 0, 1, 1, 0, 2),
    }
    wait_for(lambda: figures() == expected, 120, "the month's exact figures", every=0.5)
    expected_flags = sorted([(A, "late_share"), (B, "repeat_not_satisfied")])

    def flags_seen() -> list:
        return sorted(query(env, f"SELECT unit_code, flag FROM {db}.oversight_flags FINAL"))

    wait_for(lambda: flags_seen() == expected_flags, 30, "the two flags, once each")
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
