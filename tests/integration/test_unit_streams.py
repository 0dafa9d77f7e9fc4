"""An agency system reads its unit's work stream with plain fastavro and sees exactly its work."""

from __future__ import annotations

import io
from pathlib import Path

import fastavro
import pytest
from fastavro.schema import fingerprint, load_schema, to_parsing_canonical_form

from pakn.settings import Settings
from pakn.topics import unit_topic_name
from tests.factories import feedback
from tests.harness import Proc, wait_for
from tests.pipeline import post_all, topic_messages, wait_gateway

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def readers() -> dict[bytes, tuple[str, object]]:
    out = {}
    for path in SCHEMAS.glob("vn.hanoi.pakn.*.avsc"):
        schema = load_schema(str(path))
        fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
        out[fp] = (path.name.split(".")[-2], schema)
    return out


def test_a_unit_stream_carries_exactly_that_units_cases(
    env: Settings, procs: dict[str, Proc]
) -> None:
    for name in ("gateway", "worker", "router"):  # the router copies to the unit streams
        procs[name].start()
    wait_gateway(env, procs["gateway"])
    here = [feedback(i) for i in range(3)]
    there = [feedback(10 + i) for i in range(2)]
    for body in there:
        body["location"] = {**body["location"], "commune_code": "00004"}  # Ba Đình
    for i, body in enumerate(here + there):  # 550 m apart: none is a likely duplicate
        body["location"]["lat"] += 0.005 * i
    posted = post_all(env, here + there)
    assert [p.status for p in posted] == [202] * 5
    mine = {p.body["case_id"] for p in posted[:3]}

    topic = unit_topic_name(env, "00070")  # Phường Hoàn Kiếm
    wait_for(lambda: len(topic_messages(env, topic)) >= 9, 60, "Hoàn Kiếm's work", every=0.3)
    seen: dict[str, set[str]] = {}
    known = readers()
    for msg in topic_messages(env, topic):
        value = msg.value()
        assert value[:2] == b"\xc3\x01"
        name, schema = known[value[2:10]]
        rec = fastavro.schemaless_reader(io.BytesIO(value[10:]), schema)
        case_id = str(rec["envelope"]["case_id"] if "envelope" in rec else rec["case_id"])
        seen.setdefault(name, set()).add(case_id)
        assert dict(msg.headers() or [])["unit"] == b"00070"
    assert seen == {"CaseSubmitted": mine, "DeadlineSet": mine, "CaseState": mine}
