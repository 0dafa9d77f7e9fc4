"""Confidential senders, re-identification and erasure, on the real Kafka and ClickHouse.

domain.md §3 and the issue: a handling unit never sees a confidential sender's identity, in any
answer, topic or table; only the operator re-identifies, audited; erasing a sender destroys their
data keys (crypto-shredding) and leaves every figure as it was.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from typing import Any

import aiohttp
import pytest
from confluent_kafka.admin import AdminClient

from gateway.http.auth import mint_token
from pakn.privacy import load_privacy
from pakn.settings import Settings
from pakn.topics import PRIVACY_AUDIT, SENDER_KEYS
from schemas.codec import get_codec
from sinks.connection import clickhouse
from sinks.rows import TALLY_COLUMNS
from tests.factories import feedback
from tests.harness import PAKN, Proc, settings_env, wait_for
from tests.pipeline import post_all, query, topic_messages, wait_gateway

pytestmark = pytest.mark.integration

UNIT, OTHER = "00070", "00004"  # Hoàn Kiếm, Ba Đình
TALLIES = ", ".join(c for c in TALLY_COLUMNS if c != "updated_at")


def body_of(i: int, confidential: bool, **sender: Any) -> dict[str, Any]:
    b = feedback(i, unit_code=UNIT)
    b["sender"] |= {"full_name": f"Lê Thị Kín Đáo Số {i}", "confidential": confidential, **sender}
    return b


def identity_strings(b: dict[str, Any]) -> list[bytes]:
    """Every way a sender's identity could appear in plain text."""
    s = b["sender"]
    out = [s["full_name"], s["id_number"], s["email"], s["phone"], "+84" + s["phone"][1:]]
    if s.get("tax_code"):
        out.append(s["tax_code"])
    return [x.encode() for x in out]


def call(env: Settings, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
    async def go() -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession() as s,
            s.request(
                method, f"http://127.0.0.1:{env.gateway_port}{path}", headers=headers, **kw
            ) as r,
        ):
            return r.status, await r.json(content_type=None)

    return asyncio.run(go())


def tokens(env: Settings) -> dict[str, str]:
    return {
        "handling": mint_token(env, role="handling_officer", unit=UNIT, subject="cb-xu-ly"),
        "receiving": mint_token(env, role="receiving_officer", unit=UNIT, subject="cb-tiep-nhan"),
        "head": mint_token(env, role="head", unit=UNIT, subject="lanh-dao"),
        "other_unit": mint_token(env, role="head", unit=OTHER, subject="lanh-dao-ba-dinh"),
        "oversight": mint_token(env, role="oversight", subject="giam-sat"),
        "operator": mint_token(env, role="operator", subject="van-hanh-1"),
    }


def run_pipeline(env: Settings, procs: dict[str, Proc], bodies: list[dict]) -> list[str]:
    for p in procs.values():
        p.start()
    wait_gateway(env, procs["gateway"])
    posted = post_all(env, bodies, concurrency=4)
    assert [p.status for p in posted] == [202] * len(bodies), [p.body for p in posted]
    case_ids = [p.body["case_id"] for p in posted]
    db = env.clickhouse_database
    wait_for(
        lambda: (
            query(
                env,
                f"SELECT count() FROM {db}.case_events FINAL WHERE event_type = 'case_submitted'",
            )[0][0]
            == len(bodies)
            and query(env, f"SELECT count() FROM {db}.cases FINAL")[0][0] == len(bodies)
        ),
        90,
        "every case in the warehouse",
    )
    return case_ids


def all_topics(env: Settings) -> list[str]:
    names = AdminClient({"bootstrap.servers": env.kafka_bootstrap}).list_topics(timeout=10).topics
    return sorted(t for t in names if t.startswith(env.topic_prefix[:-1]))


def all_tables(env: Settings) -> list[str]:
    db = env.clickhouse_database
    rows = query(
        env,
        "SELECT database, name FROM system.tables WHERE database IN "
        f"('{db}', '{db}_analytics') AND engine NOT LIKE '%View'",
    )
    return [f"{d}.{n}" for d, n in rows]


