"""A message nobody can decode is parked with its reason; the stream goes on."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from pakn.settings import Settings
from pakn.topics import CASE_EVENTS, DEAD_LETTERS, INTAKE
from schemas.codec import MAGIC, get_codec
from tests.factories import feedback
from tests.harness import Proc, wait_for
from tests.pipeline import post_all, topic_messages, visible_cases, wait_gateway

pytestmark = pytest.mark.integration


def test_poison_messages_go_to_the_dead_letter_topic_and_processing_continues(
    env: Settings, procs: dict[str, Proc]
) -> None:
    producer = Producer({"bootstrap.servers": env.kafka_bootstrap})
    poison = {
        INTAKE.name(env): [b'{"json": "from an old client"}', MAGIC + b"\x01" * 8 + b"x"],
        CASE_EVENTS.name(env): [b"\x00\x00\x00\x00\x07confluent-framed"],
    }
    for topic, values in poison.items():
        for v in values:
            producer.produce(topic, key=b"k", value=v)
    producer.flush(10)

    for p in procs.values():
        p.start()
    wait_gateway(env, procs["gateway"])
    [ok] = post_all(env, [feedback(1)])
    wait_for(lambda: ok.body["case_id"] in visible_cases(env), 90, "the valid case")

    def parked() -> list:
        return topic_messages(env, DEAD_LETTERS.name(env))

    wait_for(lambda: len(parked()) >= 3, 30, "three dead letters")
    letters = [get_codec().decode(m.value())[1] for m in parked()]
    by_source = sorted((d["source_topic"], d["reason"], d["consumer"]) for d in letters)
    assert by_source == sorted(
        [
            (INTAKE.name(env), "bad_magic", "worker"),
            (INTAKE.name(env), "unknown_schema", "worker"),
            (CASE_EVENTS.name(env), "bad_magic", "sink-clickhouse"),
        ]
    )
    assert {d["value"] for d in letters} == {v for vs in poison.values() for v in vs}
    assert procs["worker"].alive and procs["sink"].alive
