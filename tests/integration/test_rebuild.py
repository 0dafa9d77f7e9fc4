"""`pakn rebuild` recreates the warehouse from the Kafka topics alone, with the same figures; with
--swap the rebuilt tables take the live names and the pipeline goes on writing into them."""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pakn.rebuild import rebuild, row_counts
from pakn.settings import PROJECT_ROOT, Settings
from sinks.rows import FACT_COLUMNS
from tests.factories import feedback
from tests.harness import PAKN, Proc, settings_env, wait_for
from tests.integration.test_publication import receive
from tests.integration.test_workflow_http import PHOTO, Client, ok
from tests.pipeline import post_all, query, wait_gateway

pytestmark = pytest.mark.integration

UNIT = "00070"
LATE_SHARE = re.search(
    r"-- query: late-share-by-unit-and-month\n(.*?)```",
    (PROJECT_ROOT / "docs" / "analyst-queries.md").read_text(),
    re.S,
)


@pytest.fixture
def databases(env: Settings) -> Iterator[list[str]]:
    """Databases this test makes beside the per-test one: dropped afterwards."""
    made: list[str] = [f"{env.clickhouse_database}_analytics"]
    yield made
    for db in made:
        with contextlib.suppress(Exception):
            query(env, f"DROP DATABASE IF EXISTS {db}")


def drive(env: Settings) -> dict[str, str]:
    """Six cases in four shapes: closed, repeated, rejected, just received, just submitted."""
    posted = post_all(env, [feedback(i, unit_code=UNIT) for i in range(6)])
    assert [p.status for p in posted] == [202] * 6
    ids = [p.body["case_id"] for p in posted]
    head = Client(env, "head", UNIT)
    for case_id in ids[:5]:
        receive(head, case_id)
    photo = head.upload(PHOTO)
    evidence = [{"sha256": photo["sha256"], "content_type": "image/jpeg"}]
    for i, case_id in enumerate(ids[:2]):
        ok(head.command(case_id, "assign", assignee="tổ 1"), "assigned")
        ok(
            head.command(case_id, "propose_result", result_text="Đã xử lý.", evidence=evidence),
            "result_proposed",
        )
        ok(head.command(case_id, "approve_result"), "published")
        sender = Client(env, "sender", id_number=feedback(i)["sender"]["id_number"])
        ok(sender.command(case_id, "rate", rating="not_satisfied"), "rated_unsatisfied")
    ok(
        Client(env, "sender", id_number=feedback(1)["sender"]["id_number"]).command(
            ids[1], "reopen"
        ),
        "received",
    )
    refuse = Client(env, "receiving_officer", UNIT)
    wait_for(
        lambda: refuse.command(ids[5], "reject", reason="duplicate")[0] in (200, 409),
        30,
        "the duplicate rejected",
    )
    return {"closed": ids[0], "repeated": ids[1], "rejected": ids[5]}


def snapshot(env: Settings, db: str) -> dict[str, Any]:
    """Everything a query would see of the warehouse (FINAL), ingestion times left out."""
    case_cols = "toString(case_id), version, status, unit_code, late_stages, repeat_count, rating"
    event_cols = (
        "toString(event_id), toString(case_id), event_type, occurred_at, payload, "
        "source_topic, source_partition, source_offset"
    )
    out = {
        "cases": query(env, f"SELECT {case_cols} FROM {db}.cases FINAL ORDER BY case_id"),
        "case_events": query(
            env, f"SELECT {event_cols} FROM {db}.case_events FINAL ORDER BY case_id, event_id"
        ),
        "analytics_cases": query(
            env,
            f"SELECT {case_cols} FROM {db}_analytics.cases FINAL ORDER BY case_id",
        ),
        "late_share": query(
            env, re.sub(r"\bFROM (v_\w+)", rf"FROM {db}_analytics.\1", LATE_SHARE.group(1))
        )
        if LATE_SHARE
        else None,
    }
    facts = ", ".join(c for c in FACT_COLUMNS if c != "ingested_at")
    out["case_event_facts"] = query(
        env, f"SELECT {facts} FROM {db}.case_event_facts FINAL ORDER BY case_id, event_id"
    )
    for table in ("unit_month_tallies", "oversight_flags"):
        with contextlib.suppress(Exception):  # the oversight tables (0004), where they are
            out[table] = query(env, f"SELECT * FROM {db}.{table} FINAL ORDER BY tuple(*)")
    return out


def quiet(env: Settings, db: str, checks: int = 3) -> dict[str, Any]:
    """The warehouse once it stopped changing (the same for `checks` reads, 0.5 s apart):
    the worker's tallies trail the cases by a little."""
    seen: list[dict[str, Any]] = []

    def still() -> bool:
        seen.append(snapshot(env, db))
        return len(seen) >= checks and all(s == seen[-1] for s in seen[-checks:])

    wait_for(still, 30, "the live warehouse to settle", every=0.5)
    return seen[-1]


def test_a_rebuild_from_the_topics_has_the_same_figures_and_can_take_over(
    env: Settings, procs: dict[str, Proc], databases: list[str]
) -> None:
    for p in procs.values():
        p.start()
    wait_gateway(env, procs["gateway"])
    ids = drive(env)
    db = env.clickhouse_database

    def settled() -> bool:
        rows = dict(query(env, f"SELECT toString(case_id), status FROM {db}.cases FINAL"))
        return (
            len(rows) == 6
            and rows[ids["closed"]] == "rated_unsatisfied"
            and rows[ids["repeated"]] == "received"
            and rows[ids["rejected"]] == "rejected"
        )

    wait_for(settled, 30, "the live warehouse to show every case")
    # the dimensions, as `pakn migrate` loads them (a rebuild loads its own)
    from pakn.warehouse_cli import refresh_dimensions

    refresh_dimensions(env)
    before = quiet(env, db)

    # through the command, into a database of its own
    target = f"{db}_rb"
    databases += [target, f"{target}_analytics"]
    started = time.monotonic()
    done = subprocess.run(
        [PAKN, "rebuild", "--database", target, "--timeout", "60"],
        env=settings_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr + done.stdout
    print(f"\n{done.stdout}pakn rebuild: {took:.1f} s (process included)")
    assert snapshot(env, target) == before
    assert row_counts(env, target) == row_counts(env, db)

    # again, and swap it in while the pipeline runs: the sink writes into the rebuilt tables
    swapped = f"{db}_rb2"
    databases += [swapped, f"{swapped}_analytics"]
    out = rebuild(env, database=swapped, do_swap=True, timeout_s=60)
    assert out.swapped and out.messages > 0
    print(f"rebuild + swap: {out.seconds:.1f} s + {out.swap_seconds:.1f} s")
    engines = dict(query(env, f"SELECT name, engine FROM system.tables WHERE database = '{db}'"))
    assert engines["cases_to_analytics"] == "MaterializedView"
    assert snapshot(env, db) == before  # the rebuilt tables, under the live names
    assert snapshot(env, swapped) == before  # the old ones, kept until dropped
    [p] = post_all(env, [feedback(7, unit_code=UNIT)])
    assert p.status == 202
    new = p.body["case_id"]
    for where in (db, f"{db}_analytics"):
        wait_for(
            lambda w=where: (
                query(env, f"SELECT count() FROM {w}.cases FINAL WHERE case_id = toUUID('{new}')")
                == [(1,)]
            ),
            30,
            f"the new case in {where}",
        )
    assert query(env, f"SELECT count() FROM {swapped}.cases WHERE case_id = toUUID('{new}')") == [
        (0,)
    ]
