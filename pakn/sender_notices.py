"""`pakn sender-notices`: tell each sender about each change of their case, exactly once.

Reads case.events (read_committed) and, in Kafka transactions that also commit the consumer
offsets (the pattern of streams/notifier.py), writes

* one ``SenderNotice`` per change to ``sender.notices`` (key: the sender's pseudonym; partition:
  the case's partition) — the app's push service consumes it;
* the case's small memory (``SenderNoticeCase``: pseudonym, where the submission is, the notices
  already sent) to the compacted ``sender.notices.cases``, same partition.

The decision is pure (processors/sender_notices.py); the memory of a partition is rebuilt from
``sender.notices.cases`` when the partition is assigned: the output is the state.

E-mail, when ``PAKN_SMTP_HOST`` is set: to the address the sender gave, opened from the sealed
identity of the case's CaseSubmitted (a point read on case.events, as gateway/sealing.py does)
with the sender's data key; an erased sender (keys destroyed: ``Erased``) gets none. The mail
goes out before the transaction commits (a failure aborts the batch, which is read again), so a
crash between the two can send one twice — at least once, with ``Message-ID`` = the notice id
for the receiving side to drop the copy.
"""

from __future__ import annotations

import logging
import smtplib
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from pakn.loops import commit_batch, run_until_stopped
from pakn.settings import Settings
from pakn.topics import CASE_EVENTS, SENDER_NOTICE_CASES, SENDER_NOTICES, watermarks
from processors.calendar import TZ
from processors.sender_notices import CaseMemory, decide, email_text
from schemas.codec import DecodeError, get_codec

log = logging.getLogger("sender-notices")
_EVENTS = frozenset({"CaseSubmitted", "CaseTransition", "DeadlineSet"})


class Mailer:
    """Opens the sender's address and sends one e-mail per notice; erased senders get none."""

    def __init__(self, settings: Settings) -> None:
        from gateway.stores.sealing import SealedReader
        from pakn.privacy import load_privacy
        from pakn.sender_keys import SenderKeyStore

        self.settings = settings
        self.privacy = load_privacy(settings)
        self.keys = SenderKeyStore(settings).start()
        self.reader = SealedReader(settings.kafka_bootstrap)
        self.events = CASE_EVENTS.name(settings)
        self.sent = 0
        self.skipped_erased = 0

    def address(self, memory: CaseMemory) -> str | None:
        from pakn.privacy import Erased

        value = self.reader.read(self.events, memory.submission_partition, memory.submission_offset)
        if value is None:
            raise RuntimeError(f"submission of {memory.case_id} not readable")  # retry the batch
        name, record = get_codec().decode(value)
        if name != "CaseSubmitted" or str(record["envelope"]["case_id"]) != memory.case_id:
            return None
        pii = record["sender"]["pii"]
        if self.keys.get(pii["key_id"]) is None and not self.keys.caught_up(10.0):
            raise RuntimeError("sender keys not read to their end")  # never guess "erased"
        try:
            fields = self.privacy.unseal(pii, memory.case_id, self.keys.get)
        except Erased:
            self.skipped_erased += 1
            return None
        return fields.get("email") or None

    def send(self, memory: CaseMemory, notice: dict[str, Any]) -> None:
        to = self.address(memory)
        if to is None:
            return
        due = notice.get("due_at")
        due_text = None
        if due is not None:
            due_dt = due if isinstance(due, datetime) else datetime.fromtimestamp(due / 1000, UTC)
            due_text = due_dt.astimezone(TZ).strftime("%H:%M %d/%m/%Y")
        subject, body = email_text(
            notice, f"{self.settings.public_url}/v1/cases/{notice['case_id']}", due_text
        )
        msg = EmailMessage()
        msg["From"] = self.settings.notice_mail_from
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = f"<{notice['notice_id']}@pakn>"
        msg.set_content(body)
        with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(msg)
        self.sent += 1

    def close(self) -> None:
        self.keys.close()
        self.reader.close()


