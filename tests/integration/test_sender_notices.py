"""The sender is told about each change of their case, once: push topic and e-mail (issue 14).

Real Kafka, the real gateway and worker, `pakn sender-notices` killed and restarted mid-way, and a
real SMTP server (aiosmtpd) receiving the e-mails. An erased sender gets no e-mail; no notice
carries personal data.
"""

from __future__ import annotations

import subprocess
import threading
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from pakn.settings import Settings
from pakn.topics import SENDER_NOTICES
from tests.harness import PAKN, Proc, free_port, settings_env, wait_for
from tests.integration.test_warnings import _caught_up, _read_committed
from tests.integration.test_workflow_http import PHOTO, Client, ok, submit, until_open
from tests.pipeline import wait_gateway

pytestmark = pytest.mark.integration
UNIT = "00070"


class Inbox:
    """aiosmtpd handler: every message received, as parsed e-mails."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Any:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def test_each_change_reaches_the_sender_once_by_push_and_e_mail_and_an_erased_sender_gets_none(
    env: Settings, tmp_path: Any, smtp: Any
) -> None:
    controller, inbox = smtp
    env = env.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": controller.port})
    procs = {n: Proc(n, env, tmp_path) for n in ("gateway", "worker", "sender-notices")}
    try:
        for p in procs.values():
            p.start()
        wait_gateway(env, procs["gateway"])
        kept_id, kept_identity = submit(env, 41)
        erased_id, erased_identity = submit(env, 42)
        kept_mail, erased_mail = "sender41@example.vn", "sender42@example.vn"
        receiving = Client(env, "receiving_officer", UNIT)
        handling = Client(env, "handling_officer", UNIT)
        head = Client(env, "head", UNIT)
        sender = Client(env, "sender", id_number=kept_identity)

        # the erased sender's keys are destroyed before the unit receives the case
        out = subprocess.run(
            [PAKN, "privacy", "erase", "--identity", erased_identity, "--reason", "test erasure"],
            env=settings_env(env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        until_open(receiving, kept_id)
        until_open(receiving, erased_id)
        wait_for(lambda: len(inbox.to(kept_mail)) == 1, 60, "the receipt e-mail")

        procs["sender-notices"].kill()  # a crash mid-stream: nothing doubled, nothing lost
        ok(handling.command(kept_id, "request_info", reason="cần ảnh rõ hơn"), "awaiting_info")
        ok(sender.command(kept_id, "provide_info", reason="đã gửi ảnh"), "received")
        procs["sender-notices"].start()
        ok(receiving.command(kept_id, "assign", assignee="officer-17"), "assigned")
        photo = handling.upload(PHOTO)
        evidence = [{"sha256": photo["sha256"], "content_type": "image/jpeg"}]
        ok(handling.command(kept_id, "propose_result", result_text="Đã vá.", evidence=evidence),
           "result_proposed")  # fmt: skip
        ok(head.command(kept_id, "approve_result"), "published")
        ok(sender.command(kept_id, "rate", rating="not_satisfied"), "rated_unsatisfied")
        ok(sender.command(kept_id, "reopen"), "received")

        group = f"{env.worker_app_id}-sender-notices"
        wait_for(lambda: len(inbox.to(kept_mail)) >= 4, 90, "four e-mails")
        wait_for(lambda: _caught_up(env, group, f"{env.topic_prefix}case.events"), 60, "caught up")
    finally:
        for p in procs.values():
            p.stop()

    notices = _read_committed(env, SENDER_NOTICES.name(env))
    by_case: dict[str, list[str]] = {}
    for n in notices:
        by_case.setdefault(str(n["case_id"]), []).append(n["kind"])
    assert by_case[kept_id] == [
        "received",
        "information_requested",
        "result_published",
        "reopened",
    ]
    assert by_case[erased_id] == ["received"]  # the push topic still tells (no personal data)
    assert len({n["notice_id"] for n in notices}) == len(notices)
    published = next(n for n in notices if n["kind"] == "result_published")
    assert published["rating_requested"]
    received = next(n for n in notices if n["kind"] == "received" and str(n["case_id"]) == kept_id)
    assert received["due_at"] is not None

    mails = inbox.to(kept_mail)
    assert len({m["Message-ID"] for m in mails}) == 4  # one per change (a crash may resend one)
    assert "đánh giá" in mails[[m["Message-ID"] for m in mails].index(
        f"<{published['notice_id']}@pakn>")]["Subject"]  # fmt: skip
    assert inbox.to(erased_mail) == []

    raw = b"".join(bytes(str(n), "utf-8") for n in notices)
    for secret in (kept_identity, erased_identity, kept_mail, erased_mail, "Nguyễn"):
        assert secret.encode() not in raw
