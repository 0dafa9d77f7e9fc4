"""The unit directory is data on a topic: a running worker routes by what was published last."""

from __future__ import annotations

import json
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from pakn.directory_topic import DirectoryFollower
from pakn.settings import Settings
from pakn.topics import CASE_STATE, UNITS_DIRECTORY
from schemas.codec import get_codec
from tests.factories import feedback
from tests.harness import PAKN, Proc, settings_env, wait_for
from tests.pipeline import post_all, topic_count, topic_messages, wait_gateway

pytestmark = pytest.mark.integration


def shipped(name: str) -> dict[str, Any]:
    return json.loads(resources.files("processors").joinpath("data", name).read_text("utf-8"))


def publish(env: Settings, *args: str) -> str:
    done = subprocess.run(
        [PAKN, "units", "publish", *args],
        env=settings_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def unit_of_cases(env: Settings) -> dict[str, str]:
    """case id -> the unit its latest state snapshot names."""
    out = {}
    codec = get_codec()
    for msg in topic_messages(env, CASE_STATE.name(env)):
        out[msg.key().decode()] = codec.decode(msg.value())[1]["unit_code"]
    return out


def submit(env: Settings, body: dict[str, Any]) -> str:
    [posted] = post_all(env, [body])
    assert posted.status == 202, posted.body
    return str(posted.body["case_id"])


def wait_read(proc: Proc, generation: int, timeout: float = 60) -> None:
    """Until the process has read that publication (it takes effect within its poll latency:
    an item submitted before may still be routed by the previous one)."""
    text = f"units.directory generation {generation} read"
    wait_for(lambda: text in proc.log_path.read_text(errors="replace"), timeout, text, every=0.2)


def routed_to(env: Settings, case_id: str, timeout: float = 90) -> str:
    return wait_for(lambda: unit_of_cases(env).get(case_id), timeout, f"case {case_id} to open")


def test_a_running_worker_routes_by_the_directory_published_while_it_runs(
    env: Settings, procs: dict[str, Proc], tmp_path: Path
) -> None:
    topic = UNITS_DIRECTORY.name(env)
    first = publish(env)
    assert first.startswith("published generation 1"), first
    sent = topic_count(env, topic)
    assert sent == 150 + 2  # every unit, the rules, the head
    assert publish(env).startswith("up to date: generation 1")  # idempotent: nothing sent
    assert topic_count(env, topic) == sent

    for name in ("gateway", "worker"):
        procs[name].start()
    wait_gateway(env, procs["gateway"])
    worker_pid = procs["worker"].popen.pid  # type: ignore[union-attr]

    # Generation 1 (the shipped data): field feedback goes to the commune of the location.
    before = submit(env, feedback(0))
    assert routed_to(env, before) == "00070"  # Phường Hoàn Kiếm

    # Generation 2: a rule change only — road damage now goes to the department that leads it.
    rules = shipped("routing_rules.json")
    rules["rules"].insert(
        0,
        {
            "id": "roads_to_construction",
            "process": ["field_feedback"],
            "category": ["road_damage"],
            "targets": ["domain_owner"],
        },
    )
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps(rules, ensure_ascii=False))
    out = publish(env, "--rules", str(rules_file))
    assert out.startswith("published generation 2") and "0 unit(s) written" in out, out
    assert topic_count(env, topic) == sent + 2  # the rules and the head, nothing else
    wait_read(procs["worker"], 2)

    after = submit(env, feedback(1))
    assert routed_to(env, after) == "01-SXD"  # Sở Xây dựng leads road_damage
    assert unit_of_cases(env)[before] == "00070"  # a routed case keeps its unit

    # Generation 3: Hoàn Kiếm removed (a tombstone), the shipped rules back.
    directory = shipped("units_hanoi_2025.json")
    directory["units"] = [u for u in directory["units"] if u["code"] != "00070"]
    dir_file = tmp_path / "units.json"
    dir_file.write_text(json.dumps(directory, ensure_ascii=False))
    out = publish(env, "--file", str(dir_file))
    assert out.startswith("published generation 3") and "1 removed, the rules" in out, out
    tombstones = [m for m in topic_messages(env, topic) if m.value() is None]
    assert [m.key() for m in tombstones] == [b"00070"]
    wait_read(procs["worker"], 3)

    gone = submit(env, feedback(2))
    assert routed_to(env, gone) == "01-VPUB"  # unknown commune: the default unit

    assert procs["worker"].alive and procs["worker"].popen.pid == worker_pid  # type: ignore[union-attr]
    wait_read(procs["gateway"], 3)  # the gateway follows too (unit names in its public API)

    # A restarted worker routes by the topic (its table survives), not by the shipped files.
    procs["worker"].stop()
    procs["worker"].start()
    again = submit(env, feedback(3))
    assert routed_to(env, again, timeout=90) == "01-VPUB"


def test_a_follower_sees_each_complete_publication_once(env: Settings, tmp_path: Path) -> None:
    seen: list[tuple[int, str]] = []
    follower = DirectoryFollower(
        env, lambda router, gen: seen.append((gen, router.directory.get("00070").name_en))
    ).start()
    try:
        publish(env)
        wait_for(lambda: seen, 30, "the first publication")
        directory = shipped("units_hanoi_2025.json")
        next(u for u in directory["units"] if u["code"] == "00070")["name_en"] = "Hoan Kiem"
        dir_file = tmp_path / "units.json"
        dir_file.write_text(json.dumps(directory, ensure_ascii=False))
        publish(env, "--file", str(dir_file))
        publish(env, "--file", str(dir_file))  # nothing new: no third call
        wait_for(lambda: len(seen) >= 2, 30, "the second publication")
        assert seen == [(1, "Hoan Kiem Ward"), (2, "Hoan Kiem")]
    finally:
        follower.close()


def test_every_worker_of_the_group_routes_by_a_change_published_while_they_run(
    env: Settings, procs: dict[str, Proc], tmp_path: Path
) -> None:
    """Every worker follows the whole topic, whichever case partitions it owns: a change
    published while two workers run reaches both without a restart."""
    publish(env)
    procs["gateway"].start()
    procs["worker"].start()
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    second = Proc(
        "worker", env.model_copy(update={"worker_data_dir": second_dir / "data"}), second_dir
    ).start()
    try:
        wait_gateway(env, procs["gateway"])
        warm = [submit(env, feedback(i)) for i in range(6)]
        for case_id in warm:
            assert routed_to(env, case_id, timeout=90) == "00070"

        rules = shipped("routing_rules.json")
        rules["rules"].insert(
            0,
            {
                "id": "roads_to_construction",
                "process": ["field_feedback"],
                "category": ["road_damage"],
                "targets": ["domain_owner"],
            },
        )
        rules_file = tmp_path / "rules.json"
        rules_file.write_text(json.dumps(rules, ensure_ascii=False))
        assert publish(env, "--rules", str(rules_file)).startswith("published generation 2")
        wait_read(procs["worker"], 2)
        wait_read(second, 2)

        posted = post_all(env, [feedback(10 + i) for i in range(16)])
        assert [p.status for p in posted] == [202] * 16
        for p in posted:  # spread over the six partitions, so over both workers
            assert routed_to(env, str(p.body["case_id"]), timeout=90) == "01-SXD"
        assert procs["worker"].alive and second.alive
    finally:
        second.stop()
