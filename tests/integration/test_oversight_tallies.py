"""Monthly figures per unit and the §6 flags, on real Kafka and ClickHouse, exact across a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Producer

from gateway.publisher import producer_config
from pakn.settings import Settings
from pakn.topics import CASE_STATE, COMMANDS
from schemas.codec import get_codec
from tests.factories import command_record, feedback
from tests.harness import Proc, wait_for
from tests.pipeline import post_all, query, topic_messages, wait_gateway

pytestmark = pytest.mark.integration


def test_a_unit_with_most_items_late_is_flagged_once_and_its_figures_are_exact(
    clock_env: Settings, tmp_path: Path
) -> None:
    env = clock_env
    procs = {n: Proc(n, env, tmp_path).start() for n in ("gateway", "worker", "sink")}
    try:
        wait_gateway(env, procs["gateway"])
        posted = post_all(env, [feedback(i) for i in range(4)])  # all at Hoàn Kiếm (00070)
        ids = [p.body["case_id"] for p in posted]
        wait_for(
            lambda: len({m.key() for m in topic_messages(env, CASE_STATE.name(env))}) >= 4,
            30,
            "the cases to open",
            every=0.2,
        )
        producer = Producer(producer_config(env.kafka_bootstrap))
        producer.produce(
            COMMANDS.name(env),
            key=ids[0].encode(),
            value=get_codec().encode(
                "CaseCommand", command_record(ids[0], "receive", level="normal")
            ),
        )
        assert producer.flush(10) == 0

        db = env.clickhouse_database

        def figures() -> list:
            return query(
                env,
                f"SELECT received, receive_late, late_items, late_share, flags "
                f"FROM {db}.unit_month_tallies FINAL WHERE unit_code = '00070'",
            )

        # three receipts go late (20 s): 3 of 4 items late > 30 %
        wait_for(lambda: figures() and figures()[0][1] == 3, 90, "three late receipts", every=0.5)
        procs["worker"].kill()  # and a crash: redelivered facts must not count twice
        procs["worker"].start()
        more = post_all(env, [feedback(10)])
        assert more[0].status == 202
        wait_for(lambda: figures() and figures()[0][0] == 5, 90, "the fifth item", every=0.5)
        [(received, receive_late, late, share, flags)] = figures()
        assert (received, receive_late, late) == (5, 3, 3) and flags == ["late_share"]
        assert abs(share - 0.6) < 1e-9
        rows = query(
            env,
            f"SELECT flag, value, threshold FROM {db}.oversight_flags FINAL "
            "WHERE unit_code = '00070'",
        )
        assert len(rows) == 1 and rows[0][0] == "late_share" and rows[0][2] == 0.3
    finally:
        for p in procs.values():
            p.stop()