class SenderNotices:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.source = CASE_EVENTS.name(settings)
        self.target = SENDER_NOTICES.name(settings)
        self.cases = SENDER_NOTICE_CASES.name(settings)
        self.group = f"{settings.worker_app_id}-sender-notices"
        self.memory: dict[int, dict[str, CaseMemory]] = {}
        self.running = True
        self.codec = get_codec()
        self.mailer = Mailer(settings) if settings.smtp_host else None
        self.consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "group.id": self.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "session.timeout.ms": int(settings.worker_session_timeout_s * 1000),
                "heartbeat.interval.ms": int(settings.worker_session_timeout_s * 1000 / 3),
            }
        )
        self.producer = Producer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "transactional.id": self.group,  # fences a previous instance on start
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
            }
        )

    def _rebuild(self, partition: int) -> int:
        """The memory of partition ``partition`` from sender.notices.cases (committed only)."""
        mem: dict[str, CaseMemory] = {}
        self.memory[partition] = mem
        reader = Consumer(
            {
                "bootstrap.servers": self.settings.kafka_bootstrap,
                "group.id": f"{self.group}-rebuild",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            }
        )
        try:
            lo, hi = watermarks(reader, self.cases, partition)
            if hi <= lo:
                return 0
            reader.assign([TopicPartition(self.cases, partition, OFFSET_BEGINNING)])
            while True:
                for m in reader.consume(5000, timeout=1.0):
                    if m.error():
                        if m.error().code() == KafkaError._PARTITION_EOF:
                            return len(mem)
                        continue
                    if m.value() is None:
                        mem.pop(m.key().decode(), None)
                        continue
                    _, record = self.codec.decode(m.value())
                    mem[record["case_id"]] = CaseMemory.from_record(record)
        finally:
            reader.close()

    def _on_assign(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        started = time.monotonic()
        counts = {p.partition: self._rebuild(p.partition) for p in parts}
        log.info(
            "partitions assigned, memory rebuilt",
            extra={"cases": counts, "seconds": round(time.monotonic() - started, 3)},
        )

    def _on_revoke(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        for p in parts:
            self.memory.pop(p.partition, None)

    def handle(self, m: Any) -> tuple[CaseMemory, dict[str, Any]] | None:
        """Apply one case event: produce the memory change and the notice (in the open
        transaction); return what to e-mail."""
        if self.codec.type_of(m.value()) not in _EVENTS:
            return None  # alerts, completions, flags: nothing the sender is told about
        try:
            name, record = self.codec.decode(m.value())
        except DecodeError as exc:  # the worker dead-letters what it cannot read
            log.warning("undecodable event", extra={"offset": m.offset(), "reason": exc.reason})
            return None
        case_id = str(record["envelope"]["case_id"])
        mem = self.memory.setdefault(m.partition(), {})
        before = mem.get(case_id)
        after, notice = decide(before, name, record, position=(m.partition(), m.offset()))
        if after is not None and after != before:
            mem[case_id] = after
            self.producer.produce(
                self.cases,
                key=case_id.encode(),
                value=self.codec.encode("SenderNoticeCase", after.as_record()),
                partition=m.partition(),
            )
        if notice is None or after is None:
            return None
        self.producer.produce(
            self.target,
            key=after.pseudonym.encode(),
            value=self.codec.encode("SenderNotice", notice),
            partition=m.partition(),
        )
        return after, notice

    def run(self) -> None:
        self.producer.init_transactions(30)
        self.consumer.subscribe([self.source], on_assign=self._on_assign, on_revoke=self._on_revoke)
        try:
            while self.running:
                msgs = [m for m in self.consumer.consume(self.settings.notifier_batch, 0.5)]
                msgs = [m for m in msgs if not m.error() and m.value() is not None]
                if not msgs:
                    continue
                self.producer.begin_transaction()
                mails = [x for x in (self.handle(m) for m in msgs) if x is not None]
                if self.mailer is not None:
                    for memory, notice in mails:
                        self.mailer.send(memory, notice)  # raises: the batch is read again
                # a restart rebuilds its memory from what was committed
                commit_batch(self.producer, self.consumer)
                log.debug("batch committed", extra={"events": len(msgs), "notices": len(mails)})
        finally:
            self.consumer.close()
            if self.mailer is not None:
                self.mailer.close()


def run_sender_notices(settings: Settings) -> None:
    run_until_stopped(settings, "sender-notices", SenderNotices)
