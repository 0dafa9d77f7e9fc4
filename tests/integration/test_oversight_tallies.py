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
    rows = query(
        env,
        f"SELECT flag, value, threshold FROM {db}.oversight_flags FINAL WHERE unit_code = '00070'",
    )
    assert len(rows) == 1 and rows[0][0] == "late_share" and rows[0][2] == 0.3