def test_no_personal_field_of_a_confidential_sender_reaches_a_unit_in_any_answer_topic_or_table(
    env: Settings, procs: dict[str, Proc]
) -> None:
    secret = body_of(1, confidential=True)
    open_ = body_of(2, confidential=False)
    org = body_of(3, confidential=False, kind="organisation", tax_code="0101234565")
    # The same person twice: openly, then confidentially (a unit must not be able to link them).
    twice_open = body_of(4, confidential=False)
    twice_secret = body_of(4, confidential=True)
    twice_secret["title"] = "Ổ gà lần hai"
    bodies = [secret, open_, org, twice_open, twice_secret]
    ids = run_pipeline(env, procs, bodies)
    c_secret, c_open, c_org, c_twice_open, c_twice_secret = ids
    t = tokens(env)
    pseudonym = load_privacy(env).pseudonym
    hidden = {  # confidential case -> its sender's pseudonym
        c: pseudonym(b["sender"]["id_number"]).encode()
        for c, b in ((c_secret, secret), (c_twice_secret, twice_secret))
    }

    # --- the handling unit's view ---------------------------------------------------------
    for role in ("handling", "receiving", "head"):
        status, view = call(env, "GET", f"/v1/agency/cases/{c_secret}", t[role])
        assert status == 200, view
        assert view["sender"] == {
            "confidential": True,
            "display": {"vi": "Người gửi đề nghị bảo mật danh tính", "en": "Confidential sender"},
        }
        assert view["title"] == secret["title"] and view["unit"]["code"] == UNIT
        text = str(view).encode()
        for s in [*identity_strings(secret), hidden[c_secret]]:
            assert s not in text
    status, view = call(env, "GET", f"/v1/agency/cases/{c_open}", t["handling"])
    assert status == 200 and view["sender"] == {
        "confidential": False,
        "kind": "person",
        "full_name": open_["sender"]["full_name"],
        "phone": "+84" + open_["sender"]["phone"][1:],  # normalised at the gateway
        "email": open_["sender"]["email"],
    }, view
    assert open_["sender"]["id_number"].encode() not in str(view).encode()
    status, view = call(env, "GET", f"/v1/agency/cases/{c_org}", t["head"])
    assert status == 200 and view["sender"]["tax_code"] == "0101234565", view
    status, view = call(env, "GET", f"/v1/agency/cases/{c_twice_open}", t["head"])
    assert status == 200 and view["sender"]["full_name"] == twice_open["sender"]["full_name"]
    status, view = call(env, "GET", f"/v1/agency/cases/{c_twice_secret}", t["head"])
    assert status == 200 and view["sender"]["confidential"] is True
    assert twice_secret["sender"]["full_name"].encode() not in str(view).encode()
    # only officers of the responsible unit, never another unit, oversight or the public
    assert call(env, "GET", f"/v1/agency/cases/{c_open}", t["other_unit"])[1]["code"] == (
        "not_your_unit"
    )
    assert call(env, "GET", f"/v1/agency/cases/{c_open}", t["oversight"])[1]["code"] == (
        "role_not_allowed"
    )
    assert call(env, "GET", f"/v1/agency/cases/{c_open}")[0] == 401
    for case_id, b in zip(ids, bodies, strict=True):
        status, public = call(env, "GET", f"/v1/cases/{case_id}")
        assert status == 200
        for s in identity_strings(b):
            assert s not in str(public).encode()

    # --- every topic: no identity in plain text; unit streams: no sealed identity and no
    # pseudonym of a confidential sender -----------------------------------------------------
    topics = all_topics(env)
    unit_topic = f"{env.topic_prefix}unit.{UNIT}"
    assert unit_topic in topics and any(t.endswith("changelog") for t in topics)
    assert SENDER_KEYS.name(env) in topics
    every_secret = [s for b in bodies for s in identity_strings(b)]
    scanned = 0
    for topic in topics:
        for msg in topic_messages(env, topic):
            blob = (msg.key() or b"") + (msg.value() or b"")
            scanned += 1
            for s in every_secret:
                assert s not in blob, f"{s!r} in plain text on {topic}"
            if topic.startswith(f"{env.topic_prefix}unit.") and msg.key().decode() in hidden:
                # the same person's open case may carry it; their confidential ones never
                assert hidden[msg.key().decode()] not in blob, (
                    f"a confidential pseudonym on {topic}"
                )
    assert scanned >= 30
    codec = get_codec()
    on_unit = [codec.decode(m.value()) for m in topic_messages(env, unit_topic)]
    submitted = [r for name, r in on_unit if name == "CaseSubmitted"]
    assert len(submitted) == len(bodies)
    for r in submitted:
        assert r["sender"]["pii"] == {"key_id": "", "nonce": b"", "ciphertext": b""}
        assert (r["sender"]["pseudonym"] == "") is r["sender"]["confidential"]
    states = [r for name, r in on_unit if name == "CaseState"]
    assert states and all((s["sender_pseudonym"] == "") is s["confidential"] for s in states), (
        "a confidential sender's pseudonym in a CaseState of the unit stream"
    )

    # --- every table of both databases: no identity in plain text; the analysts' database
    # holds no pseudonym at all --------------------------------------------------------------
    tables = all_tables(env)
    db = env.clickhouse_database
    assert {f"{db}.cases", f"{db}.case_events", f"{db}_analytics.cases"} <= set(tables)
    assert f"{db}.privacy_audit" in tables
    client = clickhouse(env)
    try:
        for table in tables:
            rows = client.execute(f"SELECT * FROM {table}")
            text = "\n".join(map(str, rows)).encode()
            for s in every_secret:
                assert s not in text, f"{s!r} in {table}"
            if table.startswith(f"{db}_analytics."):
                for b in bodies:
                    assert pseudonym(b["sender"]["id_number"]).encode() not in text, table
    finally:
        client.disconnect()


