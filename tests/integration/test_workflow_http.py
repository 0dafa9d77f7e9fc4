"""The life of a case over HTTP on real Kafka and ClickHouse: officers of units and the sender."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from gateway.http.auth import mint_token
from pakn.privacy import load_privacy
from pakn.rules import router_from_settings
from pakn.settings import Settings
from tests.factories import PDF, feedback, jpeg
from tests.harness import Proc, wait_for
from tests.pipeline import post_all, query, wait_gateway

pytestmark = pytest.mark.integration

UNIT, OTHER, DEPT = "00070", "00004", "01-SXD"  # Hoàn Kiếm, Ba Đình, Sở Xây dựng
PHOTO = jpeg(2)


class Client:
    """An HTTP caller with a role (and unit, or the sender's identity)."""

    def __init__(
        self, env: Settings, role: str, unit: str | None = None, id_number: str | None = None
    ) -> None:
        pseudonym = load_privacy(env).pseudonym(id_number) if id_number else None
        self.token = mint_token(
            env, role=role, unit=unit, subject=f"{role}-{unit}", pseudonym=pseudonym
        )
        self.base = f"http://127.0.0.1:{env.gateway_port}"

    def command(self, case_id: str, command: str, **fields: Any) -> tuple[int, dict]:
        async def go() -> tuple[int, dict]:
            async with (
                aiohttp.ClientSession() as s,
                s.post(
                    f"{self.base}/v1/cases/{case_id}/commands",
                    json={"command": command, **fields},
                    headers={"Authorization": f"Bearer {self.token}"},
                ) as r,
            ):
                return r.status, await r.json()

        return asyncio.run(go())

    def upload(self, data: bytes, ctype: str = "image/jpeg") -> dict:
        async def go() -> dict:
            form = aiohttp.FormData()
            form.add_field("media", data, filename="after.jpg", content_type=ctype)
            async with (
                aiohttp.ClientSession() as s,
                s.post(
                    f"{self.base}/v1/media",
                    data=form,
                    headers={"Authorization": f"Bearer {self.token}"},
                ) as r,
            ):
                assert r.status == 201, await r.text()
                return (await r.json())["media"][0]

        return asyncio.run(go())


@pytest.fixture
def pipeline(env: Settings, procs: dict[str, Proc]) -> Settings:
    for p in procs.values():
        p.start()
    wait_gateway(env, procs["gateway"])
    return env


def submit(env: Settings, i: int, **changes: Any) -> tuple[str, str]:
    body = feedback(i, unit_code=UNIT, **changes)
    [p] = post_all(env, [body])
    assert p.status == 202, p.body
    return p.body["case_id"], body["sender"]["id_number"]


def ok(result: tuple[int, dict], status: str) -> dict:
    code, body = result
    assert code == 200 and body["accepted"] and body["status"] == status, body
    return body


def refused(result: tuple[int, dict], http: int, code: str) -> None:
    status, body = result
    assert status == http and body["code"] == code, body


def until_open(officer: Client, case_id: str) -> dict:
    """The first command may race the case's registration: retry while it is unknown."""
    out: dict = {}

    def received() -> bool:
        status, body = officer.command(case_id, "receive", level="normal")
        out.update(body.get("refusal", body))  # a 409 problem carries the case's status there
        # 202: no answer in time (a loaded worker) — the command may still turn out to be for an
        # unknown case, so ask again (a second receive of a received case is a clean 409)
        return status not in (404, 202)

    wait_for(received, 30, "the case to be registered", every=0.2)
    return out


def test_field_feedback_from_submission_to_a_rated_result(pipeline: Settings) -> None:
    env = pipeline
    case_id, id_number = submit(env, 1)
    receiving = Client(env, "receiving_officer", UNIT)
    handling = Client(env, "handling_officer", UNIT)
    head = Client(env, "head", UNIT)
    sender = Client(env, "sender", id_number=id_number)

    assert until_open(receiving, case_id)["status"] == "received"
    ok(receiving.command(case_id, "assign", assignee="officer-17"), "assigned")
    refused(
        handling.command(case_id, "propose_result", result_text="Đã xử lý."),
        422,
        "evidence_required",
    )
    photo = handling.upload(PHOTO)
    ok(
        handling.command(
            case_id,
            "propose_result",
            result_text="Đã vá ổ gà.",
            evidence=[{"sha256": photo["sha256"], "content_type": "image/jpeg"}],
        ),
        "result_proposed",
    )
    refused(handling.command(case_id, "approve_result"), 403, "role_not_allowed")
    ok(head.command(case_id, "approve_result"), "published")
    refused(
        Client(env, "sender", id_number="001203099999").command(
            case_id, "rate", rating="satisfied"
        ),
        403,
        "not_your_case",
    )
    ok(sender.command(case_id, "rate", rating="satisfied"), "closed")

    db = env.clickhouse_database
    wait_for(
        lambda: (
            query(env, f"SELECT status FROM {db}.cases FINAL WHERE case_id = toUUID('{case_id}')")
            == [("closed",)]
        ),
        30,
        "the closed case in ClickHouse",
    )

    def kinds() -> list[str]:
        sql = f"SELECT event_type FROM {db}.case_events FINAL WHERE case_id = toUUID('{case_id}')"
        return [r[0] for r in query(env, sql)]

    # the events topic is flushed on its own: its rows may land a batch after the state's
    wait_for(lambda: kinds().count("case_transition") == 5, 30, "the five transitions")
    assert kinds().count("stage_completed") == 3


def test_an_officer_of_another_unit_and_a_wrong_transition_are_refused(pipeline: Settings) -> None:
    env = pipeline
    case_id, _ = submit(env, 2)
    stranger = Client(env, "receiving_officer", OTHER)
    wait_for(lambda: stranger.command(case_id, "receive")[0] != 404, 30, "the case")
    refused(stranger.command(case_id, "receive"), 403, "not_your_unit")
    refused(Client(env, "head", UNIT).command(case_id, "approve_result"), 409, "invalid_transition")
    status, body = Client(env, "receiving_officer", UNIT).command(case_id, "receive")
    assert status == 200 and body["status"] == "received"


def test_transfer_to_the_competent_department_and_forward_back_to_the_commune(
    pipeline: Settings,
) -> None:
    env = pipeline
    case_id, _ = submit(env, 3)
    commune = Client(env, "receiving_officer", UNIT)
    until_open(commune, case_id)
    refused(
        commune.command(case_id, "forward", target_unit=OTHER), 422, "forward_kind_not_allowed"
    )  # since 2025 a commune has no lower unit
    refused(
        commune.command(case_id, "propose_transfer", target_unit="01-SYT"),
        422,
        "transfer_target_not_competent",
    )  # roads are the Department of Construction's
    ok(commune.command(case_id, "propose_transfer", target_unit=DEPT), "transfer_proposed")
    refused(
        Client(env, "head", UNIT).command(case_id, "approve_transfer"), 403, "not_your_unit"
    )  # the receiving department decides
    ok(Client(env, "head", DEPT).command(case_id, "approve_transfer"), "transferred")
    department = Client(env, "receiving_officer", DEPT)
    ok(department.command(case_id, "forward", target_unit=UNIT), "forwarded")
    ok(commune.command(case_id, "assign", assignee="tổ dân phố 5"), "assigned")


def test_a_repeat_after_not_satisfied(pipeline: Settings) -> None:
    env = pipeline
    case_id, id_number = submit(env, 4)
    head = Client(env, "head", UNIT)
    sender = Client(env, "sender", id_number=id_number)
    until_open(head, case_id)
    ok(head.command(case_id, "assign", assignee="officer-9"), "assigned")
    photo = head.upload(PHOTO)
    ok(
        head.command(
            case_id,
            "propose_result",
            result_text="Đã dọn.",
            evidence=[{"sha256": photo["sha256"], "content_type": "image/jpeg"}],
        ),
        "result_proposed",
    )
    ok(head.command(case_id, "approve_result"), "published")
    ok(sender.command(case_id, "rate", rating="not_satisfied"), "rated_unsatisfied")
    ok(sender.command(case_id, "reopen"), "received")
    db = env.clickhouse_database
    wait_for(
        lambda: (
            query(
                env,
                f"SELECT repeat_count FROM {db}.cases FINAL WHERE case_id = toUUID('{case_id}')",
            )
            == [(1,)]
        ),
        30,
        "the repeat counted in ClickHouse",
    )


@pytest.mark.parametrize(
    "process", ["administrative_procedure", "waste_report", "investor_business", "initiative"]
)
def test_every_process_reaches_a_published_result(pipeline: Settings, process: str) -> None:
    env = pipeline
    extra: dict[str, Any] = {"process": process}
    if process == "investor_business":
        extra["sender"] = {
            **feedback(5)["sender"],
            "kind": "organisation",
            "tax_code": "0101234565",
        }
    case_id, _ = submit(env, 5, **extra)
    router = router_from_settings(Settings())
    unit = router.route(process, "road_damage", commune_code=UNIT, unit_code=UNIT).code
    head = Client(env, "head", unit)
    until_open(head, case_id)  # step 1: the head checks and receives
    ok(head.command(case_id, "assign", assignee="phòng chuyên môn"), "assigned")  # step 2
    # steps 3-4: the handling person records the proposal (waste reports: theirs alone, §4.2)
    handling = Client(env, "handling_officer", unit)
    photo = handling.upload(PDF, "application/pdf")
    ok(
        handling.command(
            case_id,
            "propose_result",
            result_text="Trả lời bằng văn bản.",  # 3, 4
            evidence=[{"sha256": photo["sha256"], "content_type": "application/pdf"}],
        ),
        "result_proposed",
    )
    ok(head.command(case_id, "approve_result"), "published")  # step 5: approve and notify
