"""What a topic subscriber sees: Avro readable with the .avsc files alone, no personal data."""

from __future__ import annotations

import io
from pathlib import Path

import fastavro
import pytest
from fastavro.schema import fingerprint, load_schema, to_parsing_canonical_form

from pakn.settings import Settings
from pakn.topics import CASE_EVENTS, CASE_STATE, INTAKE
from tests.factories import feedback
from tests.harness import Proc, wait_for
from tests.pipeline import post_all, topic_messages, wait_gateway

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _plain_avro_readers() -> dict[bytes, tuple[str, object]]:
    """fingerprint -> schema, from the .avsc files with fastavro alone (no project code)."""
    out = {}
    for path in SCHEMAS.glob("vn.hanoi.pakn.*.avsc"):
        name = path.name.split(".")[-2]
        if name == "Envelope":
            continue
        schema = load_schema(str(path))
        fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
        out[fp] = (name, schema)
    return out


def _plain_decode(data: bytes, readers: dict[bytes, tuple[str, object]]) -> tuple[str, dict]:
    assert data[:2] == b"\xc3\x01", "Avro single-object encoding marker"
    name, schema = readers[data[2:10]]
    return name, fastavro.schemaless_reader(io.BytesIO(data[10:]), schema)


def test_subscribers_decode_every_event_with_plain_fastavro_and_see_no_identity(
    env: Settings, procs: dict[str, Proc]
) -> None:
    for name in ("gateway", "worker"):
        procs[name].start()
    wait_gateway(env, procs["gateway"])
    # 550 m apart: no two are likely duplicates (docs/integrity.md §4), so the events are exactly
    # the submissions and their deadlines
    bodies = [feedback(i) for i in range(20)]
    for i, b in enumerate(bodies):
        b["location"]["lat"] += 0.005 * i
    bodies[3]["sender"]["confidential"] = True
    bodies[4]["sender"] |= {"kind": "organisation", "tax_code": "0101234565"}
    posted = post_all(env, bodies)
    assert [p.status for p in posted] == [202] * 20
    case_ids = {p.body["case_id"] for p in posted}

    def states() -> list:
        return topic_messages(env, CASE_STATE.name(env))

    wait_for(lambda: len(states()) >= 20, 90, "20 case states")

    readers = _plain_avro_readers()
    seen: dict[str, set[str]] = {}
    for msg in topic_messages(env, CASE_EVENTS.name(env)):
        name, rec = _plain_decode(msg.value(), readers)
        seen.setdefault(name, set()).add(str(rec["envelope"]["case_id"]))
        assert msg.key().decode() == str(rec["envelope"]["case_id"])
    assert seen == {"CaseSubmitted": case_ids, "DeadlineSet": case_ids}
    for msg in states():
        name, rec = _plain_decode(msg.value(), readers)
        assert name == "CaseState" and rec["status"] == "submitted"

    # No topic of this pipeline holds an identity number, phone or email in plain text
    # (raw or normalised), the faust changelog included.
    secrets: list[bytes] = []
    for b in bodies:
        s = b["sender"]
        secrets += [
            s["id_number"].encode(),
            s["email"].encode(),
            s["phone"].encode(),
            ("+84" + s["phone"][1:]).encode(),
            s["full_name"].encode(),
        ]
    secrets.append(b"0101234565")
    from confluent_kafka.admin import AdminClient

    topics = [
        t
        for t in AdminClient({"bootstrap.servers": env.kafka_bootstrap})
        .list_topics(timeout=10)
        .topics
        if t.startswith(env.topic_prefix[:-1])
    ]
    assert INTAKE.name(env) in topics and any(t.endswith("changelog") for t in topics)
    scanned = 0
    for topic in topics:
        for msg in topic_messages(env, topic):
            blob = (msg.key() or b"") + (msg.value() or b"")
            scanned += 1
            for secret in secrets:
                assert secret not in blob, f"{secret!r} in plain text on {topic}"
    assert scanned >= 80