def test_only_the_operator_reidentifies_audited_and_an_erased_sender_stays_erased(
    env: Settings, procs: dict[str, Proc]
) -> None:
    erased = body_of(11, confidential=True)
    erased_again = body_of(11, confidential=False)  # the same sender, a second case
    kept = body_of(12, confidential=True)
    ids = run_pipeline(env, procs, [erased, erased_again, kept])
    c_erased, c_erased_again, c_kept = ids
    t = tokens(env)
    path = f"/v1/admin/cases/{c_erased}/reidentify"
    why = {"justification": "Yêu cầu của Cơ quan điều tra, văn bản số 123/CSĐT"}

    # --- who may re-identify -----------------------------------------------------------------
    for role in ("handling", "head", "oversight"):
        status, body = call(env, "POST", path, t[role], json=why)
        assert status == 403 and body["code"] == "role_not_allowed", body
    assert call(env, "POST", path, json=why)[0] == 401
    status, body = call(env, "POST", path, t["operator"], json={"justification": " "})
    assert status == 422 and body["fields"][0]["code"] == "justification_required"
    status, body = call(env, "POST", path, t["operator"], json=why)
    assert status == 200, body
    s = erased["sender"]
    assert body["sender"] | {} == {
        "kind": "person",
        "confidential": True,
        "full_name": s["full_name"],
        "id_number": s["id_number"],
        "phone": "+84" + s["phone"][1:],
        "email": s["email"],
        "tax_code": None,
    }
    audit_id = body["audit_id"]

    # --- the audit record: on its topic, then in a table the analysts cannot read -------------
    codec = get_codec()
    audits = [codec.decode(m.value())[1] for m in topic_messages(env, PRIVACY_AUDIT.name(env))]
    [rec] = [a for a in audits if str(a["audit_id"]) == audit_id]
    assert rec["action"] == "reidentify" and rec["actor_subject"] == "van-hanh-1"
    assert rec["case_id"] == c_erased and rec["justification"] == why["justification"]
    assert rec["outcome"] == "disclosed"
    db = env.clickhouse_database
    wait_for(
        lambda: (
            query(
                env,
                f"SELECT action, actor_subject, case_id, outcome FROM {db}.privacy_audit FINAL "
                f"WHERE audit_id = toUUID('{audit_id}')",
            )
            == [("reidentify", "van-hanh-1", c_erased, "disclosed")]
        ),
        30,
        "the audit record in the warehouse",
    )
    analytics = query(env, f"SELECT name FROM system.tables WHERE database = '{db}_analytics'")
    assert ("privacy_audit",) not in analytics
    # (the analysts' user cannot read the warehouse database: test_analyst_queries.py)

    # --- erasure: the sender's data keys are destroyed; figures stay --------------------------
    def figures() -> list[tuple]:
        return sorted(query(env, f"SELECT {TALLIES} FROM {db}.unit_month_tallies FINAL")) + sorted(
            query(
                env,
                f"SELECT sender_pseudonym, count() FROM {db}.cases FINAL GROUP BY sender_pseudonym",
            )
        )

    before = figures()
    assert before
    done = subprocess.run(
        [
            PAKN,
            "privacy",
            "erase",
            "--case-id",
            c_erased,
            "--reason",
            "Đơn đề nghị xoá dữ liệu ngày 01/12/2026, số 45",
            "--actor",
            "van-hanh-2",
        ],
        env=settings_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    pseudonym = load_privacy(env).pseudonym(s["id_number"])
    key_messages = topic_messages(env, SENDER_KEYS.name(env))
    made = {m.key().decode() for m in key_messages if m.value() is not None}
    tombstones = {m.key().decode() for m in key_messages if m.value() is None}
    assert tombstones == {k for k in made if k.startswith(pseudonym + "/")}
    assert len(tombstones) == 1  # both of the sender's cases share one data key
    assert json.loads(done.stdout)["keys_destroyed"] == len(tombstones)

    def answer(case_id: str) -> tuple[int, Any]:
        return call(env, "POST", f"/v1/admin/cases/{case_id}/reidentify", t["operator"], json=why)

    for case_id in (c_erased, c_erased_again):  # every case of the sender, confidential or not
        status, body = wait_for(lambda c=case_id: (r := answer(c))[0] == 410 and r, 15, "410")
        assert body["code"] == "identity_erased"
        assert body["message"]["vi"] and body["message"]["en"]
    status, view = call(env, "GET", f"/v1/agency/cases/{c_erased_again}", t["head"])
    assert status == 200 and view["sender"]["erased"] is True
    assert s["full_name"].encode() not in str(view).encode()
    status, body = answer(c_kept)  # other senders are not affected
    assert status == 200 and body["sender"]["id_number"] == kept["sender"]["id_number"]
    assert figures() == before
    audits = [codec.decode(m.value())[1] for m in topic_messages(env, PRIVACY_AUDIT.name(env))]
    erase_audits = [a for a in audits if a["action"] == "erase"]
    assert [(a["actor_subject"], a["pseudonym"], a["outcome"]) for a in erase_audits] == [
        ("van-hanh-2", pseudonym, "shredded")
    ]
    assert {a["outcome"] for a in audits if a["action"] == "reidentify"} == {
        "disclosed",
        "erased",
    }


def test_master_keys_rotate_without_losing_old_identities(
    env: Settings, procs: dict[str, Proc], tmp_path: Any
) -> None:
    before = body_of(21, confidential=True)
    [c_before] = run_pipeline(env, procs, [before])
    why = {"justification": "Kiểm tra xoay vòng khoá, phiếu số 7"}
    op = tokens(env)["operator"]
    # a new master key goes first; the old one stays listed
    old_keys = env.pii_keys
    new_key = "m2:" + base64.b64encode(b"n" * 32).decode()
    rotated = env.model_copy(update={"pii_keys": f"{new_key},{old_keys}"})
    procs["gateway"].stop()
    procs["gateway"] = Proc("gateway", rotated, tmp_path).start()
    wait_gateway(rotated, procs["gateway"])
    after = body_of(22, confidential=False)
    [posted] = post_all(rotated, [after])
    assert posted.status == 202
    c_after = posted.body["case_id"]
    codec = get_codec()
    masters = {
        codec.decode(m.value())[1]["pseudonym"]: codec.decode(m.value())[1]["master_key_id"]
        for m in topic_messages(env, SENDER_KEYS.name(env))
    }
    pseudonym = load_privacy(env).pseudonym
    assert masters[pseudonym(before["sender"]["id_number"])] == "test1"
    assert masters[pseudonym(after["sender"]["id_number"])] == "m2"
    db = env.clickhouse_database
    wait_for(
        lambda: (
            query(env, f"SELECT count() FROM {db}.cases FINAL")[0][0] == 2  # its state, not only
        ),  # its events: the two travel on two topics
        60,
        "the second case in the warehouse",
    )

    def reidentified(settings: Settings, case_id: str) -> str:
        status, body = call(settings, "POST", f"/v1/admin/cases/{case_id}/reidentify", op, json=why)
        assert status == 200, body
        return body["sender"]["id_number"]

    assert reidentified(rotated, c_before) == before["sender"]["id_number"]
    assert reidentified(rotated, c_after) == after["sender"]["id_number"]
    # rewrap every data key under the new master key, then retire the old one
    done = subprocess.run(
        [PAKN, "privacy", "rewrap"],
        env=settings_env(rotated),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"rewrapped": 1, "master_key_id": "m2"}
    retired = env.model_copy(update={"pii_keys": new_key})
    procs["gateway"].stop()
    procs["gateway"] = Proc("gateway", retired, tmp_path).start()
    wait_gateway(retired, procs["gateway"])
    assert reidentified(retired, c_before) == before["sender"]["id_number"]
    assert reidentified(retired, c_after) == after["sender"]["id_number"]
